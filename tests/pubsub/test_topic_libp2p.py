"""Topics on real py-libp2p hosts over loopback TCP (the issue's end-to-end checks)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

import cbor2
import pytest
import trio

from asyncmachine import Machine
from asyncmachine.pubsub import Topic, TopicSettings, open_topic
from asyncmachine.pubsub._topic_states import ss
from asyncmachine.pubsub._wire import (
    Record,
    UpdatesMsg,
    encode_clocks_body,
    encode_message,
    signed_payload,
)
from asyncmachine.pubsub.libp2p import Libp2pTransport, open_libp2p_transport
from tests.helpers import TIMEOUT

from .helpers import all_discovered, wait_for, worker

SETTINGS = TopicSettings(hello_delay=0.05, hello_retry=2.0)


@asynccontextmanager
async def peers(
    exposes: Sequence[Sequence[Machine]], name: str = "am-test"
) -> AsyncIterator[list[Topic]]:
    """Peer 0 is the root; every other peer bootstraps to the root."""
    async with AsyncExitStack() as stack:
        topics: list[Topic] = []
        for ex in exposes:
            boot = topics[0].addrs() if topics else []
            t = await stack.enter_async_context(
                open_topic(name, bootstrap=boot, expose=ex, settings=SETTINGS, shutdown_grace=0.05)
            )
            topics.append(t)
        yield topics


@asynccontextmanager
async def rogue_next_to_a_mirror() -> AsyncIterator[tuple[Topic, Libp2pTransport]]:
    """Peer a exposes machine ``w``, peer b mirrors it, a raw transport (the rogue) joins
    b's topic: yields (b, rogue). After the rogue left, b must still follow ``w``."""
    src = worker("w")
    async with peers([[src], []]) as (_a, b):
        await wait_for(lambda: len(b.list_machines()) == 1, TIMEOUT)
        async with open_libp2p_transport(
            "am-test", bootstrap=b.addrs(), shutdown_grace=0.05
        ) as rogue:
            yield b, rogue
        src.add1("Bar")
        with trio.fail_after(TIMEOUT):
            await b.list_machines()[0].when1("Bar")


async def test_one_peer_starts_and_reports_addrs() -> None:
    async with open_topic("am-test", listen=["/ip4/127.0.0.1/tcp/0"]) as topic:
        assert topic.mach.is_([ss.Started, ss.Joined])
        addrs = topic.addrs()
        assert addrs and all(a.startswith("/ip4/127.0.0.1/tcp/") for a in addrs)
        assert all(a.endswith("/p2p/" + topic.peer_id) for a in addrs)
    assert topic.mach.is_disposed()


async def test_two_peers_join_and_see_each_other() -> None:
    async with peers([[], []]) as (a, b):
        with trio.fail_after(TIMEOUT):
            await a.mach.when1(ss.PeerJoined)
            await b.mach.when1(ss.PeerJoined)
            await a.mach.when1(ss.Ready)
            await wait_for(lambda: a.peers() == [b.peer_id] and b.peers() == [a.peer_id], TIMEOUT)


async def test_exposure_both_ways_and_mutation() -> None:
    ma, mb = worker("a1", tags=["kind:a"]), worker("b1", parent="sup")
    async with peers([[ma], [mb]]) as (a, b):
        await wait_for(lambda: all_discovered([a, b], [1, 1]), TIMEOUT)
        ra = b.list_machines(peer_id=a.peer_id)[0]
        rb = a.list_machines(peer_id=b.peer_id)[0]
        assert (ra.id, ra.tags, rb.id, rb.parent_id) == ("a1", ["kind:a"], "b1", "sup")
        ma.add1("Bar")
        mb.add(["Foo", "Bar"])
        with trio.fail_after(TIMEOUT):
            await ra.when1("Bar")
            await rb.when(["Foo", "Bar"])
        assert ra.time() == ma.time() and rb.time() == mb.time()


async def test_late_joiner_discovers_everything() -> None:
    ms = [[worker(f"m{i}{j}") for j in range(2)] for i in range(4)]
    async with peers(ms[:3]) as ts:
        await wait_for(lambda: all_discovered(ts, [2, 2, 2]), TIMEOUT)
        ms[1][0].add1("Bar")
        # the late peer dials only the last peer, not the root
        async with open_topic(
            "am-test", bootstrap=ts[2].addrs(), expose=ms[3], settings=SETTINGS, shutdown_grace=0.05
        ) as late:
            all_ts = [*ts, late]
            await wait_for(lambda: all_discovered(all_ts, [2, 2, 2, 2]), TIMEOUT)
            with trio.fail_after(TIMEOUT):
                await late.list_machines(id="m10")[0].when1("Bar")


