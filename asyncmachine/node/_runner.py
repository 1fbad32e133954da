"""Run a node the way ``asyncmachine node`` does: validate, start, show status, stop on
SIGINT/SIGTERM (or the console's ``quit``) with exit code 0.

Exit codes: 0 clean stop, 2 bad input (options, files, entry points, key file) or no
reachable bootstrap peer, 1 an unexpected error. Errors are one line on stderr.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import trio
from rich.console import Console

from asyncmachine.machine import Machine
from asyncmachine.pubsub import ConnectSettings
from asyncmachine.telemetry import Telemetry, TelemetryError

from ._config import ConfigError, NodeConfig, check_listen_free, check_not_self, load_identity
from ._console import PROMPT, NodeConsole
from ._demo import demo_machine, drive_demo
from ._loader import check_unique, file_allow, load_exposed
from ._node import Node
from ._state import NodeState
from ._status import LiveStatus, PlainStatus

if TYPE_CHECKING:
    from libp2p.crypto.keys import KeyPair

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2


def write_line(text: str) -> None:
    """One line to stdout, flushed at once (other processes parse it)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def error_line(text: str) -> None:
    """One ``asyncmachine node: error: ...`` line on stderr."""
    sys.stderr.write(f"asyncmachine node: error: {' '.join(text.split())}\n")
    sys.stderr.flush()


@dataclass(slots=True)
class Prepared:
    """A validated config with its identity and machines, ready to start."""

    config: NodeConfig
    key_pair: KeyPair
    peer_id: str
    machines: list[Machine] = field(default_factory=list)
    demo: Machine | None = None
    telemetry: Telemetry | None = None
    """Opened sinks (``--metrics`` ...), closed by :func:`run`."""


def prepare(config: NodeConfig) -> Prepared:
    """Validate everything up front; ConfigError (one line) on the first problem."""
    from asyncmachine.pubsub.libp2p import peer_id_of

    config.validate()
    check_listen_free(config.listen)
    key_pair = load_identity(config.key_file)
    peer_id = peer_id_of(key_pair)
    check_not_self(config.bootstrap, peer_id)
    machines = load_exposed(config.expose, peer_id=peer_id)
    demo = demo_machine(peer_id) if config.demo else None
    if demo is not None:
        machines.insert(0, demo)
    check_unique(machines)
    telemetry = None
    if config.telemetry.enabled:  # last: it binds a port and opens files
        try:
            telemetry = Telemetry(config.telemetry, peer_id=peer_id)
        except TelemetryError as e:
            raise ConfigError(str(e)) from None
    return Prepared(config, key_pair, peer_id, machines, demo, telemetry)


def run(config: NodeConfig, *, write: Callable[[str], None] = write_line) -> int:
    """Validate ``config`` and run the node until a signal; returns the exit code."""
    try:
        prepared = prepare(config)
    except ConfigError as e:
        error_line(str(e))
        return EXIT_BAD_INPUT
    try:
        return trio.run(serve, prepared, write)
    finally:
        if prepared.telemetry is not None:
            prepared.telemetry.close()


async def serve(prep: Prepared, write: Callable[[str], None]) -> int:
    """Run a prepared node until SIGINT/SIGTERM or ``quit``."""
    rc = EXIT_OK
    async with trio.open_nursery() as root:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            main = trio.CancelScope()
            root.start_soon(_watch_signals, signals, main)
            with main:
                try:
                    rc = await _run_node(prep, write, main.cancel)
                except ConnectionError as e:  # BootstrapError: nobody reachable
                    error_line(str(e))
                    rc = EXIT_BAD_INPUT
                except Exception as e:
                    log.debug("node failed", exc_info=True)
                    error_line(f"{type(e).__name__}: {_one_line(e)}")
                    rc = EXIT_ERROR
            root.cancel_scope.cancel()
    return rc


def _one_line(e: BaseException) -> str:
    while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
        e = e.exceptions[0]
    return str(e) or type(e).__name__


