"""Observer events and counters of a Topic (for the graph, the simulator and tests)."""

from __future__ import annotations

import enum
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._wallclock import wall_ms

log = logging.getLogger(__name__)


class EventKind(enum.Enum):
    PEER_JOINED = "peer_joined"  # transport: a peer subscribed (Go: PeerJoined)
    PEER_LEFT = "peer_left"  # transport: a peer unsubscribed (Go: PeerLeft)
    PEER_DISCOVERED = "peer_discovered"  # first valid info record of a peer
    PEER_UNREACHABLE = "peer_unreachable"  # its neighbours lost it; removed soon unless heard
    PEER_REMOVED = "peer_removed"  # bye, timeout, unreachable, evicted, new session: ``reason``
    MACHINE_DISCOVERED = "machine_discovered"  # a mirror was created
    MACHINE_REMOVED = "machine_removed"  # a mirror was disposed
    CLOCK_UPDATED = "clock_updated"  # a mirror's clock changed
    LINKS_UPDATED = "links_updated"  # a peer's reported connections / mesh changed


@dataclass(frozen=True, slots=True)
class TopicEvent:
    """One observer event. ``at`` is Trio's clock when the message was received
    (``received_at`` of the carrying message, or now).

    ``stamp_ms`` (``CLOCK_UPDATED`` only) is the owner's wall clock, in ms since the
    Unix epoch, when it signed the clocks record that carried the change (the record's
    ``time`` field); :meth:`age` turns it into the sync latency of the change."""

    kind: EventKind
    peer_id: str
    at: float
    machine_id: str = ""
    index: int = -1
    time: tuple[int, ...] | None = None
    reason: str = ""
    stamp_ms: int | None = None

    def age(self, now: float | None = None) -> float | None:
        """Seconds from the owner's stamp to this peer's wall clock at Trio time ``now``
        (default: the current time), ``None`` without a stamp. It includes the clock
        skew between the two hosts (exact on one host or with synced clocks) and may be
        negative when the owner's clock runs ahead; the wall clock is the one records are
        stamped with (anchored to Trio's clock, so virtual under ``MockClock``)."""
        if self.stamp_ms is None:
            return None
        return (wall_ms(now) - self.stamp_ms) / 1000


Observer = Callable[[TopicEvent], None]


@dataclass(slots=True)
class TopicMetrics:
    """Traffic and rejection counters (monotonic over the Topic's life)."""

    msgs_sent: int = 0
    bytes_sent: int = 0
    msgs_received: int = 0
    bytes_received: int = 0
    sent_by_type: Counter[str] = field(default_factory=Counter)
    received_by_type: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    """Dropped messages/records by reason (decode reasons, bad_signature, stale, ...)."""
    duplicates: int = 0
    """Records received that were already known (same version)."""
    records_applied: int = 0
    clock_updates: int = 0
    """Mirror clock changes applied."""
    deferred: Counter[str] = field(default_factory=Counter)
    """Outgoing work postponed by an outgoing rate limit, per type."""
    publish_errors: int = 0
    events_dropped: int = 0
    pulls: int = 0
    """Hellos re-sent because a gossiped view showed peers unknown here."""
    discovery_sent_at: float | None = None
    """Trio time of the last discovery message this peer published (hello, pull, info
    answer, info request); the simulator's time to a quiet network."""

    def snapshot(self) -> dict[str, Any]:
        """Plain data (for JSON)."""
        return {
            "msgs_sent": self.msgs_sent,
            "bytes_sent": self.bytes_sent,
            "msgs_received": self.msgs_received,
            "bytes_received": self.bytes_received,
            "sent_by_type": dict(self.sent_by_type),
            "received_by_type": dict(self.received_by_type),
            "rejected": dict(self.rejected),
            "duplicates": self.duplicates,
            "records_applied": self.records_applied,
            "clock_updates": self.clock_updates,
            "deferred": dict(self.deferred),
            "publish_errors": self.publish_errors,
            "events_dropped": self.events_dropped,
            "pulls": self.pulls,
            "discovery_sent_at": self.discovery_sent_at,
        }


def run_observers(observers: list[Observer], ev: TopicEvent) -> None:
    """Call every observer; one that raises is logged and the rest still run."""
    for fn in list(observers):
        try:
            fn(ev)
        except Exception:
            log.exception("pubsub observer %r failed", fn)
