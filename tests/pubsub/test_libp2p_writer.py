"""The coalescing pubsub send loop in isolation: py-libp2p's real per-peer RPC queue,
a stream that records its writes, and our framer reading them back."""

from __future__ import annotations

from typing import cast

import trio
from libp2p.abc import INetStream
from libp2p.network.stream.exceptions import StreamReset
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.rpc_queue import RpcQueue

from asyncmachine.pubsub._libp2p_reader import RpcFramer
from asyncmachine.pubsub._libp2p_writer import BATCH_BYTES, send_rpcs

from ..helpers import TIMEOUT

PEER = ID(b"\x00\x04test")


class _Writes:
    """A stream that records every write (and can fail on one), read back by a framer."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.writes: list[bytes] = []
        self.fail_at = fail_at
        self._read = 0

    async def write(self, data: bytes) -> None:
        await trio.lowlevel.checkpoint()
        if self.fail_at is not None and len(self.writes) == self.fail_at:
            raise StreamReset("reset by the peer")
        self.writes.append(data)

    async def read(self, n: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        data = b"".join(self.writes)[self._read :]
        self._read += len(data)
        return data


def _rpc(i: int, size: int = 10, control: bool = False) -> rpc_pb2.RPC:
    if control:
        return rpc_pb2.RPC(control=rpc_pb2.ControlMessage(graft=[rpc_pb2.ControlGraft()]))
    msg = rpc_pb2.Message(data=f"{i:06d}".encode() + b"x" * size, topicIDs=["t"])
    return rpc_pb2.RPC(publish=[msg])


async def _run(stream: _Writes, queue: RpcQueue) -> int:
    """Close the queue and run the send loop until it has written what the queue holds
    (a closed queue still hands out what it holds); the times the peer was declared
    dead."""
    dead = 0

    def on_dead() -> None:
        nonlocal dead
        dead += 1

    queue.close()
    with trio.fail_after(TIMEOUT):
        await send_rpcs(PEER, cast(INetStream, stream), queue, on_dead)
    return dead


async def _read_all(stream: _Writes, n: int) -> list[rpc_pb2.RPC]:
    framer = RpcFramer(cast(INetStream, stream), 1 << 20)
    out = []
    for _ in range(n):
        rpc = rpc_pb2.RPC()
        rpc.ParseFromString(await framer.next())
        out.append(rpc)
    return out


async def test_what_is_queued_goes_out_in_one_write_in_queue_order() -> None:
    queue = RpcQueue()
    for i in range(20):
        assert queue.push(_rpc(i))
    assert queue.push(_rpc(0, control=True), priority=True)  # control goes first
    stream = _Writes()
    assert await _run(stream, queue) == 0
    assert len(stream.writes) == 1
    got = await _read_all(stream, 21)
    assert got[0].HasField("control") and not got[0].publish
    assert [r.publish[0].data[:6] for r in got[1:]] == [f"{i:06d}".encode() for i in range(20)]


async def test_a_batch_stops_at_its_byte_cap() -> None:
    queue = RpcQueue()
    n = 10
    size = BATCH_BYTES // 4  # four fit in one batch, the fifth starts the next
    for i in range(n):
        assert queue.push(_rpc(i, size))
    stream = _Writes()
    assert await _run(stream, queue) == 0
    assert [len(w) // size for w in stream.writes] == [4, 4, 2]
    got = await _read_all(stream, n)
    assert [r.publish[0].data[:6] for r in got] == [f"{i:06d}".encode() for i in range(n)]


async def test_a_reset_stream_declares_the_peer_dead_once() -> None:
    queue = RpcQueue()
    assert queue.push(_rpc(1))
    stream = _Writes(fail_at=0)
    assert await _run(stream, queue) == 1
    assert stream.writes == []
