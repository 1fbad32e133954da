"""Keep a graph in sync with a Topic: discovery, clocks, peers joining and leaving.

>>> async with watch_topic(topic) as live:
...     with trio.fail_after(5):
...         await live.wait_until(lambda g: len(machines(g)) >= 3)
...     write_json(live.graph, "net.json")
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

import networkx as nx
import trio

from ..machine import Machine, TracerBase
from ..pubsub import EventKind, TopicEvent
from ._build import MACHINE, GraphBuilder, machine_node
from ._topic import TopicLike, reconcile, sync_connections

if TYPE_CHECKING:
    # trio-stubs (installed with libp2p) shadow trio's own types and lack trio.TaskStatus
    from trio_typing import TaskStatus

log = logging.getLogger(__name__)

_STRUCTURAL = frozenset(
    {
        EventKind.PEER_DISCOVERED,
        EventKind.PEER_REMOVED,
        EventKind.MACHINE_DISCOVERED,
        EventKind.MACHINE_REMOVED,
        EventKind.LINKS_UPDATED,
    }
)
_CONNECTIONS = frozenset({EventKind.PEER_JOINED, EventKind.PEER_LEFT})


class _LocalTracer(TracerBase):
    """Wakes the live graph after a local machine's clock moved."""

    def __init__(self, live: LiveGraph) -> None:
        self.live = live

    def transition_end(self, tx: Any) -> None:
        if tx.is_accepted and tx.time_after != tx.time_before:
            self.live._local_dirty = True
            self.live._wake.set()


class LiveGraph:
    """A graph that follows a Topic's observer events (Go: none; am-dbg's live graph).

    Run :meth:`run` in a nursery (or use :func:`watch_topic`). Events are applied
    in batches: clock updates directly, discovery and removal by reconciling with
    the topic; connections and local clocks are also refreshed every ``refresh``
    seconds (the gossip mesh changes without events).
    """

    def __init__(
        self, topic: TopicLike, *, refresh: float = 1.0, graph: nx.MultiDiGraph | None = None
    ) -> None:
        if refresh <= 0:
            raise ValueError("refresh must be > 0")
        self.topic = topic
        self.refresh = refresh
        self.builder = GraphBuilder(graph)
        self.version = 0
        """Bumped on every change of the graph."""
        self.events = 0
        """Topic events seen."""
        self._pending: list[TopicEvent] = []
        self._wake = trio.Event()
        self._changed = trio.Event()
        self._local_dirty = False
        self._traced: dict[int, tuple[Machine, _LocalTracer]] = {}

    @property
    def graph(self) -> nx.MultiDiGraph:
        return self.builder.graph

    def _on_event(self, ev: TopicEvent) -> None:
        self._pending.append(ev)
        self.events += 1
        self._wake.set()

    def _bump(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = trio.Event()

    def _trace_local(self) -> None:
        exposed = {id(m): m for m in self.topic.exposed()}
        for key, m in exposed.items():
            if key not in self._traced:
                tr = _LocalTracer(self)
                m.add_tracer(tr)
                self._traced[key] = (m, tr)
        for key in [k for k in self._traced if k not in exposed]:
            self._untrace(key)

    def _untrace(self, key: int) -> None:
        m, tr = self._traced.pop(key)
        if tr in m.tracers:
            m.remove_tracer(tr)

    def _apply(self, events: list[TopicEvent]) -> bool:
        """Apply a batch of events; True if the graph changed."""
        b = self.builder
        structural = any(ev.kind in _STRUCTURAL for ev in events)
        changed = False
        if structural or self._local_dirty:
            self._local_dirty = False
            self._trace_local()
            return reconcile(b, self.topic)
        if any(ev.kind in _CONNECTIONS for ev in events):
            changed |= sync_connections(b, self.topic)
            before = b.graph.number_of_nodes()
            b.prune_peers([*self.topic.peers(), self.topic.peer_id])
            changed |= before != b.graph.number_of_nodes()
        for ev in events:
            if ev.kind is not EventKind.CLOCK_UPDATED or ev.time is None:
                continue
            node = machine_node(ev.machine_id, ev.peer_id)
            d = b.graph.nodes.get(node)
            if d is None or d.get("kind") != MACHINE or d.get("states") != len(ev.time):
                return reconcile(b, self.topic) or changed
            changed |= b.update_clock(node, ev.time)
        return changed

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Follow the topic until cancelled; started once the first snapshot is built."""
        self.topic.add_observer(self._on_event)
        try:
            self._trace_local()
            reconcile(self.builder, self.topic)
            self._bump()
            task_status.started()
            while True:
                with trio.move_on_after(self.refresh) as cs:
                    await self._wake.wait()
                self._wake = trio.Event()
                events, self._pending = self._pending, []
                if cs.cancelled_caught:
                    self._trace_local()
                    changed = reconcile(self.builder, self.topic)
                else:
                    changed = self._apply(events)
                if changed:
                    self._bump()
        finally:
            with suppress(ValueError):
                self.topic.remove_observer(self._on_event)
            for key in list(self._traced):
                self._untrace(key)

    async def wait_changed(self) -> None:
        """Until the graph changes next."""
        await self._changed.wait()

    async def wait_until(self, cond: Callable[[nx.MultiDiGraph], bool]) -> None:
        """Until ``cond(graph)`` holds (checked now and after every change)."""
        while not cond(self.graph):
            await self._changed.wait()

    async def settle(self, quiet: float) -> None:
        """Until the graph has not changed for ``quiet`` seconds."""
        while True:
            with trio.move_on_after(quiet) as cs:
                await self._changed.wait()
            if cs.cancelled_caught:
                return


@asynccontextmanager
async def watch_topic(
    topic: TopicLike, *, refresh: float = 1.0, graph: nx.MultiDiGraph | None = None
) -> AsyncIterator[LiveGraph]:
    """A :class:`LiveGraph` following ``topic`` for the duration of the block."""
    live = LiveGraph(topic, refresh=refresh, graph=graph)
    async with trio.open_nursery() as nursery:
        await nursery.start(live.run)
        try:
            yield live
        finally:
            nursery.cancel_scope.cancel()
