"""``asyncmachine graph``: join a network as an observer (or load a snapshot), print a
summary of peers, machines and active states, and write exports. The summary and the JSON
export (``graph.connectivity``) give the peer graph's node connectivity and its cut peers.

    asyncmachine graph --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3... \\
        --timeout 10 --json net.json --png net.png
    asyncmachine graph --load net.json --mermaid net.mmd
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import trio
from rich.console import Console

from asyncmachine.graph import (
    PEER,
    RenderError,
    SnapshotError,
    machines,
    read_json,
    render_machine,
    render_network,
    write_dot,
    write_graphml,
    write_json,
    write_mermaid,
)
from asyncmachine.node import DEFAULT_TOPIC

from ._graph_summary import network_connectivity, print_summary, with_connectivity
from ._paths import unwritable_file

PROG = "asyncmachine graph"
log = logging.getLogger(__name__)


class GraphCliError(Exception):
    """A runtime failure reported as one line on stderr (exit 1)."""


class GraphInputError(GraphCliError):
    """Bad input reported as one line on stderr (exit 2, as argparse errors): an
    unreadable or corrupt ``--load``, an unwritable export path, an unknown
    ``--machine``, a bootstrap peer nobody can reach or a topic nobody serves."""


# --- argument types ----------------------------------------------------------


def _positive_seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text!r}")
    return v


def _peer_multiaddr(text: str) -> str:
    from asyncmachine.pubsub.libp2p import parse_peer_addr

    try:
        parse_peer_addr(text, "bootstrap")
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _listen_multiaddr(text: str) -> str:
    from asyncmachine.pubsub.libp2p import parse_listen_addrs

    try:
        parse_listen_addrs([text])
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "graph",
        help="inspect a running network (or a saved snapshot) as a graph",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_argument_group("source (one of --bootstrap or --load)")
    src.add_argument(
        "--bootstrap",
        metavar="MULTIADDR",
        action="append",
        type=_peer_multiaddr,
        help="a peer of the network to join, /ip4/…/tcp/N/p2p/<id> (repeatable)",
    )
    src.add_argument(
        "--topic",
        metavar="NAME",
        default=DEFAULT_TOPIC,
        help=f"the pubsub topic to observe (default: {DEFAULT_TOPIC}, as for node)",
    )
    src.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_seconds,
        default=10.0,
        help="give up joining / stop waiting for discovery after this (default 10)",
    )
    src.add_argument(
        "--settle",
        metavar="SECONDS",
        type=_positive_seconds,
        default=1.0,
        help="discovery has settled after this long without changes (default 1)",
    )
    src.add_argument(
        "--listen",
        metavar="MULTIADDR",
        type=_listen_multiaddr,
        default="/ip4/127.0.0.1/tcp/0",
        help="the observer's listen address",
    )
    src.add_argument("--load", metavar="PATH", help="read a saved JSON snapshot instead")
    out = p.add_argument_group("exports")
    out.add_argument("--json", metavar="PATH", help="node-link JSON snapshot (see --load)")
    out.add_argument("--graphml", metavar="PATH", help="GraphML")
    out.add_argument("--dot", metavar="PATH", help="Graphviz DOT")
    out.add_argument("--mermaid", metavar="PATH", help="Mermaid flowchart")
    out.add_argument("--png", metavar="PATH", help="picture of peers and machines (PNG/SVG)")
    out.add_argument("--machine", metavar="ID", help="machine for --machine-png")
    out.add_argument(
        "--machine-png",
        metavar="PATH",
        help="picture of one machine's states (default: the first machine)",
    )
    p.set_defaults(run=run)


# --- joining -------------------------------------------------------------------


def _discovered(g: nx.MultiDiGraph) -> bool:
    return any(
        d.get("kind") == PEER and d.get("discovered") and not d.get("local")
        for _, d in g.nodes(data=True)
    )


async def observe(
    topic_name: str, bootstrap: list[str], *, timeout: float, settle: float, listen: str
) -> tuple[nx.MultiDiGraph, bool]:
    """Join ``topic_name`` through ``bootstrap``, follow it until discovery settles
    (or ``timeout``); returns a copy of the graph and whether it settled."""
    from asyncmachine.graph import watch_topic
    from asyncmachine.pubsub import TopicSettings, open_topic
    from asyncmachine.pubsub.libp2p import BootstrapError

    settings = TopicSettings(
        heartbeat=1.0,
        hello_wait=min(2.0, timeout / 2),
        hello_retry=1.0,
        request_delay=0.05,
        request_interval=0.5,
    )
    graph: nx.MultiDiGraph | None = None
    settled = False
    phase = "connecting"
    deadline = trio.current_time() + timeout
    try:
        with trio.move_on_at(deadline):
            async with (
                open_topic(
                    topic_name,
                    listen=[listen],
                    bootstrap=bootstrap,
                    settings=settings,
                    dial_timeout=timeout,  # "timed out after N s" names --timeout
                    shutdown_grace=0.05,
                    shutdown_timeout=1.0,
                ) as topic,
                watch_topic(topic, refresh=0.25) as live,
            ):
                phase = "discovering"
                graph = live.graph
                await live.wait_until(_discovered)
                reg = getattr(topic, "registry", None)
                while True:
                    await live.settle(settle)
                    if reg is None or not reg.missing_info:
                        break
                settled = True
                graph = live.graph.copy()
    except BootstrapError as e:
        raise GraphInputError(f"cannot reach the bootstrap peer(s): {_one_line(e)}") from None
    except (OSError, ConnectionError) as e:
        raise GraphCliError(f"network error while {phase}: {_one_line(e)}") from None
    if graph is None:
        raise GraphInputError(f"cannot reach the bootstrap peer(s) within {timeout:g} s")
    if not _discovered(graph):
        raise GraphInputError(
            f"no peers found on topic {topic_name!r} within {timeout:g} s (wrong topic?)"
        )
    return graph.copy(), settled


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _first_machine(g: nx.MultiDiGraph, wanted: str | None) -> str:
    if wanted:
        return wanted
    ms = machines(g)
    if not ms:
        raise GraphInputError("--machine-png: the graph has no machines")
    return ms[0]


def _outputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The (flag, path) of every export asked for."""
    flags = ("json", "graphml", "dot", "mermaid", "png", "machine-png")
    paths = ((f, getattr(args, f.replace("-", "_"))) for f in flags)
    return [(f, p) for f, p in paths if p]


