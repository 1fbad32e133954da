"""Hostile peers on the in-memory network: the engine's own defences (issue 12, cases 2-6).

Virtual time (MockClock, autojump): every attack is bounded in messages and in virtual
seconds, and the checks are deterministic proxies of memory and work (registry sizes,
table sizes, bytes sent, rejections by reason). tests/pubsub/attacks/test_attacks_libp2p.py
runs cases on real py-libp2p hosts and measures honest update latency.
"""

from __future__ import annotations

import dataclasses

import trio
from trio.testing import MockClock

from asyncmachine.pubsub import MemoryNetwork, MemoryTransport, Topic
from asyncmachine.pubsub._outcomes import Take
from asyncmachine.pubsub._ratelimit import AnswerCredit
from asyncmachine.pubsub._registry import Registry
from asyncmachine.pubsub._schemas import SchemaCache
from asyncmachine.pubsub._settings import Budgets
from asyncmachine.pubsub._topic import make_mirror
from asyncmachine.pubsub._wallclock import wall_ms
from asyncmachine.pubsub._wire import decode_info_body

from ..helpers import FAST, memory_topics, until_event, worker
from .kit import empty_hello, fake_digest, info_messages, owner_entry, reqinfo

SMALL = Budgets(peers=32, mirrors=256, states=4096, states_per_peer=1024, records_per_author=64)
SETTINGS = dataclasses.replace(FAST, budgets=SMALL)


async def _follows(src_topic: Topic, dst: Topic, state: str) -> None:
    """``dst`` still mirrors ``src_topic``'s first machine: a change arrives."""
    src = src_topic.exposed()[0]
    src.toggle1(state)
    mirror = dst.list_machines(peer_id=src_topic.peer_id)[0]
    with trio.fail_after(10):
        while mirror.time() != src.time():
            await until_event([dst], lambda: mirror.time() == src.time())


async def test_sybil_owners_stay_within_the_budgets(autojump_clock: MockClock) -> None:
    """Case 2: a rogue relays signed info for 300 keys it made (16 machines x 64 states
    each, 7.7x the states budget): the honest peer holds at most the budgets, keeps its
    connected peer, and keeps following it; the excess is counted."""
    net = MemoryNetwork()
    async with (
        memory_topics(net, [[worker("w")], []], settings=SETTINGS) as (a, b),
        net.join("t") as rogue,
    ):
        await until_event([b], lambda: len(b.list_machines()) == 1)
        entries = [
            owner_entry("t", f"sybil-{i:04d}", net.sign_as, machines=16, states=64)
            for i in range(300)
        ]
        for data in info_messages(entries, 50):
            await rogue.publish(data)
            await trio.sleep(0.5)
        reg = b.registry
        assert len(reg.peers) <= SMALL.peers
        assert reg.mirror_count <= SMALL.mirrors and reg.state_count <= SMALL.states
        assert reg.mirror_count == sum(len(p.machines) for p in reg.peers.values())
        assert a.peer_id in reg.peers  # a connected peer is never evicted for sybils
        refused = b.metrics.rejected
        assert refused["over_budget"] + refused["work_limit"] >= 300 - SMALL.peers
        assert refused["work_limit"] > 0  # 50 records per message > 64/s after the first
        await _follows(a, b, "Bar")


async def test_fake_digests_fill_no_unbounded_table(autojump_clock: MockClock) -> None:
    """Case 3: 206 gossip messages of 2,048 made-up peer ids each (421,888 claims) leave
    at most ``budgets.missing`` missing entries, and the request tables stay small."""
    net = MemoryNetwork()
    settings = dataclasses.replace(SETTINGS, budgets=dataclasses.replace(SMALL, missing=128))
    async with (
        memory_topics(net, [[worker("w")], []], settings=settings) as (a, b),
        net.join("t") as rogue,
    ):
        await until_event([b], lambda: len(b.list_machines()) == 1)
        most = 0
        for i in range(206):
            await rogue.publish(fake_digest("fake-", 2048, start=i * 2048))
            await trio.sleep(0.06)  # ~17/s: within the incoming gossip limit (20/s)
            reg = b.registry
            most = max(most, len(reg.missing_info) + len(reg.missing_clocks))
        assert most <= 128
        assert b.metrics.rejected["missing_full"] > 0
        requests = b.engine.requests
        assert len(requests._seen_info) <= 4 * settings.limits.max_ids + 128
        await _follows(a, b, "Bar")


