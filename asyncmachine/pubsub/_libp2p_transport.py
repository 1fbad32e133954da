"""The real :class:`GossipTransport`: py-libp2p GossipSub on a tuned host.

Go: the topic's ``*ps.Topic`` / ``*ps.Subscription`` over go-libp2p-pubsub. One transport
is one host subscribed to one topic::

    async with open_libp2p_transport("am", bootstrap=[addr]) as t:
        await t.publish(b"...")
        async for msg in t.messages: ...

Raw latency (publish → deliver) for benchmarks: ``GossipMessage.received_at`` is
``trio.current_time()`` taken synchronously when libp2p hands the message over, before
any channel queueing. For hosts in the same ``trio.run``, put ``trio.current_time()`` of
the send into the payload and subtract it from ``received_at``. Trio's clock has a
random per-run offset, so across processes embed ``time.monotonic()`` instead and
convert at read time: ``time.monotonic() - (trio.current_time() - msg.received_at)``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Literal

import multiaddr
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.keys import KeyPair
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.pubsub.pb import rpc_pb2
from libp2p.tools.anyio_service import background_trio_service

from asyncmachine.pubsub._connect import ConnectCounters, ConnectSettings
from asyncmachine.pubsub._connect_book import AddressSource
from asyncmachine.pubsub._connect_libp2p import (
    BootstrapError,
    DialError,
    Libp2pConnector,
    mdns_discovery,
)
from asyncmachine.pubsub._libp2p_host import (
    HostParts,
    build_host,
    check_dialable,
    check_listening,
    load_or_create_key,
    parse_bootstrap_addrs,
    parse_listen_addrs,
    parse_peer_addr,
    peer_id_of,
    route_libp2p_logs,
    transport_of,
    verify_key_of,
    without_harmless_teardown_errors,
)
from asyncmachine.pubsub._transport import (
    GossipMessage,
    GossipTransport,
    PeerEvent,
    PeerEventKind,
)
from asyncmachine.pubsub._wire import FifoCache, process_cache

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "BootstrapError",
    "DialError",
    "Libp2pTransport",
    "TransportCounters",
    "load_or_create_key",
    "open_libp2p_transport",
    "peer_id_of",
]

logger = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 1_000_000
"""Largest payload :meth:`Libp2pTransport.publish` accepts (libp2p RPCs are capped at 1 MiB)."""

SIGNATURE_DOMAIN = b"asyncmachine-pubsub:"
"""Prefix of everything :meth:`Libp2pTransport.sign` signs, so these signatures can never
pass as libp2p's own (pubsub messages, peer records) made with the same key."""

_MAINTENANCE_INTERVAL = 30.0
_AUTHOR_CACHE_SIZE = 4096
_VERIFIED: FifoCache[tuple[str, bytes, bytes], bool] = process_cache(
    "verified signatures", 8192, max_weight=64 << 20, weigh=lambda k: len(k[2])
)
"""Valid (peer id, signature, data) triples (cleared by ``clear_caches``)."""


@dataclass(slots=True)
class TransportCounters:
    """Traffic counters; bytes are payload bytes (no libp2p framing, no relays).

    ``received`` counts every message from another author that reached this peer;
    ``dropped`` is the part of it that did not fit into ``messages``.
    ``outbound_dropped`` counts RPCs (own or relayed messages, control) libp2p dropped
    because a neighbour's 32-deep send queue was full: publishing faster than the
    network drains loses messages there, silently in libp2p. ``undecodable_rpcs`` counts
    inbound pubsub RPCs that did not parse (the sender's stream is reset).
    """

    published: int = 0
    bytes_published: int = 0
    received: int = 0
    bytes_received: int = 0
    dropped: int = 0
    peer_events_dropped: int = 0
    outbound_dropped: int = 0
    undecodable_rpcs: int = 0


@dataclass(frozen=True, slots=True)
class _Settings:
    dial_timeout: float
    max_concurrent_dials: int
    connections: ConnectSettings
    mdns: bool
    shutdown_grace: float
    shutdown_timeout: float


