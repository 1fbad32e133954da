"""Keep a :class:`DbgModel` in step with a pubsub Topic (Go: am-dbg's telemetry client).

The Topic's observer callbacks run synchronously on Trio's thread; with Trio running as a
guest of the UI's asyncio loop (:mod:`._guest`) that is also the UI's thread, so the model
is plain data without locks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import trio

from asyncmachine.machine import ReadOnlyMachine
from asyncmachine.pubsub import EventKind, RemoteMachine, Topic, TopicEvent

from ._model import DbgModel, MachineKey, MachineView


def machine_view(rm: RemoteMachine, clock: Sequence[int] | None = None) -> MachineView | None:
    """The model's copy of a remote machine, with ``clock`` (default: the mirror's); None
    for a mirror that is not a :class:`ReadOnlyMachine` (it has no schema to show)."""
    mirror = rm.mirror
    if not isinstance(mirror, ReadOnlyMachine):
        return None
    return MachineView(
        peer_id=rm.peer_id,
        index=rm.index,
        id=mirror.id,
        names=tuple(mirror.state_names()),
        schema=mirror.schema(),
        clock=tuple(rm.clock if clock is None else clock),
        tags=tuple(mirror.tags),
        parent=mirror.parent_id,
    )


class _Follower:
    """The observer of one Topic.

    A ``MACHINE_DISCOVERED`` event comes while the Topic is still storing the peer's new
    machine list, so the machine is looked up once that handler returned (Trio's
    ``run_sync_soon``), or earlier when another event of that machine arrives.
    """

    def __init__(self, topic: Topic, model: DbgModel) -> None:
        self.topic = topic
        self.model = model
        self.token = trio.lowlevel.current_trio_token()
        self.pending: set[MachineKey] = set()

    def resolve(self) -> None:
        """Add the discovered machines, logging their first clock as a change from zero."""
        by_peer: dict[str, set[int]] = {}
        for pid, index in self.pending:
            by_peer.setdefault(pid, set()).add(index)
        self.pending.clear()
        for pid, indexes in by_peer.items():
            for rm in self.topic.remote_machines(peer_id=pid):
                if rm.index not in indexes:
                    continue
                view = machine_view(rm, (0,) * len(rm.clock))
                if view is not None:
                    self.model.machine_added(view)
                    self.model.clock_updated(pid, rm.index, rm.clock)

    def __call__(self, ev: TopicEvent) -> None:
        kind, model = ev.kind, self.model
        key = (ev.peer_id, ev.index)
        if key in self.pending and kind is not EventKind.MACHINE_DISCOVERED:
            self.resolve()
        if kind is EventKind.CLOCK_UPDATED and ev.time is not None:
            model.clock_updated(ev.peer_id, ev.index, ev.time)
        elif kind is EventKind.MACHINE_DISCOVERED:
            if not self.pending:
                self.token.run_sync_soon(self.resolve)
            self.pending.add(key)
        elif kind is EventKind.MACHINE_REMOVED:
            model.machine_removed(ev.peer_id, ev.index, ev.reason)
        elif kind is EventKind.PEER_JOINED:
            model.peer_connected(ev.peer_id, True)
        elif kind is EventKind.PEER_LEFT:
            model.peer_connected(ev.peer_id, False)
        elif kind is EventKind.PEER_DISCOVERED:
            model.peer_discovered(ev.peer_id)
        elif kind is EventKind.PEER_REMOVED:
            model.peer_removed(ev.peer_id, ev.reason)
        # LINKS_UPDATED: peers' links are not shown


def follow(topic: Topic, model: DbgModel) -> Callable[[], None]:
    """Seed ``model`` with what ``topic`` knows now and apply its events from then on
    (call on Trio's thread). Seeding and subscribing happen without a checkpoint in
    between, so no event is missed. Returns a function that unsubscribes."""
    model.topic = topic.name
    model.self_id = topic.peer_id
    for pid in sorted(topic.topic_peers()):
        model.peer_connected(pid, True)
    for pid in topic.peers():
        model.peer_discovered(pid)
    for rm in topic.remote_machines():
        view = machine_view(rm)
        if view is not None:
            model.machine_added(view)
    observer = _Follower(topic, model)
    topic.add_observer(observer)
    return lambda: topic.remove_observer(observer)


__all__ = ["follow", "machine_view"]