def check_outputs(args: argparse.Namespace) -> None:
    """Every export path must be writable before the network is joined or anything printed."""
    for flag, path in _outputs(args):
        reason = unwritable_file(Path(path))
        if reason is not None:
            raise GraphInputError(f"--{flag}: {reason}")


def load_snapshot(path: str) -> nx.MultiDiGraph:
    """``--load``: a saved snapshot, or GraphInputError naming the file and the problem."""
    try:
        return read_json(path)
    except OSError as e:
        raise GraphInputError(f"--load {path}: {e.strerror or e}") from None
    except SnapshotError as e:
        raise GraphInputError(f"--load {path}: {e}") from None


def check_machine(g: nx.MultiDiGraph, args: argparse.Namespace) -> None:
    """``--machine`` must name a machine of ``g`` (checked before anything is printed)."""
    if args.machine and not any(
        g.nodes[m].get("id") == args.machine or m == args.machine for m in machines(g)
    ):
        raise GraphInputError(f"--machine: no machine {args.machine!r} in the graph")
    if args.machine_png:
        _first_machine(g, args.machine)


def write_exports(g: nx.MultiDiGraph, args: argparse.Namespace, console: Console) -> None:
    """Write every export asked for; OSError/RenderError become GraphCliError."""
    writers: dict[str, Callable[[str], None]] = {
        "json": lambda p: write_json(with_connectivity(g), p),
        "graphml": lambda p: write_graphml(g, p),
        "dot": lambda p: write_dot(g, p),
        "mermaid": lambda p: write_mermaid(g, p),
        "png": lambda p: render_network(g, p),
        "machine-png": lambda p: render_machine(g, _first_machine(g, args.machine), p),
    }
    for name, path in _outputs(args):
        try:
            writers[name](path)
        except OSError as e:
            raise GraphCliError(f"--{name} {path}: {e.strerror or e}") from None
        except (RenderError, KeyError) as e:
            msg = e.args[0] if e.args else str(e)
            raise GraphCliError(f"--{name} {path}: {msg}") from None
        console.print(f"wrote {name}: {path}")


def _usage_error(msg: str) -> int:
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """The sub-command; 0 ok, 1 runtime failure, 2 bad usage or input.

    Inputs and output paths are checked before the network is joined, and the graph
    (``--machine``) before anything is printed: bad input is one line and exit 2."""
    if args.load and args.bootstrap:
        return _usage_error("--load and --bootstrap exclude each other")
    if not args.load and not args.bootstrap:
        return _usage_error("one of --bootstrap or --load is required")
    console = Console(width=None if sys.stdout.isatty() else 160, soft_wrap=False)
    try:
        check_outputs(args)
        if args.load:
            g = load_snapshot(args.load)
            note = f"snapshot {os.path.basename(args.load)}"
        else:
            g, settled = trio.run(
                lambda: observe(
                    args.topic,
                    args.bootstrap,
                    timeout=args.timeout,
                    settle=args.settle,
                    listen=args.listen,
                )
            )
            note = "settled" if settled else f"not settled after {args.timeout:g} s"
        check_machine(g, args)
        print_summary(g, console, note=note)
        write_exports(g, args, console)
    except GraphInputError as e:
        return _usage_error(str(e))
    except GraphCliError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a failure nobody anticipated: still one line, details in the log
        log.debug("graph command failed", exc_info=True)
        print(
            f"{PROG}: error: {type(e).__name__}: {_one_line(e)} (--log-level debug for details)",
            file=sys.stderr,
        )
        return 1
    return 0


__all__ = [
    "GraphCliError",
    "GraphInputError",
    "add_parser",
    "check_machine",
    "check_outputs",
    "load_snapshot",
    "network_connectivity",
    "observe",
    "print_summary",
    "run",
    "with_connectivity",
    "write_exports",
]
