"""Every Prometheus metric a node exports: one table read by the collector and by the
Grafana dashboard generator, so a dashboard can only name metrics that exist."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


class Panel(enum.Enum):
    """How the dashboard plots a metric."""

    RATE = "rate"
    """``rate(x[1m])`` per label set (counters)."""
    VALUE = "value"
    """The value per label set (gauges)."""
    P90 = "p90"
    """The 90th percentile of a histogram."""


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    """Family name; counters' samples end in ``_total``, histograms' in ``_bucket`` ..."""
    kind: Kind
    help: str
    labels: tuple[str, ...]
    panel: Panel
    row: str
    """Dashboard row: machines, topic or libp2p."""

    @property
    def sample(self) -> str:
        """The sample name a query uses (``_total`` for counters, ``_bucket`` for
        histograms)."""
        suffix = {Kind.COUNTER: "_total", Kind.HISTOGRAM: "_bucket", Kind.GAUGE: ""}
        return self.name + suffix[self.kind]


_C, _G, _H = Kind.COUNTER, Kind.GAUGE, Kind.HISTOGRAM
_M, _T, _L = "machines", "topic", "libp2p"
_MACH = ("machine",)
_STATE = ("machine", "peer", "state")

TRANSITIONS = MetricSpec(
    "asyncmachine_transitions",
    _C,
    "Transitions of local machines by result (executed, canceled)",
    ("machine", "result"),
    Panel.RATE,
    _M,
)
HANDLER_SECONDS = MetricSpec(
    "asyncmachine_handler_seconds", _H, "Handler run time", _MACH, Panel.P90, _M
)
QUEUE_LENGTH = MetricSpec(
    "asyncmachine_queue_length", _G, "Mutations queued", _MACH, Panel.VALUE, _M
)
QUEUE_DROPPED = MetricSpec(
    "asyncmachine_queue_dropped",
    _C,
    "Mutations canceled because the queue was full",
    _MACH,
    Panel.RATE,
    _M,
)
MACHINE_TIME = MetricSpec(
    "asyncmachine_machine_time",
    _G,
    "Machine time (sum of ticks) of local machines and mirrors",
    ("machine", "peer", "local"),
    Panel.VALUE,
    _M,
)
STATE_ACTIVE = MetricSpec(
    "asyncmachine_state_active", _G, "1 if the state is active", _STATE, Panel.VALUE, _M
)
STATE_TICK = MetricSpec(
    "asyncmachine_state_tick", _G, "The state's tick (clock)", _STATE, Panel.VALUE, _M
)
MSGS_SENT = MetricSpec(
    "asyncmachine_topic_messages_sent", _C, "Messages sent by type", ("type",), Panel.RATE, _T
)
MSGS_RECEIVED = MetricSpec(
    "asyncmachine_topic_messages_received",
    _C,
    "Messages received by type",
    ("type",),
    Panel.RATE,
    _T,
)
BYTES_SENT = MetricSpec("asyncmachine_topic_bytes_sent", _C, "Bytes sent", (), Panel.RATE, _T)
BYTES_RECEIVED = MetricSpec(
    "asyncmachine_topic_bytes_received", _C, "Bytes received", (), Panel.RATE, _T
)
REJECTED = MetricSpec(
    "asyncmachine_topic_rejected",
    _C,
    "Messages and records dropped, by reason",
    ("reason",),
    Panel.RATE,
    _T,
)
DEFERRED = MetricSpec(
    "asyncmachine_topic_deferred",
    _C,
    "Outgoing work postponed by a rate limit, by type",
    ("type",),
    Panel.RATE,
    _T,
)
DUPLICATES = MetricSpec(
    "asyncmachine_topic_duplicates", _C, "Records already known", (), Panel.RATE, _T
)
CLOCK_UPDATES = MetricSpec(
    "asyncmachine_topic_clock_updates", _C, "Mirror clock changes applied", (), Panel.RATE, _T
)
PUBLISH_ERRORS = MetricSpec(
    "asyncmachine_topic_publish_errors", _C, "Failed publishes", (), Panel.RATE, _T
)
PEERS = MetricSpec(
    "asyncmachine_topic_peers",
    _G,
    "Peers: known (signed info), subscribed, connected, mesh",
    ("kind",),
    Panel.VALUE,
    _T,
)
MIRRORS = MetricSpec(
    "asyncmachine_topic_mirrors", _G, "Remote machines mirrored", (), Panel.VALUE, _T
)
SYNC_LATENCY = MetricSpec(
    "asyncmachine_topic_sync_latency_seconds",
    _H,
    "Age of mirror clock changes when applied here: this host's wall clock minus the "
    "owner's send stamp of the clocks record (clamped at 0). Includes the clock skew "
    "between the hosts, so it is exact only on one host or with synced clocks",
    (),
    Panel.P90,
    _T,
)
LIBP2P = MetricSpec(
    "asyncmachine_libp2p_messages",
    _C,
    "py-libp2p transport counters: published, received, dropped (inbound buffer "
    "full), outbound_dropped (neighbour queue full), undecodable_rpcs",
    ("event",),
    Panel.RATE,
    _L,
)
LIBP2P_BYTES = MetricSpec(
    "asyncmachine_libp2p_bytes",
    _C,
    "py-libp2p payload bytes by direction (published, received, forwarded)",
    ("direction",),
    Panel.RATE,
    _L,
)
LIBP2P_CONTROL = MetricSpec(
    "asyncmachine_libp2p_control",
    _C,
    "gossipsub control messages (ihave, iwant, graft, prune) by direction (sent, received), "
    "and messages forwarded for other authors (type forwarded, direction sent)",
    ("type", "direction"),
    Panel.RATE,
    _L,
)

METRICS: tuple[MetricSpec, ...] = (
    TRANSITIONS,
    HANDLER_SECONDS,
    QUEUE_LENGTH,
    QUEUE_DROPPED,
    MACHINE_TIME,
    STATE_ACTIVE,
    STATE_TICK,
    MSGS_SENT,
    MSGS_RECEIVED,
    BYTES_SENT,
    BYTES_RECEIVED,
    REJECTED,
    DEFERRED,
    DUPLICATES,
    CLOCK_UPDATES,
    PUBLISH_ERRORS,
    PEERS,
    MIRRORS,
    SYNC_LATENCY,
    LIBP2P,
    LIBP2P_BYTES,
    LIBP2P_CONTROL,
)
"""Every metric, in dashboard order. Topic metrics also carry a ``topic`` label."""