async def test_hellos_and_requests_are_not_amplified(autojump_clock: MockClock) -> None:
    """Case 4: empty-known hellos (40/s) and requests for everyone (13/s) for 10 s: all
    honest peers together send at most ``answer_ratio`` x the rogue's bytes plus one
    allowance each (and without the budgets they send many times more)."""
    net = MemoryNetwork()
    budgets = Budgets(answer_allowance=16 << 10)
    settings = dataclasses.replace(FAST, budgets=budgets)
    machines = [[worker(f"w{i}-{j}") for j in range(8)] for i in range(4)]
    async with (
        memory_topics(net, machines, settings=settings) as topics,
        net.join("t") as rogue,
    ):
        await until_event(topics, lambda: all(len(t.list_machines()) == 24 for t in topics))
        await trio.sleep(2)
        me = owner_entry("t", rogue.peer_id, net.sign_as, machines=0, states=1)
        ids = [t.peer_id for t in topics]
        sent_before = sum(t.metrics.bytes_sent for t in topics)
        rogue_bytes = 0
        t0 = trio.current_time()
        for i in range(400):
            data = empty_hello(i, me)
            if i % 3 == 0:
                data2 = reqinfo(10_000 + i, ids)
                await rogue.publish(data2)
                rogue_bytes += len(data2)
            await rogue.publish(data)
            rogue_bytes += len(data)
            await trio.sleep(0.025)
        elapsed = trio.current_time() - t0
        await trio.sleep(1)
        sent = sum(t.metrics.bytes_sent for t in topics) - sent_before
        # the hard bound (ratio x bytes that asked + one allowance per peer) holds, and
        # since records just sent are not sent again, far less goes out (it was 8.5x the
        # rogue's bytes without the budgets)
        bound = budgets.answer_ratio * rogue_bytes + len(topics) * budgets.answer_allowance
        assert sent <= bound
        assert sent <= rogue_bytes + 4 * 2048 * (elapsed + 1), (sent, rogue_bytes)


def test_answer_credit_is_a_multiple_of_what_asked() -> None:
    """The hard bound behind case 4: a requester gets at most ``ratio`` x its bytes plus
    the allowance; all requesters together at most ``rate`` per second after the burst."""
    credit = AnswerCredit(ratio=4.0, allowance=1000, rate=500, burst=3000)
    assert credit.spend("r", 1000, 0.0)  # the allowance
    assert not credit.spend("r", 1, 0.0)
    credit.earn("r", 100)
    assert credit.spend("r", 400, 0.0) and not credit.spend("r", 1, 0.0)
    credit.earn("s", 10_000)  # banks at most the allowance
    assert credit.spend("s", 1000, 0.0)
    assert not credit.spend("t", 1000, 0.0)  # the shared burst is spent (2,400 of 3,000)
    assert credit.spend("t", 1000, 1.0)  # ... refilled at 500 per second


async def test_a_departed_peers_records_cant_be_replayed(autojump_clock: MockClock) -> None:
    """Case 5: after the tombstone of a peer that said bye expired, its last signed info
    and clocks records, replayed, are ``expired``: its machines don't come back."""
    settings = dataclasses.replace(
        FAST, record_max_age=30.0, max_clock_skew=5.0, tombstone_ttl=40.0
    )
    net = MemoryNetwork()
    async with memory_topics(net, [[]], settings=settings) as (b,), net.join("t") as rogue:
        async with memory_topics(net, [[worker("w")]], settings=settings) as (a,):
            await until_event([b], lambda: len(b.list_machines()) == 1)
            held = b.registry.peers[a.peer_id]
            entry = (held.info_rec, held.clock_rec)
        await until_event([b], lambda: a.peer_id not in b.registry.peers)
        await trio.sleep(settings.tombstone_ttl + 2 * settings.heartbeat)
        assert a.peer_id not in b.registry._tombstones  # the tombstone is gone
        await rogue.publish(next(info_messages([entry], 1)))
        await trio.sleep(1)
        assert b.list_machines() == []
        assert b.metrics.rejected["expired"] == 2


