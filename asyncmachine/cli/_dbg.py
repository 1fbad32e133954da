"""``asyncmachine dbg``: a live terminal debugger of a topic (Go: am-dbg).

Joins the topic as an observer (it exposes no machines) and shows peers, machines, the
selected machine's states with ticks and relations, and a log of clock changes.

    asyncmachine dbg --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...
    asyncmachine dbg --bootstrap ADDR --topic am --machine demo-J5YUjs

keys: q quit, / filter the log by machine id, f the selected machine's log, escape clear
the filter, arrows/enter select a machine. Exit codes: 0 quit (q, SIGTERM, SIGHUP: the
observer says bye), 1 the topic failed while running, 2 bad input or no bootstrap peer
reachable (one line on stderr, before the UI).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import signal
import sys
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Any

from ._graph import _listen_multiaddr, _one_line, _peer_multiaddr

PROG = "asyncmachine dbg"
KEEP_LOG_RECORDS = 100
"""Log records kept while the UI owns the terminal, printed to stderr after it closes."""


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return v


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "dbg",
        help="live terminal debugger of a topic's peers, machines and transitions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--bootstrap",
        metavar="MULTIADDR",
        action="append",
        type=_peer_multiaddr,
        help="a peer to join through, /ip4/…/tcp/N/p2p/<id> (repeatable, at least one)",
    )
    p.add_argument("--topic", metavar="NAME", default="asyncmachine", help="default asyncmachine")
    p.add_argument(
        "--listen",
        metavar="MULTIADDR",
        type=_listen_multiaddr,
        default="/ip4/127.0.0.1/tcp/0",
        help="the observer's listen address (default: a free port on 127.0.0.1)",
    )
    p.add_argument(
        "--connect-timeout",
        metavar="S",
        type=_seconds,
        default=10.0,
        help="give up when no bootstrap peer answers within S seconds (default 10)",
    )
    p.add_argument("--machine", metavar="ID", default="", help="machine to select at start")
    p.add_argument(
        "--fps", metavar="N", type=_seconds, default=10.0, help="redraws per second at most"
    )
    p.add_argument(
        "--log-file",
        metavar="PATH",
        help="write log records here while the UI runs (default: keep the last "
        f"{KEEP_LOG_RECORDS} and print them after it closes)",
    )
    p.set_defaults(run=run)


class _KeepHandler(logging.Handler):
    """Keeps the last records in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.records: deque[logging.LogRecord] = deque(maxlen=KEEP_LOG_RECORDS)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _logs_away_from_screen(path: str | None) -> Iterator[None]:
    """While the UI owns the terminal, log records go to ``path`` or are kept in memory
    and printed afterwards (a stderr handler would scribble over the screen)."""
    root = logging.getLogger()
    saved = root.handlers[:]
    keep = _KeepHandler()
    handler: logging.Handler = logging.FileHandler(path) if path else keep
    fmt = saved[0].formatter if saved else None
    handler.setFormatter(fmt or logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
    try:
        yield
    finally:
        root.handlers = saved
        handler.close()
        for rec in keep.records:
            print(handler.format(rec), file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """The sub-command; 0 quit, 1 the topic failed while running, 2 bad input."""
    try:
        from asyncmachine.dbg import DbgApp, DbgModel, SessionError, run_session
    except ImportError as e:
        print(
            f"{PROG}: error: {e}: install the extra: pip install 'asyncmachine[dbg]'",
            file=sys.stderr,
        )
        return 2
    from asyncmachine.pubsub import Topic, open_topic

    if not args.bootstrap:
        print(f"{PROG}: error: at least one --bootstrap MULTIADDR is required", file=sys.stderr)
        return 2
    if args.log_file:
        try:
            open(args.log_file, "a").close()
        except OSError as e:
            print(f"{PROG}: error: --log-file {args.log_file}: {e.strerror}", file=sys.stderr)
            return 2

    def source() -> AbstractAsyncContextManager[Topic]:
        return open_topic(
            args.topic,
            listen=[args.listen],
            bootstrap=args.bootstrap,
            dial_timeout=args.connect_timeout,
        )

    app = DbgApp(DbgModel(topic=args.topic), fps=args.fps, machine=args.machine)

    async def session() -> int:
        # SIGTERM / SIGHUP (terminal closed) end the UI like `q`: the observer says bye
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def stop() -> None:
            if app.is_running:
                app.exit()
            else:
                task.cancel()

        for sig in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop)
        try:
            return await run_session(source, app)
        finally:
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    try:
        with _logs_away_from_screen(args.log_file):
            return asyncio.run(session())
    except asyncio.CancelledError:  # a signal while joining
        return 0
    except SessionError as e:
        print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except (ConnectionError, OSError, ValueError) as e:
        # BootstrapError is a ConnectionError; a listen address in use an OSError
        print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
        return 2


__all__ = ["add_parser", "run"]
