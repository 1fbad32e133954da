"""An in-memory gossip network implementing :class:`GossipTransport` (tests, simulation).

``MemoryNetwork`` delivers every published message to every other subscriber
of the topic, immediately by default. Hooks make it a base for richer models:

- ``delay(author, receiver, data) -> float | None``: seconds before a delivery
  (``None`` drops it); deliveries with a delay run in the network's nursery,
  so the network must then be entered (``async with network:``);
- override :meth:`MemoryNetwork.deliver` for a mesh/latency/loss model;
- or write a network of your own on :class:`InboxTransport` (public: the
  simulator's model network is one), feeding each peer through
  :meth:`InboxTransport.push_message` / :meth:`InboxTransport.push_peer_event`
  and ending it with :meth:`InboxTransport.close`.

Signatures are keyed BLAKE2b MACs with a per-peer secret the network holds.
This is for simulation only: anyone holding the network object can forge
signatures, but a *peer* (a :class:`MemoryTransport`) can only sign as itself,
which is what the Topic's authenticity checks need.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from types import TracebackType

import trio

from .._lifetime import Lifetime
from ._transport import GossipMessage, PeerEvent, PeerEventKind

log = logging.getLogger(__name__)

DelayFn = Callable[[str, str, bytes], float | None]


class MemoryNetwork:
    """A set of in-memory peers and topics (Go: none; test/sim helper)."""

    def __init__(
        self,
        *,
        seed: int = 0,
        delay: DelayFn | None = None,
        buffer: int = 4096,
        peer_prefix: str = "mem-",
    ) -> None:
        self._rng = random.Random(seed)
        self.delay = delay
        self.buffer = buffer
        self.peer_prefix = peer_prefix
        self._secrets: dict[str, bytes] = {}
        self._subs: dict[str, dict[str, MemoryTransport]] = {}  # topic -> peer -> transport
        self._count = 0
        self._nursery: trio.Nursery | None = None
        self._lifetime = Lifetime(self._serve, "the MemoryNetwork")

    # --- lifecycle (only needed with a delay hook) ---

    async def __aenter__(self) -> MemoryNetwork:
        return await self._lifetime.enter()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await self._lifetime.exit(exc_type, exc, tb)

    @asynccontextmanager
    async def _serve(self) -> AsyncIterator[MemoryNetwork]:
        """The nursery delayed deliveries run in; undelivered ones are dropped on exit."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                yield self
            finally:
                self._nursery = None
                nursery.cancel_scope.cancel()

    # --- peers ---

    def new_peer_id(self) -> str:
        self._count += 1
        return f"{self.peer_prefix}{self._count:04d}"

    def _secret(self, peer_id: str) -> bytes:
        s = self._secrets.get(peer_id)
        if s is None:
            s = self._rng.randbytes(32)
            self._secrets[peer_id] = s
        return s

    def sign_as(self, peer_id: str, data: bytes) -> bytes:
        """A MAC of ``data`` by ``peer_id`` (simulation-only signature)."""
        return hashlib.blake2b(data, key=self._secret(peer_id), digest_size=16).digest()

    def verify(self, peer_id: str, data: bytes, signature: bytes) -> bool:
        if peer_id not in self._secrets:
            return False
        return hmac.compare_digest(self.sign_as(peer_id, data), signature)

    def subscribers(self, topic: str) -> dict[str, MemoryTransport]:
        return self._subs.get(topic, {})

    @asynccontextmanager
    async def join(self, topic: str, peer_id: str | None = None) -> AsyncIterator[MemoryTransport]:
        """A transport for a new peer subscribed to ``topic`` (left on exit)."""
        pid = peer_id or self.new_peer_id()
        self._secret(pid)
        t = MemoryTransport(self, topic, pid)
        subs = self._subs.setdefault(topic, {})
        if pid in subs:
            raise ValueError(f"peer {pid} already joined {topic!r}")
        for other in subs.values():
            other.push_peer_event(PeerEvent(PeerEventKind.JOINED, pid))
            t.push_peer_event(PeerEvent(PeerEventKind.JOINED, other.peer_id))
        subs[pid] = t
        try:
            yield t
        finally:
            self.leave(t)

    def leave(self, t: MemoryTransport) -> None:
        """Unsubscribe ``t`` (also what a crash looks like: no bye is sent)."""
        subs = self._subs.get(t.topic, {})
        if subs.get(t.peer_id) is not t:
            return
        del subs[t.peer_id]
        t.close()
        for other in subs.values():
            other.push_peer_event(PeerEvent(PeerEventKind.LEFT, t.peer_id))

    # --- delivery ---

    def deliver(self, author: MemoryTransport, data: bytes) -> None:
        """Deliver ``data`` from ``author`` to every other subscriber."""
        now = trio.current_time()
        for pid, t in list(self.subscribers(author.topic).items()):
            if pid == author.peer_id:
                continue
            if self.delay is None:
                t.push_message(GossipMessage(author.peer_id, data, now))
                continue
            d = self.delay(author.peer_id, pid, data)
            if d is None:
                continue
            if d <= 0:
                t.push_message(GossipMessage(author.peer_id, data, now))
            else:
                if self._nursery is None:
                    raise RuntimeError("a MemoryNetwork with delays must be entered (async with)")
                self._nursery.start_soon(self._later, t, author.peer_id, data, d)

    async def _later(self, t: MemoryTransport, author: str, data: bytes, d: float) -> None:
        await trio.sleep(d)
        t.push_message(GossipMessage(author, data, trio.current_time()))


