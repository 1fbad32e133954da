"""Discovery traffic: hellos list known peers, answers hold only what the joiner misses."""

from __future__ import annotations

import dataclasses

import trio
from trio.testing import MockClock

from asyncmachine.pubsub import MemoryNetwork
from asyncmachine.pubsub._wire import (
    GossipMsg,
    InfoMsg,
    decode_message,
    encode_message,
    pack_keys,
    unpack_keys,
)

from .helpers import FAST, all_discovered, discovered, memory_topics, wait_for, worker


def test_known_and_view_roundtrip() -> None:
    keys = [1, 2**64 - 1, 12345]
    msg = InfoMsg((), hello=7, known=pack_keys(keys))
    back = decode_message(encode_message(msg))
    assert isinstance(back, InfoMsg) and back.known is not None
    assert unpack_keys(back.known) == set(keys)
    g = GossipMsg((), (3, 2**63 - 1))
    assert decode_message(encode_message(g)) == g


async def test_startup_burst_costs_no_answers(autojump_clock: MockClock) -> None:
    """Peers starting together learn each other from the hellos alone: N^2 records."""
    net = MemoryNetwork()
    ms = [[worker(f"s{i}")] for i in range(8)]
    async with memory_topics(net, ms) as ts:
        await discovered(ts, [1] * 8)
        assert all(t.metrics.sent_by_type["info"] == 1 for t in ts)  # the hello only
        assert sum(t.metrics.duplicates for t in ts) == 0


async def test_late_joiner_gets_each_missing_record_once(autojump_clock: MockClock) -> None:
    net = MemoryNetwork()
    settings = dataclasses.replace(FAST, share_links=False)
    ms = [[worker(f"e{i}")] for i in range(5)]
    async with memory_topics(net, ms, settings=settings) as ts:
        await discovered(ts, [1] * 5)
        await trio.sleep(FAST.hello_grace)
        before = sum(t.metrics.sent_by_type["info"] for t in ts)
        async with memory_topics(net, [[worker("late")]], settings=settings) as (late,):
            await discovered([*ts, late], [1] * 6)
            assert sum(t.metrics.sent_by_type["info"] for t in ts) - before == 1  # one answer
            assert late.metrics.records_applied == 5 * 2  # 5 infos + 5 clocks
            assert late.metrics.duplicates == 0


async def test_gossiped_view_pulls_a_forgotten_peer(autojump_clock: MockClock) -> None:
    net = MemoryNetwork()
    settings = dataclasses.replace(FAST, hello_retries=0)
    ms = [[worker("a")], [worker("b")], [worker("c")]]
    async with memory_topics(net, ms, settings=settings) as (ta, tb, tc):
        await discovered([ta, tb, tc], [1, 1, 1])
        await trio.sleep(settings.hello_grace)
        tb.registry.remove_peer(tc.peer_id, "test", trio.current_time(), tombstone=False)
        assert tb.registry.view() != ta.registry.view()
        # heartbeat gossip shows a bigger view -> b pulls (a hello with its known list);
        # or b's view, c's without c -> c pulls (its hello carries its records)
        await wait_for(lambda: all_discovered([ta, tb, tc], [1, 1, 1]), timeout=60)
        assert tb.registry.view() == ta.registry.view() == tc.registry.view()
        assert tb.metrics.pulls + tb.metrics.sent_by_type["reqinfo"] + tc.metrics.pulls >= 1


def test_links_and_hello_fields_are_validated() -> None:
    import cbor2
    import pytest

    from asyncmachine.pubsub._wire import (
        DecodeError,
        LinksMsg,
        Record,
        decode_links_body,
        encode_links_body,
    )

    rec = Record("p", 1, 2, b"body", b"sig")
    assert decode_message(encode_message(LinksMsg((rec,)))) == LinksMsg((rec,))
    body = decode_links_body(encode_links_body("p", 1, 2, ["a", "b"], ["a"]))
    assert (body.owner, body.connected, body.mesh) == ("p", ("a", "b"), ("a",))
    bad = [
        (encode_links_body("p", 1, 2, [f"x{i}" for i in range(65)], []), "limit"),
        (cbor2.dumps([1, "p", 1, 2, [], []]), "shape"),  # an info kind
        (cbor2.dumps([3, "p", 1, 2, [""], []]), "limit"),  # empty id
    ]
    for data, reason in bad:
        with pytest.raises(DecodeError) as e:
            decode_links_body(data)
        assert e.value.reason == reason
    for msg, reason in [
        (cbor2.dumps([3, 1, [], 0, 5, b"123", 0]), "shape"),  # known: not 8-byte keys
        (cbor2.dumps([3, 1, [], 0, 5, "text", 0]), "type"),
        (cbor2.dumps([3, 1, [], 0, None, None, 0]), "type"),  # a hello without a nonce
        (cbor2.dumps([3, 1, [], 0, 5, None, -1]), "limit"),  # since
        (cbor2.dumps([3, 1, [], 0, 5, None]), "shape"),  # since missing
        (cbor2.dumps([3, 1, [], "now"]), "type"),  # sent
        (cbor2.dumps([3, 3, [], [1]]), "shape"),  # view: 2 fields
        (cbor2.dumps([3, 3, [], [1, -1]]), "limit"),
        (cbor2.dumps([3, 7, [["p", 1, 1, b"", 5]]]), "type"),
    ]:
        with pytest.raises(DecodeError) as e:
            decode_message(msg)
        assert e.value.reason == reason, msg
