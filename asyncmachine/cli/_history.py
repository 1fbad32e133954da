"""``asyncmachine history DB``: questions to a node's ``--history`` database.

Without a question it lists the recorded machines. Times are unix seconds or
ISO 8601 (``2026-01-31T12:00:00+00:00``; without an offset: local time); they are
printed in UTC.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from asyncmachine.telemetry import History, HistoryRow, TelemetryError

EPILOG = """\
examples:
  asyncmachine history node.db                                  # machines and row counts
  asyncmachine history node.db --machine demo-x1 --state Foo    # when was Foo last active
  asyncmachine history node.db --machine demo-x1 --at 2026-01-31T12:00:00+00:00
  asyncmachine history node.db --between 1767225600 1767229200 --state Foo

exit codes: 0 answered, 1 nothing found, 2 bad input (options, database)."""


def parse_time(text: str) -> float:
    """Unix seconds or ISO 8601 -> unix seconds; ArgumentTypeError if neither."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad time {text!r}: expected unix seconds or ISO 8601"
        ) from None


def fmt(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def _row_text(r: HistoryRow) -> str:
    change = " ".join([*("+" + s for s in r.added), *("-" + s for s in r.removed)])
    where = "local" if r.local else f"@{r.peer[-6:]}"
    return f"{fmt(r.at)} {r.machine} {where} {change or '(ticks)'} active={r.active()}"


def _answer(h: History, args: argparse.Namespace) -> tuple[Any, list[str]]:
    """(JSON answer, text lines) for the question in ``args``."""
    if args.between is not None:
        t1, t2 = args.between
        rows = h.between(t1, t2, machine=args.machine, state=args.state)
        rows_doc = [
            {
                "at": r.at,
                "machine": r.machine,
                "peer": r.peer,
                "local": r.local,
                "added": list(r.added),
                "removed": list(r.removed),
                "clock": r.clock,
            }
            for r in rows
        ]
        return rows_doc, [_row_text(r) for r in rows]
    if args.at is not None:
        clock = h.clock_at(args.machine, args.at)
        if clock is None:
            return None, []
        active = [s for s, t in clock.items() if t % 2]
        ticks = " ".join(f"{s}={t}" for s, t in clock.items())
        return clock, [f"{args.machine} at {fmt(args.at)}: active={active} {ticks}"]
    if args.state is not None:
        act = h.last_active(args.machine, args.state)
        if act is None:
            return None, []
        doc = {"activated_at": act.activated_at, "deactivated_at": act.deactivated_at}
        until = "now" if act.deactivated_at is None else fmt(act.deactivated_at)
        return doc, [
            f"{args.machine} {args.state}: active from {fmt(act.activated_at)} until {until}"
        ]
    machines = h.machines()
    return machines, [f"{m}" for m in machines]


def _run(args: argparse.Namespace) -> int:
    asks = args.at is not None or args.state is not None
    if asks and args.between is None and args.machine is None:
        return _error("--at and --state need --machine")
    try:
        with History(args.db) as h:
            doc, lines = _answer(h, args)
    except TelemetryError as e:
        return _error(str(e))
    if args.json:
        sys.stdout.write(json.dumps(doc) + "\n")
    else:
        sys.stdout.write("".join(line + "\n" for line in lines) or "nothing found\n")
    return 0 if doc else 1


def _error(text: str) -> int:
    sys.stderr.write(f"asyncmachine history: error: {text}\n")
    return 2


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "history",
        help="query a node's --history database",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("db", metavar="DB", help="the SQLite file of 'asyncmachine node --history'")
    p.add_argument("--machine", metavar="ID", help="the machine asked about")
    p.add_argument("--state", metavar="NAME", help="when was NAME last active (or a filter)")
    p.add_argument("--at", type=parse_time, metavar="T", help="the machine's clock at time T")
    p.add_argument(
        "--between",
        nargs=2,
        type=parse_time,
        metavar=("T1", "T2"),
        help="transitions from T1 to T2 (filtered by --machine / --state)",
    )
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.set_defaults(run=_run)