class Libp2pTransport(GossipTransport):
    """One libp2p host subscribed to one GossipSub topic. Create with
    :func:`open_libp2p_transport`.

    ``topic_peers()`` and the JOINED/LEFT events cover directly connected peers that are
    subscribed to the topic; authors further away (relayed messages) need not be in it.

    Connections are kept between ``low`` and ``high`` watermarks by a
    :class:`~asyncmachine.pubsub._connect.ConnectionManager`; it learns addresses from
    bootstrap, identify, gossipsub PX, one-hop DHT queries and :meth:`learn_addresses`
    (see :mod:`asyncmachine.pubsub._connect_libp2p`).
    """

    def __init__(
        self,
        parts: HostParts,
        topic: str,
        settings: _Settings,
        message_buffer: int,
        peer_event_buffer: int,
    ) -> None:
        self._host = parts.host
        self._router = parts.router
        self._pubsub = parts.pubsub
        self._topic = topic
        self._settings = settings
        self._tasks: trio.Nursery | None = None  # redials and maintenance, set by _running
        self._own_id = parts.host.get_id()
        self._own_id_bytes = self._own_id.to_bytes()
        self._peer_id = self._own_id.to_base58()
        self._private_key = parts.host.get_private_key()
        self._transports = {str(transport_of(a)) for a in parts.host.get_transport_addrs()}
        self._msg_send, self._msg_recv = trio.open_memory_channel[GossipMessage](message_buffer)
        self._ev_send, self._ev_recv = trio.open_memory_channel[PeerEvent](peer_event_buffer)
        self._known_peers: set[str] = set()
        self._authors: dict[bytes, str] = {}
        self._counters = TransportCounters()
        self._closed = False
        self._connector = Libp2pConnector(
            parts.host,
            parts.dht,
            self._transports,
            settings.connections,
            dial_timeout=settings.dial_timeout,
            max_concurrent_dials=settings.max_concurrent_dials,
            favoured=self._in_mesh,
        )
        parts.pubsub.on_message = self._on_message
        parts.pubsub.on_topic_peers_changed = self._sync_topic_peers
        parts.router.on_px = self._connector.on_px

    # ------------------------------------------------------------------ GossipTransport

    @property
    def peer_id(self) -> str:
        return self._peer_id

    @property
    def topic(self) -> str:
        return self._topic

    def addrs(self) -> list[str]:
        return [str(addr) for addr in self._host.get_addrs()]

    @property
    def messages(self) -> trio.MemoryReceiveChannel[GossipMessage]:
        return self._msg_recv

    @property
    def peer_events(self) -> trio.MemoryReceiveChannel[PeerEvent]:
        return self._ev_recv

    @property
    def dropped(self) -> int:
        return self._counters.dropped

    @property
    def counters(self) -> TransportCounters:
        """A snapshot of the traffic counters."""
        return replace(
            self._counters,
            outbound_dropped=self._router.dropped_rpcs,
            undecodable_rpcs=self._pubsub.undecodable_rpcs,
        )

    async def publish(self, data: bytes) -> None:
        """Publish ``data``; raises ValueError above MAX_PAYLOAD_BYTES, ClosedResourceError
        after close."""
        if self._closed:
            raise trio.ClosedResourceError("the libp2p transport is closed")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"payload must be bytes, not {type(data).__name__}")
        payload = bytes(data)
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
        await self._pubsub.publish(self._topic, payload)
        self._counters.published += 1
        self._counters.bytes_published += len(payload)

    def sign(self, data: bytes) -> bytes:
        """ed25519 signature of ``SIGNATURE_DOMAIN + data`` with the host key."""
        signature: bytes = self._private_key.sign(SIGNATURE_DOMAIN + data)
        return signature

    def verify(self, peer_id: str, data: bytes, signature: bytes) -> bool:
        """Check a :meth:`sign` signature against the key embedded in ``peer_id``.

        Never raises: malformed ids, data or signatures give False. Valid signatures
        are remembered per process (ed25519 verification is pure and costs ~0.1 ms;
        peers sharing a process verify each record once).
        """
        ck = (peer_id, signature, data)
        try:
            if _VERIFIED.get(ck):
                return True
            key = verify_key_of(peer_id)
            if key is None:
                return False
            key.verify(SIGNATURE_DOMAIN + data, signature)
        except Exception:
            return False
        _VERIFIED.put(ck, True)
        return True

    def topic_peers(self) -> set[str]:
        return set(self._known_peers)

    def connected_peers(self) -> set[str]:
        return {pid.to_base58() for pid in self._host.get_connected_peers()}

    def mesh_peers(self) -> set[str]:
        return {pid.to_base58() for pid in self._router.mesh.get(self._topic, ())}

    async def connect(self, addr: str) -> None:
        """Dial ``addr`` (full multiaddr with /p2p); ValueError if malformed or our own,
        DialError (a ConnectionError) if unreachable."""
        if self._closed:
            raise trio.ClosedResourceError("the libp2p transport is closed")
        info = parse_peer_addr(addr)
        if info.peer_id == self._own_id:
            raise ValueError(f"bad peer address {addr!r}: it is this peer's own id")
        check_dialable(addr, info, self._transports)
        await self._connector.dial_info(addr, info)
        self._connector.learn(info.peer_id.to_base58(), [addr], AddressSource.BOOTSTRAP)

    async def disconnect(self, peer_id: str) -> None:
        """Close every connection to ``peer_id`` (a no-op if there is none); the
        connection manager then waits a backoff period before it dials it again."""
        try:
            pid = ID.from_base58(peer_id)
        except Exception:
            raise ValueError(f"bad peer id {peer_id!r}") from None
        self._connector.manager.hold_off(peer_id)
        await self._host.disconnect(pid)

    # ------------------------------------------------------------------ connection manager

    def learn_addresses(
        self, peer_id: str, addrs: Sequence[str], source: AddressSource = AddressSource.RECORD
    ) -> bool:
        """Remember where ``peer_id`` listens, so the connection manager can dial it.

        For the pubsub engine: call it with the listen addresses from a record whose
        signature by ``peer_id`` was verified. Addresses this host cannot use (other
        peer's ``/p2p``, foreign transport, a remote loopback, our own) and everything
        beyond the per-peer bound are dropped and counted; never raises for bad input.
        True if at least one address was kept.
        """
        if not isinstance(peer_id, str) or isinstance(addrs, str):
            return False
        return self._connector.learn(peer_id, addrs, source)

    def note_links(self, peer_id: str, connected: Sequence[str]) -> None:
        """``peer_id``'s own connections (from its link reports): trimming keeps peers
        that few of our other neighbours reach, and drops hubs first."""
        self._connector.manager.note_links(peer_id, connected)

    def known_peers(self) -> dict[str, list[str]]:
        """Every peer in the address book with its full multiaddrs (``…/p2p/<id>``),
        newest first: what a node persists to rejoin without its bootstrap peers."""
        return self._connector.known_peers()

    @property
    def connection_counters(self) -> ConnectCounters:
        """Known/connected peers, dial attempts/failures, trims, dropped addresses."""
        return self._connector.counters

    def _in_mesh(self, peer_id: str) -> bool:
        return any(pid.to_base58() == peer_id for pid in self._router.mesh.get(self._topic, ()))

    # ------------------------------------------------------------------ libp2p callbacks

    def _on_message(self, msg: rpc_pb2.Message) -> None:
        if self._closed or msg.from_id == self._own_id_bytes:
            return
        author = self._authors.get(msg.from_id)
        if author is None:
            if len(self._authors) >= _AUTHOR_CACHE_SIZE:
                self._authors.clear()
            author = self._authors[msg.from_id] = ID(msg.from_id).to_base58()
        data: bytes = msg.data
        self._counters.received += 1
        self._counters.bytes_received += len(data)
        try:
            self._msg_send.send_nowait(GossipMessage(author, data, trio.current_time()))
        except (trio.WouldBlock, trio.BrokenResourceError):
            self._counters.dropped += 1

    def _sync_topic_peers(self) -> None:
        if self._closed:
            return
        current = {pid.to_base58() for pid in self._pubsub.peer_topics.get(self._topic, ())}
        joined, left = current - self._known_peers, self._known_peers - current
        self._known_peers = current
        for kind, peers in ((PeerEventKind.LEFT, left), (PeerEventKind.JOINED, joined)):
            for pid in sorted(peers):
                try:
                    self._ev_send.send_nowait(PeerEvent(kind, pid))
                except trio.WouldBlock:
                    self._counters.peer_events_dropped += 1
                    logger.warning("peer_events full: dropped %s %s", kind.value, pid)
                except trio.BrokenResourceError:
                    pass

    # ------------------------------------------------------------------ lifecycle

    async def _maintain(self) -> None:
        """Work around libp2p leaks that only its adaptive-gossip code would prune."""
        while True:
            await trio.sleep(_MAINTENANCE_INTERVAL)
            self._router.recent_message_deliveries.clear()
            self._router.recent_peer_connections.clear()

    async def _shutdown(self) -> None:
        """Unsubscribe, let that flush, then stop router, pubsub and host (bounded)."""
        self._closed = True
        settings = self._settings
        with trio.move_on_after(settings.shutdown_timeout) as cs:
            try:  # best effort: tells neighbours at once, and stops inbound publishes
                await self._pubsub.unsubscribe(self._topic)
            except Exception as e:
                logger.warning("libp2p host %s: unsubscribe failed: %r", self._peer_id, e)
            await trio.sleep(settings.shutdown_grace)
            await self._router.manager.stop()
            await self._pubsub.manager.stop()
            await self._host.close()
        if cs.cancelled_caught:
            logger.warning(
                "libp2p host %s: shutdown took over %g s", self._peer_id, settings.shutdown_timeout
            )
        self._msg_send.close()
        self._ev_send.close()


