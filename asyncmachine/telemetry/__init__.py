"""Observability of nodes and machines: Prometheus metrics, OpenTelemetry traces, a
JSON-lines event stream and an SQLite history (Go: pkg/telemetry, pkg/history).

``asyncmachine node --metrics/--otel/--events/--history`` use :class:`Telemetry`;
embedders do the same around a running Topic::

    tel = Telemetry(TelemetryOptions(metrics="127.0.0.1:9100", history=Path("h.db")))
    try:
        async with Node(...) as node, tel.attach(node.topic):
            ...
    finally:
        tel.close()

:class:`History` answers questions about a recorded database (also
``asyncmachine history DB``). Spans: :mod:`asyncmachine.telemetry.otel`. Metric names
and the event schema: docs/telemetry.md. This package reads ``machine`` and
``pubsub``; neither imports it.
"""

from ._grafana import dashboard, dashboard_json, queried_metrics
from ._metrics import Buckets, MachineStats
from ._names import METRICS, Kind, MetricSpec, Panel
from ._options import (
    DEFAULT_HISTORY_AGE,
    DEFAULT_HISTORY_ROWS,
    TelemetryError,
    TelemetryOptions,
    add_arguments,
    options_from_args,
    parse_host_port,
)
from ._query import Activity, History
from ._schema import EVENT_SCHEMA, EventType, validate_event
from ._store import HistoryRow, HistoryStore
from ._telemetry import Telemetry

__all__ = [
    "DEFAULT_HISTORY_AGE",
    "DEFAULT_HISTORY_ROWS",
    "EVENT_SCHEMA",
    "METRICS",
    "Activity",
    "Buckets",
    "EventType",
    "History",
    "HistoryRow",
    "HistoryStore",
    "Kind",
    "MachineStats",
    "MetricSpec",
    "Panel",
    "Telemetry",
    "TelemetryError",
    "TelemetryOptions",
    "add_arguments",
    "dashboard",
    "dashboard_json",
    "options_from_args",
    "parse_host_port",
    "queried_metrics",
    "validate_event",
]