async def test_a_dead_peer_goes_by_its_owners_clock(autojump_clock: MockClock) -> None:
    """Case 6: a peer that hears of a dead peer late (its records relayed 10 s after the
    death) drops its mirrors within the timeout of the *owner's* last stamp, not a
    timeout after it heard of them. Links are not shared here: with them, the dead peer's
    neighbours make it unreachable within seconds (tests/pubsub/test_reachability.py)."""
    net = MemoryNetwork()
    settings = dataclasses.replace(FAST, share_links=False)
    async with (
        memory_topics(net, [[]], settings=settings) as (b,),
        memory_topics(net, [[worker("w")]], settings=settings) as (a,),
    ):
        await until_event([b], lambda: len(b.list_machines()) == 1)
        died = trio.current_time()
        net.leave(_transport(a))  # a crash: no bye, nothing sent any more
        await trio.sleep(10)  # b still holds a (its timeout is 20 s)
        assert a.peer_id in b.registry.peers
        async with memory_topics(net, [[]], settings=settings) as (c,):
            await until_event([c], lambda: len(c.list_machines()) == 1)
            learned = trio.current_time()
            await until_event([c], lambda: not c.list_machines(), timeout=60)
            gone = trio.current_time()
    timeout = max(settings.peer_timeout, 3 * settings.keepalive)
    # the owner's last stamp is at most a keepalive before its death
    assert gone - died <= timeout + 2 * settings.heartbeat, (gone - died, learned - died)
    assert gone < learned + timeout  # not counted from when c heard of it


async def test_records_from_the_future_are_refused(autojump_clock: MockClock) -> None:
    """Owners stamp their records; one stamped beyond ``max_clock_skew`` ahead (to outlive
    its timeout) is ``future``."""
    net = MemoryNetwork()
    async with memory_topics(net, [[]], settings=FAST) as (b,), net.join("t") as rogue:
        ahead = wall_ms() + int(FAST.max_clock_skew * 1000) + 60_000
        entry = owner_entry("t", rogue.peer_id, net.sign_as, machines=1, states=2, stamp_ms=ahead)
        await rogue.publish(next(info_messages([entry], 1)))
        await trio.sleep(1)
        assert b.metrics.rejected["future"] == 2 and not b.list_machines()


def _transport(t: Topic) -> MemoryTransport:
    assert isinstance(t.transport, MemoryTransport)
    return t.transport


def test_budget_accounting_and_eviction_order() -> None:
    """Admission: counters follow what is held; a connected peer evicts the least recently
    heard-of unconnected one; an unconnected newcomer never evicts a connected peer."""
    net = MemoryNetwork()
    connected = {"honest-1", "honest-2"}
    reg = Registry(
        "me",
        make_mirror,
        SchemaCache(),
        lambda _e: None,
        Budgets(peers=3),
        preferred=connected.__contains__,
    )

    def admit(pid: str, at: float) -> Take:
        info, _clocks = owner_entry("t", pid, net.sign_as, machines=2, states=4)
        return reg.apply_info(info, decode_info_body(info.body), at).take

    assert admit("sybil-old", 1.0) is Take.APPLIED
    assert admit("sybil-new", 2.0) is Take.APPLIED
    assert admit("honest-1", 3.0) is Take.APPLIED  # full now
    assert admit("honest-2", 4.0) is Take.APPLIED  # evicts sybil-old (least heard of)
    assert set(reg.peers) == {"sybil-new", "honest-1", "honest-2"}
    assert admit("sybil-x", 5.0) is Take.APPLIED  # evicts sybil-new, never an honest peer
    assert admit("sybil-y", 0.5) is Take.REJECTED  # ranked below everything held
    assert set(reg.peers) == {"sybil-x", "honest-1", "honest-2"}
    assert (reg.mirror_count, reg.state_count) == (6, 24)
    assert reg.info_bytes == sum(len(p.info_rec.body) for p in reg.peers.values())
    info, _ = owner_entry("t", "honest-1", net.sign_as, machines=3, states=5, epoch=2)
    assert reg.apply_info(info, decode_info_body(info.body), 6.0).take is Take.APPLIED
    assert (reg.mirror_count, reg.state_count) == (7, 31)  # a new session, other machines
    assert reg.info_bytes == sum(len(p.info_rec.body) for p in reg.peers.values())
    reg.dispose_all(9.0)
    assert (reg.mirror_count, reg.state_count, reg.info_bytes) == (0, 0, 0)
