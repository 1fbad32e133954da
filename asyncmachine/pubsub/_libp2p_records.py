"""The signed peer record py-libp2p attaches to every pubsub RPC, made cheap.

libp2p 0.8.1's pubsub puts the sender's signed peer record (an ``Envelope``) into every
RPC it writes, forwarded messages included, and every receiver stores the record of
every RPC it reads. Both sides redo work whose result changes only when addresses do:

- the sender rebuilds :meth:`BasicHost.get_addrs` (multiaddr parsing and encapsulation
  per address) to compare it with its cached record — about a fifth of the CPU a host
  spent per received update in ``benchmarks/cpu_per_update.py``, even with no one to
  forward to; :class:`AddrsCachingHost` remembers the list for
  :data:`ADDRS_TTL` seconds;
- gossipsub also re-reads that cached record for every message it forwards or
  publishes: it parses the record's addresses to compare them with the host's, and
  marshals the envelope anew; :class:`RecordKeepingPeerStore` keeps the host's own
  record as a :class:`SentEnvelope`, which does both once (a record never changes; a
  new one replaces it);
- the receiver replaces the peer's addresses with the record's (a set of multiaddrs,
  cleared and re-added); :class:`RecordKeepingPeerStore` only renews their TTL when the
  envelope is the one already stored (same key, payload and signature);
- the receiver also unmarshals the envelope and checks its ed25519 signature for every
  RPC, duplicates of messages included; :class:`SenderRecords` (used by our read loop,
  :mod:`._libp2p_reader`) does that once per distinct record from a peer's stream and
  hands an unchanged one to the peerstore again only to renew it, every
  :data:`RECORD_RENEW` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import multiaddr
from libp2p.abc import IHost, INetworkService
from libp2p.host.basic_host import BasicHost
from libp2p.peer.envelope import Envelope
from libp2p.peer.id import ID
from libp2p.peer.peerstore import PeerStore
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.utils import maybe_consume_signed_record
from libp2p.rcmgr import ResourceManager

ADDRS_TTL = 1.0
"""Seconds a host's advertised address list is reused: a new listener, an observed
address or an interface change shows after at most this long."""


RECORD_RENEW = 60.0
"""Seconds an unchanged sender record is taken without being stored again; the
peerstore keeps a record for 2 hours (py-libp2p's TTL), so it never lapses meanwhile."""


class AddrsCachingHost(BasicHost):
    """A :class:`BasicHost` whose :meth:`get_addrs` is computed at most once per
    :data:`ADDRS_TTL` seconds (an empty list, before listening, is not kept)."""

    def __init__(self, network: INetworkService, resource_manager: ResourceManager) -> None:
        self._addrs_at = -float("inf")
        self._addrs: list[multiaddr.Multiaddr] = []
        super().__init__(network=network, resource_manager=resource_manager)

    def get_addrs(self) -> list[multiaddr.Multiaddr]:
        now = time.monotonic()
        if not self._addrs or now - self._addrs_at >= ADDRS_TTL:
            self._addrs = super().get_addrs()
            self._addrs_at = now
        return list(self._addrs)


class RecordKeepingPeerStore(PeerStore):
    """A :class:`PeerStore` that keeps a peer's addresses when a peer record arrives
    again unchanged: it only renews their TTL, as storing it anew would, and addresses
    learned otherwise since (from a signed info record) stay, where storing it anew
    dropped them until the next info record."""

    def consume_peer_record(self, envelope: Envelope, ttl: int) -> bool:
        record = envelope.record()
        kept = self.peer_record_map.get(record.peer_id)
        data = self.peer_data_map.get(record.peer_id)
        if (
            kept is not None
            and data is not None
            and data.get_addrs()
            and _same(kept.envelope, envelope)
        ):
            data.set_ttl(ttl)
            data.update_last_identified()
            return True
        return super().consume_peer_record(envelope, ttl)

    def set_local_record(self, envelope: Envelope) -> None:
        super().set_local_record(SentEnvelope.of(envelope))


class SentEnvelope(Envelope):
    """This host's own signed peer record, marshalled and its address set parsed once.

    py-libp2p's ``env_to_send_in_RPC`` runs for every RPC gossipsub writes: it parses the
    cached record's addresses (``_env_addrs_set``: unmarshal the record, build each
    multiaddr) to compare them with the host's, then marshals the envelope again.
    Neither result can change: the fields are set once and a changed address list makes
    py-libp2p sign a new record, which replaces this one.
    """

    _marshalled: bytes
    _addrs: frozenset[multiaddr.Multiaddr]

    @classmethod
    def of(cls, envelope: Envelope) -> SentEnvelope:
        """The same record (its fields shared, not copied), with its results cached."""
        if isinstance(envelope, SentEnvelope):
            return envelope
        sent = cls.__new__(cls)
        sent.__dict__.update(vars(envelope))
        sent._marshalled = envelope.marshal_envelope()
        sent._addrs = frozenset(envelope._env_addrs_set())
        return sent

    def marshal_envelope(self) -> bytes:
        return self._marshalled

    def _env_addrs_set(self) -> set[multiaddr.Multiaddr]:
        return set(self._addrs)


def _same(a: Envelope, b: Envelope) -> bool:
    """The same signed record: signature, payload and key (a signature alone could be
    replayed under another key whose check it also passes)."""
    return (
        a.signature == b.signature
        and a.raw_payload == b.raw_payload
        and a.public_key.to_bytes() == b.public_key.to_bytes()
    )


class SenderRecords:
    """The signed peer records arriving on one peer's pubsub stream.

    A record that is byte for byte the last one accepted from this stream was verified
    then (signature, and that it names the stream's peer); it is accepted without
    unmarshalling or verifying it again, and stored again (renewing its TTL) only every
    :data:`RECORD_RENEW` seconds. Any other record goes through py-libp2p's
    ``maybe_consume_signed_record``, as in py-libp2p's own read loop.
    """

    def __init__(
        self, host: IHost, peer_id: ID, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._host = host
        self._peer_id = peer_id
        self._clock = clock
        self._last = b""
        self._stored_at = -float("inf")

    def accept(self, rpc: rpc_pb2.RPC) -> bool:
        """False if the RPC carries a record that is invalid or not its sender's."""
        if not rpc.HasField("senderRecord"):
            return True
        raw = rpc.senderRecord
        now = self._clock()
        if raw == self._last and now - self._stored_at < RECORD_RENEW:
            return True
        if not maybe_consume_signed_record(rpc, self._host, self._peer_id):
            return False
        self._last, self._stored_at = raw, now
        return True