async def _forward_cancellation(scope: trio.CancelScope) -> None:
    """Cancel ``scope`` when the caller is cancelled (or when this task is ended)."""
    try:
        await trio.sleep_forever()
    finally:
        scope.cancel()


@asynccontextmanager
async def _running(
    parts: HostParts,
    topic: str,
    listen_addrs: list[multiaddr.Multiaddr],
    peers: list[tuple[str, PeerInfo]],
    settings: _Settings,
    buffers: tuple[int, int],
) -> AsyncIterator[Libp2pTransport]:
    """Run the host inside a shield, so that a cancelled caller still gets a graceful
    shutdown (libp2p sends and closes from its own, otherwise cancelled, tasks). The
    caller's cancellation reaches the body through a watcher task outside the shield.
    """
    await trio.lowlevel.checkpoint_if_cancelled()  # the shield would hide it until later
    async with trio.open_nursery() as watcher:
        with trio.CancelScope(shield=True) as shield:
            async with (
                parts.host.run(listen_addrs=listen_addrs),
                background_trio_service(parts.pubsub),
                background_trio_service(parts.router),
            ):
                check_listening(parts.host, listen_addrs)
                await parts.pubsub.wait_until_ready()
                transport = Libp2pTransport(parts, topic, settings, *buffers)
                try:
                    async with trio.open_nursery() as transport._tasks:
                        with trio.CancelScope() as body:
                            watcher.start_soon(_forward_cancellation, body)
                            await parts.pubsub.subscribe(topic)
                            await transport._connector.bootstrap(peers)
                            transport._tasks.start_soon(transport._maintain)
                            transport._tasks.start_soon(transport._connector.run)
                            with contextlib.ExitStack() as lan:
                                if settings.mdns:
                                    lan.enter_context(
                                        mdns_discovery(parts.host, transport._connector)
                                    )
                                yield transport
                        transport._tasks.cancel_scope.cancel()
                finally:
                    shield.deadline = trio.current_time() + 2 * settings.shutdown_timeout
                    await transport._shutdown()
        if shield.cancelled_caught:
            logger.warning("libp2p host %s: teardown timed out", transport.peer_id)
        await trio.lowlevel.checkpoint_if_cancelled()  # re-raise the caller's cancellation
        watcher.cancel_scope.cancel()


