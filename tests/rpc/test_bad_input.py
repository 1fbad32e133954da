"""Bad requests are answered with an error or dropped, counted, and never stop the
server from serving everyone else."""

from __future__ import annotations

import cbor2
import pytest
import trio
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID
from libp2p.utils.varint import decode_uvarint_from_stream, encode_uvarint

from asyncmachine import Machine, Result, State, rpc
from asyncmachine.pubsub import Topic
from asyncmachine.rpc import ErrorKind, RemoteError
from asyncmachine.rpc._host import libp2p_host
from asyncmachine.rpc._protocol import decode_reply
from tests.helpers import TIMEOUT

from .rpc_helpers import libp2p_peers


async def raw_call(caller: Topic, owner: Topic, frame: bytes) -> rpc.Reply | None:
    """Send ``frame`` as is; the decoded reply, or None when the stream was dropped."""
    host = libp2p_host(caller)
    stream = await host.new_stream(ID.from_base58(owner.peer_id), [TProtocol(rpc.PROTOCOL_ID)])
    try:
        await stream.write(frame)
        size = await decode_uvarint_from_stream(stream)
        data = b""
        while len(data) < size:
            data += await stream.read(size - len(data))
        return decode_reply(data)
    except Exception:
        return None
    finally:
        await stream.reset()


def framed(body: bytes) -> bytes:
    return encode_uvarint(len(body)) + body


def request(**fields: object) -> bytes:
    body = {"v": 1, "m": "owned", "verb": "add1", "s": ["Bar"], "a": b""}
    body.update(fields)
    return framed(cbor2.dumps(body))


async def test_malformed_oversized_and_undecodable_args_are_answered() -> None:
    mach = Machine({"Bar": State()}, id="owned")
    limits = rpc.RpcLimits(max_request_bytes=1024)
    async with libp2p_peers([[mach], []]) as (a, b), rpc.serve(a, limits=limits) as server:
        server.expose(mach, allow={"*": ["Bar"]})
        cases = [
            (framed(b"\xff\x00garbage"), ErrorKind.MALFORMED),
            (framed(cbor2.dumps([1, 2])), ErrorKind.MALFORMED),
            (request(verb="explode"), ErrorKind.MALFORMED),
            (request(s=["Bar", "Bar"]), ErrorKind.MALFORMED),
            (request(a=b"\xff\xfe"), ErrorKind.BAD_ARGS),
            (request(a=cbor2.dumps([1])), ErrorKind.BAD_ARGS),
            (request(a=cbor2.dumps({"x": cbor2.CBORTag(4242, 1)})), ErrorKind.BAD_ARGS),
            (
                request(a=cbor2.dumps({"x": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]})),
                ErrorKind.BAD_ARGS,
            ),
            (request(m="ghost"), ErrorKind.UNKNOWN_MACHINE),
            (request(s=["Nope"]), ErrorKind.UNKNOWN_STATE),
            (encode_uvarint(10_000_000) + b"x" * 100, ErrorKind.TOO_LARGE),
        ]
        with trio.fail_after(TIMEOUT):
            for frame, kind in cases:
                reply = await raw_call(b, a, frame)
                assert reply is not None and reply.error is kind, (frame[:20], reply)
            assert await raw_call(b, a, b"\xff" * 11) is None  # a bad varint: dropped
            assert not mach.is1("Bar")
            await b.when_machine(id="owned")
            assert await rpc.remote(b, "owned").add1("Bar") == Result.EXECUTED
        refused = server.counters.refused
        assert refused[ErrorKind.MALFORMED] == 5 and refused[ErrorKind.BAD_ARGS] == 4
        assert refused[ErrorKind.TOO_LARGE] == 1


async def test_oversized_args_are_refused_by_the_client_before_sending() -> None:
    async with libp2p_peers([[]]) as (a,):
        remote = rpc.remote(a, "x", peer_id=a.peer_id)
        with pytest.raises(RemoteError) as ei:
            await remote.add1("Bar", {"blob": b"x" * 100_000})
        assert ei.value.kind is ErrorKind.TOO_LARGE
        with pytest.raises(RemoteError) as ei:
            await remote.add1("Bar", {"obj": object()})
        assert ei.value.kind is ErrorKind.BAD_ARGS


async def test_a_flood_from_one_peer_is_rate_limited_others_are_served() -> None:
    mach = Machine({"Bar": State(multi=True)}, id="owned")
    rates = rpc.RpcRates(per_second=20, burst=10)
    async with libp2p_peers([[mach], [], []]) as (a, b, c), rpc.serve(a, rates=rates) as server:
        server.expose(mach, allow={"*": ["Bar"]})
        flooder = rpc.remote(c, "owned", peer_id=a.peer_id)
        outcomes: list[str] = []

        async def one() -> None:
            try:
                await flooder.add1("Bar")
                outcomes.append("ok")
            except RemoteError as e:
                outcomes.append(str(e.kind))

        with trio.fail_after(TIMEOUT):
            async with trio.open_nursery() as n:
                for _ in range(150):
                    n.start_soon(one)
            assert outcomes.count("rate_limited") >= 100, outcomes
            res = await rpc.remote(b, "owned", peer_id=a.peer_id).add1("Bar")
            assert res == Result.EXECUTED
        assert server.counters.refused[ErrorKind.RATE_LIMITED] == outcomes.count("rate_limited")
        assert server.counters.executed == outcomes.count("ok") + 1