async def test_peer_leaves_and_its_mirrors_go() -> None:
    async with peers([[], [worker("w1")]]) as (a, _b):
        await wait_for(lambda: len(a.list_machines()) == 1, TIMEOUT)
        mirror = a.list_machines()[0]
        async with open_topic(
            "am-test",
            bootstrap=a.addrs(),
            expose=[worker("w2")],
            settings=SETTINGS,
            shutdown_grace=0.05,
        ) as c:
            await wait_for(lambda: len(a.list_machines()) == 2, TIMEOUT)
            mirror2 = a.list_machines(id="w2")[0]
            c_id = c.peer_id
        with trio.fail_after(TIMEOUT):
            await mirror2.when_disposed()
        assert c_id not in a.peers() and not mirror.is_disposed()
        assert a.mach.tick(ss.MsgBye) >= 1


async def test_forged_update_is_rejected() -> None:
    src = worker("victim")
    async with peers([[src], []]) as (a, b):
        await wait_for(lambda: len(b.list_machines()) == 1, TIMEOUT)
        mirror = b.list_machines()[0]
        rp = b.registry.peers[a.peer_id]
        async with open_libp2p_transport(
            "am-test", bootstrap=b.addrs(), shutdown_grace=0.05
        ) as rogue:
            await wait_for(lambda: rogue.peer_id in b.topic_peers(), TIMEOUT)
            # clocks for a's machine, newer seq, signed by the rogue's own key
            seq = rp.clock_seq + 10
            body = encode_clocks_body(a.peer_id, rp.epoch, seq, rp.info_seq, [[1, 0, 0, 0]])
            forged = Record(
                a.peer_id, rp.epoch, seq, body, rogue.sign(signed_payload("am-test", body))
            )
            await rogue.publish(encode_message(UpdatesMsg((forged,))))
            await wait_for(lambda: b.metrics.rejected["bad_signature"] >= 1, TIMEOUT)
        assert not mirror.is1("Bar")
        src.add1("Bar")
        with trio.fail_after(TIMEOUT):
            await mirror.when1("Bar")


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(b"\x40" + b"\xff" * 64, id="undecodable-rpc"),
        pytest.param(b"\xff" * 11, id="prefix-over-10-bytes"),
        pytest.param(b"\x80\x80\x80\x80\x08", id="prefix-over-the-size-limit"),  # 2 GiB
    ],
)
async def test_a_bad_rpc_resets_its_stream_and_is_survived(frame: bytes) -> None:
    """libp2p 0.8.1 lets protobuf's DecodeError (a garbled RPC) and the length prefix's
    ParseError end the whole host; here the sender's stream is reset (an undecodable RPC
    is counted) and the peer keeps working (see :func:`rogue_next_to_a_mirror`)."""
    from libp2p.custom_types import TProtocol
    from libp2p.network.stream.exceptions import StreamError
    from libp2p.peer.id import ID
    from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11

    async with rogue_next_to_a_mirror() as (b, rogue):
        stream = await rogue._host.new_stream(  # a raw gossipsub stream to b
            ID.from_base58(b.peer_id), [TProtocol(PROTOCOL_ID_V11)]
        )
        await stream.write(frame)
        with trio.fail_after(TIMEOUT), pytest.raises(StreamError):
            await stream.read(1)  # b never writes on it: this ends only with the reset
        bt = b.transport
        assert isinstance(bt, Libp2pTransport)
        assert bt.counters.undecodable_rpcs == (frame[0] == 0x40)


async def test_malformed_messages_are_survived() -> None:
    async with rogue_next_to_a_mirror() as (b, rogue):
        # the rogue's publishes reach b once b is in its mesh (not just subscribed)
        await wait_for(lambda: b.peer_id in rogue.mesh_peers(), TIMEOUT)
        for data in (
            b"\xff\xfe not cbor",
            cbor2.dumps({"Type": "info", "PeerInfo": {}}),  # Go-style msgpack shape
            cbor2.dumps([3, 2, [["p", "one", 1, b"", b""]]]),  # wrong types
            cbor2.dumps([3, 42, []]),  # unknown type
            cbor2.dumps([3, 2, [["p", 1, 1, b"x" * 600_000, b"s"]]]),  # huge record
        ):
            await rogue.publish(data)
        r = b.metrics.rejected
        await wait_for(
            lambda: r["cbor"] + r["shape"] + r["type"] + r["unknown_type"] + r["limit"] >= 5,
            TIMEOUT,
        )
        assert r["unknown_type"] == 1 and r["limit"] == 1
