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

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, replace

import trio
from libp2p.abc import IHost
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2

from asyncmachine.pubsub._connect_book import AddressSource
from asyncmachine.pubsub._connect_libp2p import (
    Libp2pConnector,
)
from asyncmachine.pubsub._connect_policy import ConnectCounters, ConnectSettings
from asyncmachine.pubsub._engine import AppScoreFn, ValidatorFn
from asyncmachine.pubsub._libp2p_counters import TransportCounters
from asyncmachine.pubsub._libp2p_host import (
    HostParts,
    check_dialable,
    parse_peer_addr,
    transport_of,
)
from asyncmachine.pubsub._libp2p_keys import verify_key_of
from asyncmachine.pubsub._libp2p_validation import TopicValidation
from asyncmachine.pubsub._transport import (
    GossipMessage,
    GossipTransport,
    PeerEvent,
    PeerEventKind,
)
from asyncmachine.pubsub._wire import FifoCache, process_cache

logger = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 1_000_000
"""Largest payload :meth:`Libp2pTransport.publish` accepts (libp2p RPCs are capped at 1 MiB)."""

SIGNATURE_DOMAIN = b"asyncmachine-pubsub:"
"""Prefix of everything :meth:`Libp2pTransport.sign` signs, so these signatures can never
pass as libp2p's own (pubsub messages, peer records) made with the same key."""

_MAINTENANCE_INTERVAL = 30.0
_REPAIR_INTERVAL = 5.0
_AUTHOR_CACHE_SIZE = 4096
_VERIFIED: FifoCache[tuple[str, bytes, bytes], bool] = process_cache(
    "verified signatures", 8192, max_weight=64 << 20, weigh=lambda k: len(k[2])
)
"""Valid (peer id, signature, data) triples (cleared by ``clear_caches``)."""


@dataclass(frozen=True, slots=True)
class _Settings:
    dial_timeout: float
    max_concurrent_dials: int
    connections: ConnectSettings
    mdns: bool
    shutdown_grace: float
    shutdown_timeout: float
    graylist_backoff: float


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
        self._validation = TopicValidation(
            parts,
            topic,
            backoff=settings.graylist_backoff,
            author_of=self._author_of,
            disconnect=self.disconnect,
            spawn=self._spawn,
        )
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
    def author_signed(self) -> bool:
        """py-libp2p checks every message's author signature (strict signing) before
        it reaches :meth:`_validate` or :attr:`messages` (see :class:`AuthorSigned`)."""
        return bool(self._pubsub.strict_signing)

    @property
    def host(self) -> IHost:
        """The py-libp2p host: for protocols of their own on the same identity and
        connections (:mod:`asyncmachine.rpc` registers its stream protocol here)."""
        return self._host

    @property
    def counters(self) -> TransportCounters:
        """A snapshot of the traffic counters."""
        return replace(
            self._counters,
            outbound_dropped=self._router.dropped_rpcs,
            undecodable_rpcs=self._pubsub.undecodable_rpcs,
            rejected=self._validation.rejected,
            ignored=self._validation.ignored,
            graylisted=self._validation.graylisted,
            **asdict(self._router.gossip),
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

    # ------------------------------------------------------------------ validation

    def set_validator(self, validator: ValidatorFn | None) -> None:
        """Judge every message of the topic with ``validator(author, forwarder, data)``
        before it is relayed or delivered (a synchronous gossipsub topic validator;
        None removes it). See :mod:`asyncmachine.pubsub._libp2p_validation` for what a
        refusal costs the forwarder."""
        self._validation.set_validator(validator)

    @property
    def validator(self) -> ValidatorFn | None:
        """The installed validator (None: every message is relayed and delivered)."""
        return self._validation.validator

    def set_app_score(self, app_score: AppScoreFn | None) -> None:
        """The application term of every neighbour's gossipsub score (Go: P5),
        ``app_score(peer_id) <= 0``; None: zero."""
        self._validation.set_app_score(app_score)

    def _spawn(self, task: Callable[[], Awaitable[None]]) -> bool:
        if self._tasks is None:
            return False
        self._tasks.start_soon(task)
        return True

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

    def note_separated(self, peer_id: str, separated: bool) -> None:
        """See ``SelfOrganizing.note_separated``."""
        self._connector.manager.note_separated(peer_id, separated)

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
        author = self._author_of(msg.from_id)
        data: bytes = msg.data
        self._counters.received += 1
        self._counters.bytes_received += len(data)
        try:
            self._msg_send.send_nowait(GossipMessage(author, data, trio.current_time()))
        except (trio.WouldBlock, trio.BrokenResourceError):
            self._counters.dropped += 1

    def _author_of(self, from_id: bytes) -> str:
        author = self._authors.get(from_id)
        if author is None:
            if len(self._authors) >= _AUTHOR_CACHE_SIZE:
                self._authors.clear()
            author = self._authors[from_id] = ID(from_id).to_base58()
        return author

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
        """Work around libp2p leaks that only its adaptive-gossip code would prune, and
        reopen sending streams it gave up on (``TopicPubsub.repair_streams``)."""
        every = int(_MAINTENANCE_INTERVAL // _REPAIR_INTERVAL)
        rounds = 0
        while True:
            await trio.sleep(_REPAIR_INTERVAL)
            if repaired := self._pubsub.repair_streams(trio.current_time()):
                logger.debug("reopening sending streams to %d topic peers", repaired)
            rounds += 1
            if rounds % every == 0:
                self._router.recent_message_deliveries.clear()
                self._router.recent_peer_connections.clear()

    async def _shutdown(self) -> None:
        """Unsubscribe, let that flush, then stop router, pubsub and host (bounded)."""
        self._closed = True
        self._validation.closed = True
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
