"""The Topic: one peer in one gossip topic, itself a state machine (Go: pubsub.Topic).

>>> async with open_topic("demo", listen=["/ip4/127.0.0.1/tcp/0"], bootstrap=[addr],
...                       expose=[worker]) as topic:
...     with trio.fail_after(30):
...         for remote in await topic.wait_machines(2, peer_id=other):
...             await remote.when1("Bar")
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Unpack

import trio

from ..machine import CompiledSchema, Event, Machine, ReadOnlyMachine
from ._discovery import DiscoveryWaits, mirror_of, select
from ._engine import Engine, Work
from ._events import EventKind, Observer, TopicEvent, TopicMetrics, run_observers
from ._filter import FilterArgs, MachineFilter
from ._local import LocalRecords
from ._registry import MirrorLike, Registry, RemoteMachine
from ._schemas import SHARED_SCHEMAS, SchemaCache
from ._settings import TopicSettings
from ._topic_states import TOPIC_SCHEMA, TOPIC_STATE_NAMES, ss
from ._transport import GossipTransport
from ._wire import FifoCache, MachineInfo, process_cache

log = logging.getLogger(__name__)

_SEPARATION_KINDS = frozenset(
    (EventKind.PEER_DISCOVERED, EventKind.PEER_REMOVED, EventKind.PEER_UNREACHABLE)
)
"""Events that start or end a separation from a peer (see ``Engine.note_separation``)."""

_TOPIC_COMPILED: FifoCache[str, CompiledSchema] = process_cache("topic schema", 1)
"""The compiled Topic machine schema, shared by every Topic (cleared by ``clear_caches``)."""


def _topic_schema() -> CompiledSchema:
    compiled = _TOPIC_COMPILED.get("topic")
    if compiled is None:
        compiled = CompiledSchema(TOPIC_SCHEMA, TOPIC_STATE_NAMES)
        _TOPIC_COMPILED.put("topic", compiled)
    return compiled


def make_mirror(compiled: CompiledSchema, info: MachineInfo) -> ReadOnlyMachine:
    """A read-only mirror keeping the source machine's id, tags and parent."""
    return ReadOnlyMachine(compiled, id=info.id, tags=info.tags, parent_id=info.parent)


class _TopicHandlers:
    """Negotiation handlers of the Topic machine."""

    def __init__(self, topic: Topic) -> None:
        self.topic = topic

    def ReadyEnter(self, e: Event) -> bool:
        """Go: ReadyEnter, ConnCount() >= ConnectionsToReady (5 in Go, 1 here)."""
        t = self.topic.transport
        need = self.topic.settings.connections_to_ready
        return t is not None and len(t.topic_peers()) >= need