@asynccontextmanager
async def open_libp2p_transport(
    topic: str,
    *,
    listen: Sequence[str] = ("/ip4/127.0.0.1/tcp/0",),
    bootstrap: Sequence[str] = (),
    key_pair: KeyPair | None = None,
    heartbeat_interval: float = 1.0,
    degree: int = 6,
    degree_low: int = 4,
    degree_high: int = 12,
    muxer: Literal["yamux", "mplex"] = "yamux",
    message_buffer: int = 1024,
    peer_event_buffer: int = 1024,
    dial_timeout: float = 10.0,
    max_concurrent_dials: int = 10,
    redial_initial: float = 1.0,
    redial_max: float = 30.0,
    connections: ConnectSettings | None = None,
    mdns: bool = False,
    shutdown_grace: float = 0.2,
    shutdown_timeout: float = 5.0,
) -> AsyncIterator[Libp2pTransport]:
    """Run a tuned libp2p host subscribed to ``topic`` and yield its transport.

    ``listen``: TCP (``/ip4/…/tcp/N``) and/or QUIC (``/ip4/…/udp/N/quic-v1``) addresses.
    ``bootstrap``: full multiaddrs (``…/p2p/<id>``), dialled concurrently
    (``max_concurrent_dials`` at once); if all fail, BootstrapError; failed ones are
    otherwise retried in the background with exponential backoff (``redial_initial`` …
    ``redial_max`` seconds). Malformed addresses raise ValueError before any host starts.
    ``connections``: the connection manager's watermarks and rates; by default ``low`` /
    ``high`` are ``degree_low`` / ``degree_high`` and its backoff is ``redial_initial`` …
    ``redial_max`` (when given, those two are ignored). ``mdns``: also find peers on
    the LAN by multicast DNS (opt-in: it announces this host to the whole segment).
    ``key_pair``: ed25519 identity (see :func:`load_or_create_key`); random if None.
    GossipSub: ``heartbeat_interval`` seconds, mesh ``degree``/``degree_low``/
    ``degree_high``. Channel sizes: ``message_buffer``, ``peer_event_buffer``.
    On exit (also when cancelled) the host unsubscribes, waits ``shutdown_grace`` and
    stops, within ``shutdown_timeout``.
    """
    if not isinstance(topic, str) or not topic:
        raise ValueError(f"topic must be a non-empty string, got {topic!r}")
    listen_addrs = parse_listen_addrs(listen)
    peers = parse_bootstrap_addrs(bootstrap)
    for name, value in (
        ("message_buffer", message_buffer),
        ("peer_event_buffer", peer_event_buffer),
        ("max_concurrent_dials", max_concurrent_dials),
    ):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    for name, seconds in (
        ("dial_timeout", dial_timeout),
        ("redial_initial", redial_initial),
        ("redial_max", redial_max),
        ("shutdown_timeout", shutdown_timeout),
    ):
        if seconds <= 0:
            raise ValueError(f"{name} must be > 0, got {seconds}")
    if connections is None:
        connections = ConnectSettings(
            low=degree_low,
            high=max(degree_low, degree_high),
            backoff_initial=redial_initial,
            backoff_max=max(redial_initial, redial_max),
        )
    settings = _Settings(
        dial_timeout,
        max_concurrent_dials,
        connections,
        mdns,
        max(0.0, shutdown_grace),
        shutdown_timeout,
    )
    transports = {str(transport_of(a)) for a in listen_addrs}
    for addr, info in peers:
        check_dialable(addr, info, transports, "bootstrap")
    route_libp2p_logs()
    parts = build_host(
        key_pair or create_new_key_pair(),
        topic,
        listen_addrs,
        heartbeat_interval=heartbeat_interval,
        degree=degree,
        degree_low=degree_low,
        degree_high=degree_high,
        muxer=muxer,
    )
    remaining: BaseException | None = None
    try:
        async with _running(
            parts, topic, listen_addrs, peers, settings, (message_buffer, peer_event_buffer)
        ) as transport:
            yield transport
    except BaseExceptionGroup as group:  # nurseries wrap even the body's own errors
        remaining = without_harmless_teardown_errors(group)
    finally:
        parts.pubsub.seen_messages.stop()
    if remaining is not None:
        raise remaining  # outside the except: no self-referencing __context__
