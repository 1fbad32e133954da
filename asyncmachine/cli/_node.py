"""``asyncmachine node``: run one p2p peer that exposes machines and mirrors the others'.

Prints ``peer <id> listening on <multiaddr>`` per address; start more peers with
``--bootstrap <that multiaddr>``. Ctrl-C / SIGTERM says bye and exits 0.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from asyncmachine.node import (
    DATA_ENV,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DEMO_INTERVAL,
    DEFAULT_LISTEN,
    DEFAULT_STATUS_INTERVAL,
    DEFAULT_TOPIC,
    NodeConfig,
)
from asyncmachine.telemetry import add_arguments, options_from_args

EPILOG = """\
examples:
  asyncmachine node
  asyncmachine node --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW... --console
  asyncmachine node --listen /ip4/0.0.0.0/tcp/4001 --listen /ip4/0.0.0.0/udp/4001/quic-v1 \\
      --name worker1 --expose examples/worker.json --expose mymod:machines

exit codes: 0 stopped by a signal or 'quit', 2 bad input or no bootstrap peer reachable,
1 unexpected error."""


def _watermarks(s: str) -> tuple[int, int]:
    low, sep, high = s.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(low), int(high)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW:HIGH (two integers), got {s!r}") from None


def config_from_args(args: argparse.Namespace) -> NodeConfig:
    """The NodeConfig for parsed ``asyncmachine node`` arguments (not validated yet)."""
    return NodeConfig(
        listen=tuple(args.listen or DEFAULT_LISTEN),
        bootstrap=tuple(args.bootstrap or ()),
        topic=args.topic,
        key_path=Path(args.key).expanduser() if args.key else None,
        expose=tuple(args.expose or ()),
        demo=not args.no_demo,
        demo_interval=args.demo_interval,
        status_interval=args.status_interval,
        connect_timeout=args.connect_timeout,
        console=args.console,
        data_dir=Path(args.data_dir).expanduser() if args.data_dir else None,
        connections=args.connections,
        mdns=args.mdns,
        telemetry=options_from_args(args),
        allow=tuple(args.allow or ()),
        workers=tuple(args.workers or ()),
        pool=args.pool,
        name=args.name,
    )


def _run(args: argparse.Namespace) -> int:
    if args.node_log_level:
        logging.getLogger().setLevel(getattr(logging, args.node_log_level.upper()))
    from asyncmachine.node import run

    return run(config_from_args(args))


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "node",
        help="run a p2p node exposing machines to a topic",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--listen",
        action="append",
        metavar="MULTIADDR",
        help="TCP /ip4/IP/tcp/PORT or QUIC /ip4/IP/udp/PORT/quic-v1; repeatable "
        f"(default: {DEFAULT_LISTEN[0]}, a free port)",
    )
    p.add_argument(
        "--bootstrap",
        action="append",
        metavar="MULTIADDR",
        help="a peer's full multiaddr (.../p2p/ID) to join through; repeatable",
    )
    p.add_argument(
        "--topic",
        default=DEFAULT_TOPIC,
        metavar="NAME",
        help=f"gossip topic (default: {DEFAULT_TOPIC})",
    )
    p.add_argument(
        "--name",
        metavar="NAME",
        help="a persistent identity kept in the data directory as NAME.key, created "
        f"(mode 0600) on the first run and reused, so the peer id stays the same (data "
        f"directory: ${DATA_ENV}, else $XDG_DATA_HOME/asyncmachine or "
        "~/.local/share/asyncmachine)",
    )
    p.add_argument(
        "--key",
        metavar="PATH",
        help="an explicit identity key file instead of --name (default without either: "
        "a new identity each run)",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where the node keeps the peers it has seen (to rejoin without its bootstrap "
        "peers), its session epoch and --name keys; needs --name or --key (default: the "
        "key file's directory)",
    )
    p.add_argument(
        "--expose",
        action="append",
        metavar="FILE|module:factory",
        help="machines to expose: a .json/.toml schema file or a Python factory "
        "returning machines; repeatable",
    )
    p.add_argument("--no-demo", action="store_true", help="do not expose the demo machine")
    p.add_argument(
        "--demo-interval",
        type=float,
        default=DEFAULT_DEMO_INTERVAL,
        metavar="S",
        help=f"seconds between demo machine changes, 0: never (default: {DEFAULT_DEMO_INTERVAL:g})",
    )
    p.add_argument(
        "--console",
        action="store_true",
        help="read commands from stdin (add/remove/set/list/inspect/help/quit)",
    )
    p.add_argument(
        "--allow",
        action="append",
        metavar="PEER:STATES",
        help="let PEER (a peer id, or '*' for any) mutate these comma-separated states "
        "of the exposed machines over rpc; repeatable (default: nobody)",
    )
    p.add_argument(
        "--workers",
        action="append",
        metavar="KIND=module:factory",
        help="run a supervised pool of worker processes of KIND; repeatable",
    )
    p.add_argument(
        "--pool", type=int, default=2, metavar="N", help="worker processes per kind (default: 2)"
    )
    p.add_argument(
        "--status-interval",
        type=float,
        default=DEFAULT_STATUS_INTERVAL,
        metavar="S",
        help="seconds between status summary lines, 0: never "
        f"(default: {DEFAULT_STATUS_INTERVAL:g})",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=DEFAULT_CONNECT_TIMEOUT,
        metavar="S",
        help="give up on a bootstrap peer's first dial after S seconds "
        f"(default: {DEFAULT_CONNECT_TIMEOUT:g})",
    )
    p.add_argument(
        "--connections",
        type=_watermarks,
        default=None,
        metavar="LOW:HIGH",
        help="keep between LOW and HIGH topic connections, dialling peers learned through "
        "the topic, gossipsub peer exchange and the DHT (default: 4:12)",
    )
    p.add_argument(
        "--mdns",
        action="store_true",
        help="also find peers on the local network by multicast DNS (UDP 5353)",
    )
    p.add_argument(
        "--log-level",
        dest="node_log_level",
        default=None,
        choices=["debug", "info", "warning", "error"],
        help="logging level (default: the global --log-level, warning)",
    )
    add_arguments(p)
    p.set_defaults(run=_run)
