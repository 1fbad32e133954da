"""The buffered pubsub read loop's parts in isolation: framing RPCs out of whatever
chunks a stream returns, and checking a sender's signed peer record once per distinct
record (real py-libp2p keys, envelopes and peerstore; the stream is a list of chunks)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import pytest
import trio
from libp2p.abc import IHost, INetStream
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.exceptions import ParseError
from libp2p.io.exceptions import IncompleteReadError, MessageTooLarge
from libp2p.peer.envelope import Envelope
from libp2p.peer.id import ID
from libp2p.peer.peerstore import create_signed_peer_record
from libp2p.pubsub.pb import rpc_pb2
from libp2p.utils.varint import encode_uvarint
from multiaddr import Multiaddr

from asyncmachine.pubsub._libp2p_reader import RpcFramer
from asyncmachine.pubsub._libp2p_records import RECORD_RENEW, RecordKeepingPeerStore, SenderRecords


class _Chunks:
    """A stream that returns the given chunks, one per read, then EOF (b"")."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = list(chunks)
        self.reads = 0

    async def read(self, n: int | None = None) -> bytes:
        self.reads += 1
        await trio.lowlevel.checkpoint()
        return self.chunks.pop(0) if self.chunks else b""


def _framer(chunks: Iterable[bytes], max_size: int = 1 << 20) -> tuple[RpcFramer, _Chunks]:
    stream = _Chunks(chunks)
    return RpcFramer(cast(INetStream, stream), max_size), stream


def _frame(payload: bytes) -> bytes:
    return encode_uvarint(len(payload)) + payload


PAYLOADS = [b"a", b"x" * 200, b"", b"y" * 70_000, b"z"]  # 1-, 2- and 3-byte prefixes


async def _all(framer: RpcFramer, n: int) -> list[bytes]:
    return [await framer.next() for _ in range(n)]


async def test_every_frame_of_one_chunk_comes_from_a_single_read() -> None:
    framer, stream = _framer([b"".join(map(_frame, PAYLOADS))])
    assert await _all(framer, len(PAYLOADS)) == PAYLOADS
    assert stream.reads == 1
    with pytest.raises(IncompleteReadError):
        await framer.next()  # a clean end between frames


async def test_frames_split_anywhere_across_reads_are_joined() -> None:
    data = b"".join(map(_frame, PAYLOADS))
    framer, _ = _framer(data[i : i + 1] for i in range(len(data)))  # byte by byte
    assert await _all(framer, len(PAYLOADS)) == PAYLOADS
    framer, _ = _framer([data[:2], data[2:205], data[205:70_000], data[70_000:]])
    assert await _all(framer, len(PAYLOADS)) == PAYLOADS


async def test_a_prefix_over_the_limit_is_refused_before_its_body_is_read() -> None:
    framer, stream = _framer([encode_uvarint(1001), b"x" * 1001], max_size=1000)
    with pytest.raises(MessageTooLarge, match="1001 bytes"):
        await framer.next()
    assert stream.reads == 1


async def test_a_prefix_longer_than_ten_bytes_is_a_parse_error() -> None:
    framer, _ = _framer([b"\xff" * 5, b"\xff" * 6])
    with pytest.raises(ParseError):
        await framer.next()


async def test_a_stream_ending_inside_a_frame_is_an_incomplete_read() -> None:
    framer, _ = _framer([_frame(b"x" * 10)[:5]])
    with pytest.raises(IncompleteReadError, match="5 bytes of an unfinished RPC"):
        await framer.next()


# --- sender records -------------------------------------------------------------------


class _CountingStore(RecordKeepingPeerStore):
    def __init__(self) -> None:
        super().__init__()
        self.consumed = 0

    def consume_peer_record(self, envelope: Envelope, ttl: int) -> bool:
        self.consumed += 1
        return super().consume_peer_record(envelope, ttl)


class _Host:
    def __init__(self) -> None:
        self.store = _CountingStore()

    def get_peerstore(self) -> _CountingStore:
        return self.store


def _rpc(record: bytes) -> rpc_pb2.RPC:
    rpc = rpc_pb2.RPC()
    rpc.senderRecord = record
    return rpc


def test_an_unchanged_sender_record_is_verified_once_and_renewed_every_period() -> None:
    keys = create_new_key_pair()
    pid = ID.from_pubkey(keys.public_key)
    raw = create_signed_peer_record(
        pid, [Multiaddr("/ip4/10.0.0.1/tcp/4001")], keys.private_key
    ).marshal_envelope()
    host = _Host()
    now = [1000.0]
    records = SenderRecords(cast(IHost, host), pid, clock=lambda: now[0])
    assert records.accept(rpc_pb2.RPC())  # no record: nothing to check
    assert records.accept(_rpc(raw)) and host.store.consumed == 1
    assert host.store.addrs(pid) == [Multiaddr("/ip4/10.0.0.1/tcp/4001")]
    for _ in range(5):
        assert records.accept(_rpc(raw))
    assert host.store.consumed == 1
    now[0] += RECORD_RENEW
    assert records.accept(_rpc(raw)) and host.store.consumed == 2


def test_a_changed_forged_or_foreign_sender_record_is_checked_again() -> None:
    keys, other = create_new_key_pair(), create_new_key_pair()
    pid = ID.from_pubkey(keys.public_key)
    env = create_signed_peer_record(pid, [Multiaddr("/ip4/10.0.0.1/tcp/1")], keys.private_key)
    host = _Host()
    records = SenderRecords(cast(IHost, host), pid)
    assert records.accept(_rpc(env.marshal_envelope()))
    sig = bytearray(env.signature)
    sig[0] ^= 1
    forged = Envelope(env.public_key, env.payload_type, env.raw_payload, bytes(sig))
    assert not records.accept(_rpc(forged.marshal_envelope()))
    foreign_id = ID.from_pubkey(other.public_key)  # a valid record, of another peer
    foreign = create_signed_peer_record(foreign_id, [], other.private_key)
    assert not records.accept(_rpc(foreign.marshal_envelope()))
    moved = create_signed_peer_record(pid, [Multiaddr("/ip4/10.0.0.2/tcp/1")], keys.private_key)
    assert records.accept(_rpc(moved.marshal_envelope()))
    assert host.store.addrs(pid) == [Multiaddr("/ip4/10.0.0.2/tcp/1")]
    assert host.store.consumed == 2  # the first and the moved one reached the store
