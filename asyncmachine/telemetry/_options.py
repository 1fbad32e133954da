"""What telemetry a node runs, checked up front (the ``asyncmachine node`` options).

The node's command line gets these options from :func:`add_arguments`, so the node
owns one field (``NodeConfig.telemetry``) and no telemetry logic.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HISTORY_ROWS = 100_000
DEFAULT_HISTORY_AGE = 7 * 24 * 3600.0


class TelemetryError(ValueError):
    """Bad telemetry input (an address, an unwritable path, a port in use); the
    message is one line naming the problem (the node CLI exits with code 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True, slots=True)
class TelemetryOptions:
    """Which sinks to run; all off by default.

    ``metrics``: ``HOST:PORT`` of the Prometheus ``/metrics`` endpoint (port 0: any
    free one). ``otel``: export transition spans over OTLP (endpoint from the standard
    ``OTEL_EXPORTER_OTLP_*`` environment variables). ``events``: a JSON-lines file, or
    ``-`` for stdout. ``history``: an SQLite file keeping at most ``history_rows``
    transitions no older than ``history_age`` seconds, of the machines whose id starts
    with one of ``history_machines`` (empty: every machine, local and mirrored).
    """

    metrics: str | None = None
    otel: bool = False
    events: str | None = None
    history: Path | None = None
    history_rows: int = DEFAULT_HISTORY_ROWS
    history_age: float = DEFAULT_HISTORY_AGE
    history_machines: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.metrics or self.otel or self.events or self.history)

    def validate(self) -> None:
        """Raise :class:`TelemetryError` for a malformed option (no I/O)."""
        if self.metrics is not None:
            parse_host_port(self.metrics)
        if self.events == "":
            raise TelemetryError("--events needs a file path or '-' for stdout")
        if self.history_rows < 1:
            raise TelemetryError(f"--history-rows must be >= 1, got {self.history_rows}")
        if not (math.isfinite(self.history_age) and self.history_age > 0):
            raise TelemetryError(f"--history-age must be > 0, got {self.history_age}")


def parse_host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9100`` for IPv6) -> (host, port); TelemetryError if bad."""
    host, sep, port_s = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_s.isdigit() or int(port_s) > 65535:
        raise TelemetryError(f"bad --metrics address {text!r}: expected HOST:PORT")
    return host, int(port_s)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``--metrics``, ``--otel``, ``--events`` and ``--history*`` to a parser."""
    g = p.add_argument_group("telemetry (see docs/telemetry.md)")
    g.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (port 0: a free one)",
    )
    g.add_argument(
        "--otel",
        action="store_true",
        help="export a span per transition over OTLP (OTEL_EXPORTER_OTLP_* env vars)",
    )
    g.add_argument(
        "--events", metavar="PATH|-", help="append JSON-lines events to PATH, '-': stdout"
    )
    g.add_argument("--history", metavar="PATH", help="record transitions to an SQLite file")
    g.add_argument(
        "--history-rows",
        type=int,
        default=DEFAULT_HISTORY_ROWS,
        metavar="N",
        help=f"keep at most N history rows (default: {DEFAULT_HISTORY_ROWS})",
    )
    g.add_argument(
        "--history-age",
        type=float,
        default=DEFAULT_HISTORY_AGE,
        metavar="S",
        help=f"drop history rows older than S seconds (default: {DEFAULT_HISTORY_AGE:g})",
    )
    g.add_argument(
        "--history-machine",
        action="append",
        metavar="ID",
        help="record only machines whose id starts with ID; repeatable (default: all)",
    )


def options_from_args(args: argparse.Namespace) -> TelemetryOptions:
    """The options parsed by :func:`add_arguments` (not validated yet)."""
    return TelemetryOptions(
        metrics=args.metrics,
        otel=args.otel,
        events=args.events,
        history=Path(args.history).expanduser() if args.history else None,
        history_rows=args.history_rows,
        history_age=args.history_age,
        history_machines=tuple(args.history_machine or ()),
    )
