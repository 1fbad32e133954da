"""The Node: one peer in one topic, exposing local machines, mirroring remote ones.

Embed it in a Trio program::

    async with Node(topic="asyncmachine", bootstrap=[addr], expose=[mach]) as node:
        print(node.peer_id, node.addrs())
        with trio.fail_after(30):
            mirror = await node.when_machine(id_partial="worker")  # once discovered
            await mirror.when1("Ready")

It wraps :func:`asyncmachine.pubsub.open_topic` (``node.topic``) and turns the
Topic's events into :class:`NodeEvent` s, with the state changes of local and
remote machines already diffed (``node.recent_changes``).
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Unpack

import trio

from asyncmachine._lifetime import Lifetime
from asyncmachine.machine import Machine, ReadOnlyMachine, Time
from asyncmachine.pubsub import (
    ConnectSettings,
    EventKind,
    FilterArgs,
    GossipTransport,
    MachineFilter,
    Topic,
    TopicEvent,
    TopicSettings,
    open_topic,
)

from ._config import DEFAULT_CONNECT_TIMEOUT, DEFAULT_LISTEN, DEFAULT_TOPIC, load_identity
from ._events import NodeEvent, NodeEventKind, NodeObserver, StateChange, diff_times

if TYPE_CHECKING:
    from libp2p.crypto.keys import KeyPair

log = logging.getLogger(__name__)


class Node:
    """A p2p node: an async context manager running one peer in one topic.

    ``key`` is an ed25519 ``KeyPair``, a key file path (created on first use,
    mode 0600) or None (a fresh identity). ``listen``/``bootstrap`` are
    multiaddrs; with several bootstrap peers, the node starts when at least one
    answers and redials the others with backoff; when none answers within
    ``connect_timeout`` it raises ``BootstrapError`` (a ConnectionError).
    ``transport`` replaces libp2p (e.g. a ``MemoryTransport``; then ``listen``,
    ``key`` and ``connect_timeout`` are unused). Machines in ``expose`` (and
    those given to :meth:`expose` later) are announced to every peer.
    """

    def __init__(
        self,
        *,
        topic: str = DEFAULT_TOPIC,
        listen: Sequence[str] = DEFAULT_LISTEN,
        bootstrap: Sequence[str] = (),
        key: KeyPair | str | os.PathLike[str] | None = None,
        expose: Iterable[Machine] = (),
        settings: TopicSettings | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        transport: GossipTransport | None = None,
        history: int = 100,
        connections: ConnectSettings | None = None,
        mdns: bool = False,
    ) -> None:
        self.topic_name = topic
        self.listen = tuple(listen)
        self.bootstrap = tuple(bootstrap)
        self.settings = settings
        self.connect_timeout = connect_timeout
        self.connections = connections
        self.mdns = mdns
        self._transport = transport
        self._key_pair: KeyPair | None = None
        if transport is None:
            if key is None or isinstance(key, str | os.PathLike):
                self._key_pair = load_identity(key)
            else:
                self._key_pair = key
        self._expose: list[Machine] = list(expose)
        self._topic: Topic | None = None
        self._lifetime = Lifetime(self._run, "the node")
        self._observers: list[NodeObserver] = []
        self._remote_times: dict[tuple[str, int], tuple[int, ...]] = {}
        self._watched: set[int] = set()
        self.recent_changes: deque[StateChange] = deque(maxlen=history)
        """The latest state changes of local and remote machines, oldest first."""
        self.started_at = 0.0

    # --- identity and topic -------------------------------------------------

    @property
    def peer_id(self) -> str:
        """This node's base58 peer id (known before start unless a transport is given)."""
        if self._topic is not None:
            return self._topic.peer_id
        if self._key_pair is not None:
            from asyncmachine.pubsub.libp2p import peer_id_of

            return peer_id_of(self._key_pair)
        return self._transport.peer_id if self._transport is not None else ""

    @property
    def topic(self) -> Topic:
        """The running :class:`~asyncmachine.pubsub.Topic` (RuntimeError when stopped)."""
        if self._topic is None:
            raise RuntimeError("the node is not running: use 'async with node:'")
        return self._topic

    @property
    def running(self) -> bool:
        return self._topic is not None

    def addrs(self) -> list[str]:
        """Full multiaddrs (``.../p2p/<peer id>``) other nodes can bootstrap from."""
        return self._topic.addrs() if self._topic is not None else []

    def peers(self) -> list[str]:
        """Remote peers known in the topic (from their signed info)."""
        return self._topic.peers() if self._topic is not None else []

    def connected_peers(self) -> set[str]:
        """Peers with an open connection to this node."""
        t = self._topic.transport if self._topic is not None else None
        return t.connected_peers() if t is not None else set()

    # --- machines -------------------------------------------------------------

    def machines(self) -> list[Machine]:
        """This node's exposed (mutable) machines."""
        return self._topic.exposed() if self._topic is not None else list(self._expose)

    def machine(self, machine_id: str) -> Machine | None:
        """The local machine with this id, or None."""
        return next((m for m in self.machines() if m.id == machine_id), None)

    def remote_machines(
        self, where: MachineFilter | None = None, /, **filters: Unpack[FilterArgs]
    ) -> list[ReadOnlyMachine]:
        """Read-only mirrors of other peers' machines; filters as
        :meth:`Topic.list_machines` (``id``, ``id_partial``, ``peer_id``, ``tags`` ...)."""
        return self._topic.list_machines(where, **filters) if self._topic is not None else []

    def remote_owners(
        self, where: MachineFilter | None = None, /, **filters: Unpack[FilterArgs]
    ) -> list[tuple[str, ReadOnlyMachine]]:
        """``(peer_id, mirror)`` pairs of remote machines matching the filters."""
        if self._topic is None:
            return []
        out: list[tuple[str, ReadOnlyMachine]] = []
        for rm in self._topic.remote_machines(where, **filters):
            if isinstance(rm.mirror, ReadOnlyMachine):
                out.append((rm.peer_id, rm.mirror))
        return out

    async def when_machine(
        self, where: MachineFilter | None = None, /, **filters: Unpack[FilterArgs]
    ) -> ReadOnlyMachine:
        """The first remote machine matching the filters, once discovered
        (:meth:`Topic.when_machine`; cancel with ``trio.fail_after``)."""
        return await self.topic.when_machine(where, **filters)

    async def wait_machines(
        self, n: int, where: MachineFilter | None = None, /, **filters: Unpack[FilterArgs]
    ) -> list[ReadOnlyMachine]:
        """Every matching remote machine once there are at least ``n``
        (:meth:`Topic.wait_machines`; ``trio.ClosedResourceError`` when the node stops)."""
        return await self.topic.wait_machines(n, where, **filters)

    def expose(self, mach: Machine) -> None:
        """Expose ``mach`` to every peer (before or while running)."""
        if self._topic is None:
            if any(m is mach for m in self._expose):
                raise ValueError(f"machine {mach.id} is already exposed")
            if any(m.id == mach.id for m in self._expose):
                raise ValueError(f"a machine with id {mach.id!r} is already exposed")
            self._expose.append(mach)
            return
        if any(m.id == mach.id for m in self._topic.exposed()):
            raise ValueError(f"a machine with id {mach.id!r} is already exposed")
        self._topic.expose(mach)
        self._watch(mach)

    def graph(self) -> Any:
        """A networkx MultiDiGraph snapshot of this node's view: peers, machines, states
        and connections (:func:`asyncmachine.graph.graph_from_topic`; for a graph that
        follows changes, use ``asyncmachine.graph.watch_topic(node.topic)``)."""
        from asyncmachine.graph import graph_from_topic

        return graph_from_topic(self.topic)

    # --- events ---------------------------------------------------------------

    def add_observer(self, fn: NodeObserver) -> None:
        """Call ``fn(event)`` synchronously for every :class:`NodeEvent` (must not block)."""
        self._observers.append(fn)

    def remove_observer(self, fn: NodeObserver) -> None:
        self._observers.remove(fn)

    def event_channel(self, max_buffer: int = 1024) -> trio.MemoryReceiveChannel[NodeEvent]:
        """A channel of NodeEvents; when full, events are dropped; closing it unsubscribes."""
        send, recv = trio.open_memory_channel[NodeEvent](max_buffer)

        def push(ev: NodeEvent) -> None:
            try:
                send.send_nowait(ev)
            except trio.WouldBlock:
                pass
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._observers.remove(push)

        self._observers.append(push)
        return recv

    def _emit(self, ev: NodeEvent) -> None:
        if ev.change is not None:
            self.recent_changes.append(ev.change)
        for fn in list(self._observers):
            try:
                fn(ev)
            except Exception:
                log.exception("node observer %r failed", fn)

    def _on_topic_event(self, ev: TopicEvent) -> None:
        key = (ev.peer_id, ev.index)
        if ev.kind is EventKind.PEER_DISCOVERED:
            self._emit(NodeEvent(NodeEventKind.PEER_JOINED, ev.peer_id, ev.at))
        elif ev.kind is EventKind.PEER_REMOVED:
            self._emit(NodeEvent(NodeEventKind.PEER_LEFT, ev.peer_id, ev.at, reason=ev.reason))
        elif ev.kind is EventKind.MACHINE_DISCOVERED:
            self._remote_times.pop(key, None)  # a new mirror starts from a zero clock
            self._emit(NodeEvent(NodeEventKind.MACHINE_ADDED, ev.peer_id, ev.at, ev.machine_id))
        elif ev.kind is EventKind.MACHINE_REMOVED:
            self._remote_times.pop(key, None)
            self._emit(
                NodeEvent(
                    NodeEventKind.MACHINE_REMOVED,
                    ev.peer_id,
                    ev.at,
                    ev.machine_id,
                    reason=ev.reason,
                )
            )
        elif ev.kind is EventKind.CLOCK_UPDATED and ev.time is not None:
            mirror = self._mirror_at(ev.peer_id, ev.index)
            if mirror is None:
                return
            before = self._remote_times.get(key) or (0,) * len(ev.time)
            self._remote_times[key] = tuple(ev.time)
            self._change(mirror, ev.peer_id, False, before, ev.time, ev.at)

    def _mirror_at(self, peer_id: str, index: int) -> ReadOnlyMachine | None:
        for rm in self.topic.remote_machines(peer_id=peer_id):
            if rm.index == index and isinstance(rm.mirror, ReadOnlyMachine):
                return rm.mirror
        return None

    def _change(
        self,
        mach: Machine | ReadOnlyMachine,
        peer_id: str,
        local: bool,
        before: Sequence[int],
        after: Sequence[int],
        at: float,
    ) -> None:
        names = mach.state_names()
        added, removed, ticked = diff_times(names, before, after)
        if not (added or removed or ticked):
            return
        active = tuple(n for n, t in zip(names, after, strict=False) if t % 2)
        change = StateChange(at, mach.id, peer_id, local, added, removed, ticked, active)
        self._emit(NodeEvent(NodeEventKind.STATE_CHANGED, peer_id, at, mach.id, change=change))

    def _watch(self, mach: Machine) -> None:
        """Report local transitions as STATE_CHANGED events while the node runs."""
        if id(mach) in self._watched:
            return
        self._watched.add(id(mach))

        def on_change(m: Machine, before: Time, after: Time) -> None:
            if self._topic is not None:
                self._change(m, self.peer_id, True, before, after, trio.current_time())

        mach.on_change(on_change)

    # --- lifecycle --------------------------------------------------------------

    async def __aenter__(self) -> Node:
        return await self._lifetime.enter()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        """Say bye (the other peers drop this node's mirrors) and close the host."""
        return await self._lifetime.exit(exc_type, exc, tb)

    @asynccontextmanager
    async def _run(self) -> AsyncIterator[Node]:
        """The node's lifetime; ``__aenter__``/``__aexit__`` only delegate here, so
        whatever raises while starting or stopping still closes the topic's nursery."""
        opts: dict[str, Any] = {}
        if self._transport is None:
            opts = {
                "key_pair": self._key_pair,
                "dial_timeout": self.connect_timeout,
                "connections": self.connections,
                "mdns": self.mdns,
            }
        try:
            async with open_topic(
                self.topic_name,
                listen=self.listen,
                bootstrap=self.bootstrap,
                expose=self._expose,
                transport=self._transport,
                settings=self.settings,
                **opts,
            ) as topic:
                self._topic = topic
                self.started_at = trio.current_time()
                topic.add_observer(self._on_topic_event)
                try:
                    for m in topic.exposed():
                        self._watch(m)
                    log.info(
                        "node %s joined topic %s at %s", self.peer_id, self.topic_name, self.addrs()
                    )
                    yield self
                finally:
                    # machines exposed while running are exposed again on the next start
                    self._expose = topic.exposed()
        finally:
            self._topic = None
            self._remote_times.clear()


__all__ = ["Node"]
