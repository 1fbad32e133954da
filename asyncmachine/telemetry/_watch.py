"""Turns transitions of local machines (a tracer) and Topic events (an observer) into
event lines, history rows and the sync latency histogram."""

from __future__ import annotations

import time
from collections import Counter

from asyncmachine.machine import TracerBase, Transition
from asyncmachine.pubsub import EventKind, Topic, TopicEvent

from ._metrics import Buckets
from ._recorder import Recorder
from ._schema import EventType
from ._store import HistoryRow
from ._stream import EventWriter

_PEER_KINDS = {
    EventKind.PEER_JOINED: EventType.PEER_JOINED,
    EventKind.PEER_LEFT: EventType.PEER_LEFT,
    EventKind.PEER_DISCOVERED: EventType.PEER_DISCOVERED,
    EventKind.PEER_REMOVED: EventType.PEER_REMOVED,
}
_MACHINE_KINDS = {
    EventKind.MACHINE_DISCOVERED: EventType.MACHINE_ADDED,
    EventKind.MACHINE_REMOVED: EventType.MACHINE_REMOVED,
}


class LocalTracer(TracerBase):
    """A local machine's transitions: an event line each, a history row per change."""

    __slots__ = ("_events", "_history", "_peer")

    def __init__(self, events: EventWriter | None, history: Recorder | None, peer: str) -> None:
        self._events = events
        self._history = history
        self._peer = peer

    def transition_end(self, tx: Transition, /) -> None:
        mut = tx.mutation
        if mut.is_check:
            return
        added = [s for s in tx.enters if s not in tx.before]
        after = tx.time_after
        clock = dict(zip(tx.machine.state_names(), after, strict=False))
        if self._events is not None:
            self._events.emit(
                EventType.TRANSITION,
                machine=tx.machine.id,
                tx=tx.id,
                type=mut.type.value,
                called=list(mut.called),
                result="executed" if tx.is_accepted else "canceled",
                auto=mut.is_auto,
                added=added,
                removed=list(tx.exits) if tx.is_accepted else [],
                active=tx.machine.active_states(),
                clock=clock,
            )
        h = self._history
        if h is not None and after != tx.time_before and h.wants(tx.machine.id):
            h.record(
                HistoryRow(
                    time.time(), tx.machine.id, self._peer, True, (*added,), (*tx.exits,), clock
                )
            )


def _diff(
    names: tuple[str, ...], before: tuple[int, ...], after: tuple[int, ...]
) -> tuple[list[str], list[str], list[str]]:
    """(activated, deactivated, ticked without a net change) between two clocks."""
    added: list[str] = []
    removed: list[str] = []
    ticked: list[str] = []
    for name, a, b in zip(names, before, after, strict=False):
        if a == b:
            continue
        if b % 2 and not a % 2:
            added.append(name)
        elif a % 2 and not b % 2:
            removed.append(name)
        else:
            ticked.append(name)
    return added, removed, ticked


class TopicWatcher:
    """A Topic observer for the event stream, the history of mirrors and the sync
    latency: the age of each mirror clock change when it is applied here (this peer's
    wall clock minus the owner's stamp on the clocks record, :meth:`TopicEvent.age`)."""

    def __init__(
        self,
        topic: Topic,
        events: EventWriter | None,
        history: Recorder | None,
        latency: Buckets | None,
    ) -> None:
        self.topic = topic
        self.events = events
        self.history = history
        self.latency = latency
        self._clocks: dict[tuple[str, int], tuple[int, ...]] = {}
        self._rejected: Counter[str] = Counter()

    def __call__(self, ev: TopicEvent) -> None:
        if ev.kind is EventKind.CLOCK_UPDATED and ev.time is not None:
            age = ev.age()
            if self.latency is not None and age is not None:
                self.latency.observe(max(0.0, age))
            self._clock(ev, ev.time)
            return
        out = self.events
        if ev.kind in _MACHINE_KINDS:
            self._clocks.pop((ev.peer_id, ev.index), None)  # a new mirror starts at zero
            if out is not None:
                out.emit(
                    _MACHINE_KINDS[ev.kind],
                    machine=ev.machine_id,
                    peer=ev.peer_id,
                    reason=ev.reason,
                )
        elif ev.kind in _PEER_KINDS and out is not None:
            out.emit(_PEER_KINDS[ev.kind], peer=ev.peer_id, reason=ev.reason)

    def _clock(self, ev: TopicEvent, after: tuple[int, ...]) -> None:
        key = (ev.peer_id, ev.index)
        before = self._clocks.get(key) or (0,) * len(after)
        self._clocks[key] = after
        rm = next(
            (r for r in self.topic.remote_machines(peer_id=ev.peer_id) if r.index == ev.index),
            None,
        )
        if rm is None:
            return
        names = rm.info.schema.names
        added, removed, ticked = _diff(names, before, after)
        if not (added or removed or ticked):
            return
        clock = dict(zip(names, after, strict=False))
        if self.events is not None:
            self.events.emit(
                EventType.CLOCK,
                machine=ev.machine_id,
                peer=ev.peer_id,
                added=added,
                removed=removed,
                ticked=ticked,
                active=[s for s, t in zip(names, after, strict=False) if t % 2],
                clock=clock,
            )
        h = self.history
        if h is not None and h.wants(ev.machine_id):
            h.record(
                HistoryRow(
                    time.time(), ev.machine_id, ev.peer_id, False, (*added,), (*removed,), clock
                )
            )

    def poll_rejected(self) -> None:
        """Emit a ``rejected`` line per reason whose count grew since the last poll
        (the Topic counts rejections; it has no event for them)."""
        if self.events is None:
            return
        now = self.topic.metrics.rejected
        for reason, count in sorted(now.items()):
            if (grown := count - self._rejected[reason]) > 0:
                self.events.emit(EventType.REJECTED, reason=reason, count=grown)
        self._rejected = Counter(now)