async def _watch_signals(signals: AsyncIterator[int], main: trio.CancelScope) -> None:
    """First signal: stop cleanly. A second one while stopping: exit at once."""
    count = 0
    async for signum in signals:
        count += 1
        if count == 1:
            log.info("got %s, leaving the topic", signal.Signals(signum).name)
            main.cancel()
        else:
            error_line("second signal while stopping: exiting now")
            os._exit(EXIT_ERROR)


def primary_ip() -> str | None:
    """This host's outgoing IPv4 address (no packet is sent), or None when offline."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: routing lookup only
            ip: str = s.getsockname()[0]
    except OSError:
        return None
    return ip if ip != "0.0.0.0" else None


def dialable(addr: str) -> list[str]:
    """Concrete versions of a wildcard ``/ip4/0.0.0.0/...`` listen address (loopback and
    the primary interface), for other hosts to bootstrap from; [] for others."""
    prefix = "/ip4/0.0.0.0/"
    if not addr.startswith(prefix):
        return []
    ips = ["127.0.0.1"]
    ip = primary_ip()
    if ip is not None and ip not in ips:
        ips.append(ip)
    return [f"/ip4/{ip}/{addr[len(prefix) :]}" for ip in ips]


async def _run_node(prep: Prepared, write: Callable[[str], None], stop: Callable[[], None]) -> int:
    cfg = prep.config
    log.debug("starting with %s", cfg)
    state = NodeState(cfg.state_dir, prep.peer_id)
    settings = state.settings()

    connections = (
        None
        if cfg.connections is None
        else ConnectSettings(low=cfg.connections[0], high=cfg.connections[1])
    )

    def make(bootstrap: Sequence[str]) -> Node:
        return Node(
            topic=cfg.topic,
            listen=cfg.listen,
            bootstrap=bootstrap,
            key=prep.key_pair,
            expose=prep.machines,
            settings=settings,
            connect_timeout=cfg.connect_timeout,
            connections=connections,
            mdns=cfg.mdns,
        )

    try:
        tel = prep.telemetry
        async with (
            state.join(make, cfg.bootstrap, cfg.connect_timeout) as node,
            tel.attach(node.topic) if tel is not None else nullcontext(),
            _remote(node, prep, write),
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(partial(state.keep, node, rejoin=not cfg.bootstrap))
            for m in prep.machines:
                m.bind_nursery(nursery)
            for addr in node.addrs():
                write(f"peer {node.peer_id} listening on {addr}")
                for alt in dialable(addr):
                    write(f"peer {node.peer_id} reachable at {alt}")
            ids = ", ".join(m.id for m in node.machines()) or "nothing"
            write(f"peer {node.peer_id} topic {cfg.topic} exposes {ids}")
            for line in tel.describe() if tel is not None else ():
                write(f"peer {node.peer_id} {line}")
            if prep.demo is not None:
                nursery.start_soon(drive_demo, prep.demo, cfg.demo_interval)
            if cfg.console:
                prompt = PROMPT if sys.stdin.isatty() else ""
                console = NodeConsole(node, write, stop, prompt=prompt)
                nursery.start_soon(console.run)
                write("console: type 'help' for commands")
            if sys.stdout.isatty() and not cfg.console:
                nursery.start_soon(LiveStatus(node, Console()).run)
            else:
                status = PlainStatus(node, write, cfg.status_interval)
                status.attach()
                nursery.start_soon(status.run)
    finally:
        for m in prep.machines:
            m.dispose()
    return EXIT_OK


def _remote(
    node: Node, prep: Prepared, write: Callable[[str], None]
) -> AbstractAsyncContextManager[object]:
    """Remote mutations (``--allow``, schema files' ``allow``) and worker pools
    (``--workers``, ``--pool``): :func:`asyncmachine.rpc.serve_node`."""
    from asyncmachine.rpc import merge_allow, parse_workers, serve_node

    cfg = prep.config
    allow = {m.id: file_allow(m) for m in prep.machines}
    workers = [parse_workers(w) for w in cfg.workers]
    return serve_node(
        node.topic, prep.machines, allow, merge_allow(cfg.allow), workers, cfg.pool, write
    )


__all__ = ["EXIT_BAD_INPUT", "EXIT_ERROR", "EXIT_OK", "Prepared", "prepare", "run", "serve"]