class Topic:
    """One peer in one topic; ``mach`` is its state machine (Go: Topic).

    Create with :func:`open_topic`. Exposed local machines are announced to
    every peer; every other peer's exposed machines appear here as read-only
    mirrors (:meth:`list_machines`).
    """

    def __init__(
        self,
        name: str,
        *,
        expose: Iterable[Machine] = (),
        settings: TopicSettings | None = None,
        suffix: str = "",
        schemas: SchemaCache | None = None,
        mirror_factory: Callable[[CompiledSchema, MachineInfo], MirrorLike] | None = None,
    ) -> None:
        if not name or not isinstance(name, str):
            raise ValueError("topic name must be a non-empty str")
        self.name = name
        self.settings = settings or TopicSettings()
        self.metrics = TopicMetrics()
        sfx = suffix or os.urandom(1).hex()
        self.mach = Machine(
            _topic_schema(),
            id=f"ps-{name}-{sfx}",
            tags=[f"pubsub:{name}"],
            handlers=_TopicHandlers(self),
        )
        self.transport: GossipTransport | None = None
        self.schemas = SHARED_SCHEMAS if schemas is None else schemas
        self._mirror_factory = mirror_factory or make_mirror
        self._pending_expose: list[Machine] = list(expose)
        self._observers: list[Observer] = []
        self._local: LocalRecords | None = None
        self._registry: Registry | None = None
        self._engine: Engine | None = None
        self._waits = DiscoveryWaits()

    # --- public API -------------------------------------------------------

    @property
    def peer_id(self) -> str:
        """This peer's id ("" before start)."""
        return self.transport.peer_id if self.transport is not None else ""

    def addrs(self) -> list[str]:
        """Multiaddrs other peers can dial (Go: Addrs / GetPeerAddrs)."""
        return self.transport.addrs() if self.transport is not None else []

    def peers(self) -> list[str]:
        """Remote peers known from their signed info (with or without machines)."""
        return list(self._registry.peers) if self._registry is not None else []

    def peer_links(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Remote peers' own reports of their links: peer -> (connected, mesh)."""
        if self._registry is None:
            return {}
        return {
            pid: (p.links.connected, p.links.mesh)
            for pid, p in self._registry.peers.items()
            if p.links is not None
        }

    def topic_peers(self) -> set[str]:
        """Peers the transport sees subscribed to the topic (Go: ConnCount-ish)."""
        return self.transport.topic_peers() if self.transport is not None else set()

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            raise RuntimeError("topic not started")
        return self._registry

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("topic not started")
        return self._engine

    def exposed(self) -> list[Machine]:
        if self._local is None:
            return list(self._pending_expose)
        return [lm.mach for lm in self._local.machines]

    def expose(self, mach: Machine) -> None:
        """Expose a local machine to all peers (also after start; Go: ExposedMachs).

        Raises ValueError when it breaks the wire limits or is exposed already.
        """
        if self._local is None:
            LocalRecords.describe(mach, self.settings.limits)
            if any(m is mach for m in self._pending_expose):
                raise ValueError(f"machine {mach.id} is already exposed")
            self._pending_expose.append(mach)
            return
        assert self._engine is not None
        self._local.add(mach, self._engine.on_dirty)
        if self._engine.joined:
            self._engine.schedule(Work.ANNOUNCE, trio.current_time() + self.settings.push_delay)

    def list_machines(
        self, where: MachineFilter | None = None, /, **filters: Unpack[FilterArgs]
    ) -> list[ReadOnlyMachine]:
        """Mirrors of remote machines matching every filter (Go: ListMachines): a
        :class:`MachineFilter` or its fields as keywords, on the *source* machine.
        Right after joining this is usually ``[]``: await :meth:`when_machine` or
        :meth:`wait_machines` for discovery."""
        return [mirror_of(rm) for rm in self.remote_machines(where, **filters)]

    def remote_machines(
        self, where: MachineFilter | None = None, /, **filters: Unpack[FilterArgs]
    ) -> list[RemoteMachine]:
        """Like :meth:`list_machines`, with the owner peer, index and info of each."""
        return self._select(MachineFilter.of(where, filters))

    async def when_machine(
        self, where: MachineFilter | None = None, /, **filters: Unpack[FilterArgs]
    ) -> ReadOnlyMachine:
        """The first remote machine matching the filters, once discovered (Trio style:
        no timeout, use ``trio.fail_after``; ``trio.ClosedResourceError`` on stop)."""
        return (await self.wait_machines(1, where, **filters))[0]

    async def wait_machines(
        self, n: int, where: MachineFilter | None = None, /, **filters: Unpack[FilterArgs]
    ) -> list[ReadOnlyMachine]:
        """All matching remote machines, once there are at least ``n`` of them.

        Woken by machine-discovery events (no polling); a cancelled wait leaves
        nothing registered. ``trio.ClosedResourceError`` when the topic stops
        first, ``ValueError`` for ``n < 1`` and for bad filters."""
        flt = MachineFilter.of(where, filters)
        if self._registry is None:
            raise RuntimeError("topic not started")
        found = await self._waits.until(n, flt, self._select, self._stopped)
        return [mirror_of(rm) for rm in found]

    def _select(self, flt: MachineFilter) -> list[RemoteMachine]:
        return select(self._registry, flt) if self._registry is not None else []

    def _stopped(self) -> str:
        """The topic's name once it is leaving or left (no more discoveries), else ""."""
        gone = self.mach.is_disposed() or self.mach.any1(ss.Disposing, ss.Disposed)
        return self.name if gone else ""

    def add_observer(self, fn: Observer) -> None:
        """Call ``fn(event)`` synchronously for every :class:`TopicEvent`."""
        self._observers.append(fn)

    def remove_observer(self, fn: Observer) -> None:
        self._observers.remove(fn)

    def event_channel(self, max_buffer: int = 1024) -> trio.MemoryReceiveChannel[TopicEvent]:
        """A channel of :class:`TopicEvent` (full: events dropped and counted;
        closing the receiver unsubscribes)."""
        send, recv = trio.open_memory_channel[TopicEvent](max_buffer)

        def push(ev: TopicEvent) -> None:
            try:
                send.send_nowait(ev)
            except trio.WouldBlock:
                self.metrics.events_dropped += 1
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._observers.remove(push)

        self._observers.append(push)
        return recv

    # --- internals ----------------------------------------------------------

    def _emit(self, ev: TopicEvent) -> None:
        kind = ev.kind
        if kind is EventKind.CLOCK_UPDATED:  # the frequent one: checked first, alone
            self.metrics.clock_updates += 1
        elif kind is EventKind.MACHINE_DISCOVERED:
            self._waits.wake()
        elif kind in _SEPARATION_KINDS:
            if kind is EventKind.PEER_DISCOVERED:
                self.mach.add1(ss.PeerDiscovered, {"peer_id": ev.peer_id})
            elif kind is EventKind.PEER_REMOVED:
                self.mach.add1(ss.PeerRemoved, {"peer_id": ev.peer_id, "reason": ev.reason})
            if self._engine is not None:
                self._engine.note_separation(ev)
        if self._observers:
            run_observers(self._observers, ev)

    async def _start(self, transport: GossipTransport, nursery: trio.Nursery) -> None:
        """Go: StartState + JoiningState + JoinedState, on an open transport."""
        self.transport = transport
        s = self.settings
        epoch = s.epoch if s.epoch is not None else time.time_ns() // 1000
        self._local = LocalRecords(
            transport.peer_id,
            transport.topic,
            epoch,
            transport.sign,
            s.limits,
            addrs=transport.addrs(),
        )
        self._registry = Registry(
            transport.peer_id,
            self._mirror_factory,
            self.schemas,
            self._emit,
            s.budgets,
            rejected=self.metrics.rejected,
        )
        self._engine = Engine(
            self.mach, transport, self._local, self._registry, s, self.metrics, self._emit
        )
        for m in self._pending_expose:
            self._local.add(m, self._engine.on_dirty)
        self._pending_expose = []
        self.mach.tags.append(f"peer:{transport.peer_id}")
        self.mach.add1(ss.Started, {"peer_id": transport.peer_id})
        self.mach.add1(ss.Connecting)
        self.mach.add1(ss.Connected)
        self.mach.add1(ss.Joining)
        self.mach.add1(ss.Joined)
        self._engine.joined = True
        nursery.start_soon(self._recv_loop, transport)
        nursery.start_soon(self._events_loop, transport)
        nursery.start_soon(self._engine.run)
        nursery.start_soon(self._heartbeat_loop)
        nursery.start_soon(self._hello)

    async def _recv_loop(self, transport: GossipTransport) -> None:
        engine = self.engine
        async for gm in transport.messages:
            engine.on_message(gm)

    async def _events_loop(self, transport: GossipTransport) -> None:
        engine = self.engine
        async for ev in transport.peer_events:
            engine.on_peer_event(ev)

    async def _heartbeat_loop(self) -> None:
        engine = self.engine
        hb = self.settings.heartbeat
        if hb <= 0:
            return
        while True:
            await trio.sleep(hb * (0.9 + 0.2 * engine.rng.random()))
            self.mach.add1(ss.Heartbeat)
            engine.heartbeat(trio.current_time())
            self.mach.remove1(ss.Heartbeat)

    async def _hello(self) -> None:
        """Go: the delayed hello after Joined (here also with nothing exposed)."""
        engine = self.engine
        assert self.transport is not None
        with trio.move_on_after(self.settings.hello_wait):
            while not self.transport.topic_peers():
                await trio.sleep(min(0.05, self.settings.hello_wait / 10))
        await trio.sleep(self.settings.hello_delay * engine.rng.random())
        engine.schedule(Work.HELLO, trio.current_time())
        step = self.settings.hello_retry / 4
        while engine.hello.sent <= self.settings.hello_retries:
            await trio.sleep(step)
            if engine.hello.done():
                return
            engine.check_hello(trio.current_time())

    async def _stop(self) -> None:
        """Go: Dispose (plus the bye Go never sends): announce leave, drop mirrors."""
        self.mach.add1(ss.Disposing)
        self._waits.wake()
        if self._engine is not None:
            with trio.move_on_after(1.0) as cs:
                cs.shield = True
                await self._engine.send_bye()
        if self._local is not None:
            self._local.detach()
        if self._registry is not None:
            self._registry.dispose_all(trio.current_time())

    def _finish(self) -> None:
        self.mach.add1(ss.Disposed)
        self.mach.dispose()
        self._waits.wake()


@asynccontextmanager
async def open_topic(
    name: str,
    *,
    listen: Sequence[str] = ("/ip4/127.0.0.1/tcp/0",),
    bootstrap: Sequence[str] = (),
    expose: Iterable[Machine] = (),
    transport: GossipTransport | None = None,
    settings: TopicSettings | None = None,
    suffix: str = "",
    **transport_options: Any,
) -> AsyncIterator[Topic]:
    """Join topic ``name`` and sync exposed machines until the block exits.

    With ``transport=None`` a py-libp2p GossipSub host is opened on ``listen``
    and dials ``bootstrap`` (extra keyword arguments go to
    :func:`open_libp2p_transport`); otherwise the given transport is used and
    ``bootstrap`` addresses are dialled through it. On exit the peer says bye,
    its mirrors are disposed and the Topic machine ends in ``Disposed``.
    """
    topic = Topic(name, expose=expose, settings=settings, suffix=suffix)
    topic.mach.add1(ss.Start)
    async with AsyncExitStack() as stack:
        if transport is None:
            from ._libp2p_open import open_libp2p_transport

            try:
                transport = await stack.enter_async_context(
                    open_libp2p_transport(
                        name, listen=list(listen), bootstrap=list(bootstrap), **transport_options
                    )
                )
            except Exception as e:
                topic.mach.add_err_state(ss.ErrConnecting, e)
                raise
        else:
            for addr in bootstrap:
                await transport.connect(addr)
        try:
            async with trio.open_nursery() as nursery:
                await topic._start(transport, nursery)
                try:
                    yield topic
                finally:
                    await topic._stop()
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # the nursery wraps even the body's own exception: give the caller that one
            leaf = _single(group)
            if leaf is None:
                raise
            raise leaf from None
        finally:
            topic._finish()


def _single(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The only exception in (nested) single-member groups, else None."""
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        if len(exc.exceptions) != 1:
            return None
        exc = exc.exceptions[0]
    return exc


__all__ = ["Topic", "make_mirror", "open_topic"]