class InboxTransport:
    """The receive side of an in-memory :class:`GossipTransport`: a public base
    for custom network models (the simulator's ``ModelTransport`` is one).

    A subclass adds the send side (``topic``, ``publish``, ``sign``,
    ``verify``, the peer sets, ``connect``); its network feeds it with
    :meth:`push_message` and :meth:`push_peer_event` and ends it with
    :meth:`close`. Messages queue in a channel of ``buffer`` slots (a full one
    drops and counts in :attr:`dropped`); peer events never drop.
    """

    def __init__(self, peer_id: str, buffer: float) -> None:
        self._peer_id = peer_id
        self._send_msgs, self._msgs = trio.open_memory_channel[GossipMessage](buffer)
        self._send_events, self._events = trio.open_memory_channel[PeerEvent](math.inf)
        self._dropped = 0
        self.closed = False
        """Set by :meth:`close`: the peer left, nothing is delivered anymore."""

    @property
    def peer_id(self) -> str:
        return self._peer_id

    def addrs(self) -> list[str]:
        return [f"/memory/{self._peer_id}/p2p/{self._peer_id}"]

    @property
    def messages(self) -> trio.MemoryReceiveChannel[GossipMessage]:
        return self._msgs

    @property
    def peer_events(self) -> trio.MemoryReceiveChannel[PeerEvent]:
        return self._events

    @property
    def dropped(self) -> int:
        return self._dropped

    def push_message(self, msg: GossipMessage) -> bool:
        """Queue a message received from the network; False if it was dropped
        (the queue is full, counted in :attr:`dropped`, or the transport is closed)."""
        if self.closed:
            return False
        try:
            self._send_msgs.send_nowait(msg)
        except trio.WouldBlock:
            self._dropped += 1
            return False
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return False
        return True

    def push_peer_event(self, ev: PeerEvent) -> None:
        """Queue a peer joining or leaving the topic (ignored once closed)."""
        with suppress(trio.ClosedResourceError, trio.BrokenResourceError):
            self._send_events.send_nowait(ev)

    def close(self) -> None:
        """End both receive channels (the Topic's loops then finish); idempotent."""
        self.closed = True
        self._send_msgs.close()
        self._send_events.close()


class MemoryTransport(InboxTransport):
    """One peer's view of a :class:`MemoryNetwork` topic (a GossipTransport)."""

    def __init__(self, network: MemoryNetwork, topic: str, peer_id: str) -> None:
        super().__init__(peer_id, network.buffer)
        self.network = network
        self._topic = topic
        # a test hook: return False to drop an incoming message at this peer
        self.accept: Callable[[GossipMessage], bool] | None = None

    @property
    def topic(self) -> str:
        return self._topic

    async def publish(self, data: bytes) -> None:
        if self.closed:
            raise trio.ClosedResourceError("transport closed")
        self.network.deliver(self, data)
        await trio.lowlevel.checkpoint()

    def sign(self, data: bytes) -> bytes:
        return self.network.sign_as(self._peer_id, data)

    def verify(self, peer_id: str, data: bytes, signature: bytes) -> bool:
        return self.network.verify(peer_id, data, signature)

    def topic_peers(self) -> set[str]:
        return {p for p in self.network.subscribers(self._topic) if p != self._peer_id}

    def connected_peers(self) -> set[str]:
        return self.topic_peers()

    def mesh_peers(self) -> set[str]:
        return self.topic_peers()

    async def connect(self, addr: str) -> None:
        parts = addr.split("/")
        if len(parts) < 3 or parts[1] != "memory" or not parts[2]:
            raise ValueError(f"bad memory multiaddr {addr!r} (expected /memory/<peer>)")
        if parts[2] not in self.network._secrets:
            raise ConnectionError(f"unknown memory peer {parts[2]}")
        await trio.lowlevel.checkpoint()

    def push_message(self, msg: GossipMessage) -> bool:
        """Like :meth:`InboxTransport.push_message`, after the ``accept`` test hook."""
        if self.accept is not None and not self.accept(msg):
            return False
        return super().push_message(msg)
