"""A dead peer is noticed in seconds from its neighbours' links records (issue 11), and
one lying neighbour can't evict a live peer (real Topics on the in-memory network)."""

from __future__ import annotations

import trio
from trio.testing import MockClock

from asyncmachine.pubsub import (
    EventKind,
    MemoryNetwork,
    MemoryTransport,
    PeerEvent,
    PeerEventKind,
    Topic,
    TopicEvent,
    open_topic,
)

from .helpers import FAST, discovered, memory_topics, worker


def _mem(t: object) -> MemoryTransport:
    tr = getattr(t, "transport", None)
    assert isinstance(tr, MemoryTransport)
    return tr


async def test_a_crashed_peer_is_removed_within_seconds(autojump_clock: MockClock) -> None:
    net = MemoryNetwork()
    async with memory_topics(net, [[worker("a1")], [], []]) as (ta, tb, tc):
        await discovered([ta, tb, tc], [1, 0, 0])
        # everyone's links records are out (a's lists the other two as connected)
        both = {tb.peer_id, tc.peer_id}
        with trio.fail_after(60):
            while not all(
                set(t.peer_links().get(ta.peer_id, ((), ()))[0]) == both for t in (tb, tc)
            ):
                await trio.sleep(0.1)
        events: list[TopicEvent] = []
        tb.add_observer(events.append)
        mirror = tb.list_machines()[0]
        net.leave(_mem(ta))  # kill -9: no bye
        t0 = trio.current_time()
        with trio.fail_after(60):
            await mirror.when_disposed()
        took = trio.current_time() - t0
        assert took <= 10, took  # the peer timeout would be FAST.peer_timeout
        kinds = [(e.kind, e.reason) for e in events if e.peer_id == ta.peer_id]
        assert (EventKind.PEER_UNREACHABLE, "") in kinds
        assert (EventKind.PEER_REMOVED, "unreachable") in kinds
        with trio.fail_after(10 - took + 1):
            while tc.list_machines():
                await trio.sleep(0.1)


class _Liar(MemoryTransport):
    """Reports (in its own signed links records) that it lost its connection to
    ``victim``, while the victim is alive and connected to everyone else."""

    victim = ""

    def connected_peers(self) -> set[str]:
        return super().connected_peers() - {self.victim}


async def test_one_lying_neighbour_cannot_evict_a_live_peer(autojump_clock: MockClock) -> None:
    net = MemoryNetwork()
    async with memory_topics(net, [[worker("a1")], []]) as (ta, tb):
        liar_tr = _Liar(net, "t", "liar")
        net._secret("liar")
        net._subs["t"]["liar"] = liar_tr  # what join() does, with our class
        async with (
            memory_topics(net, [[]], peer_ids=["other"]) as (tc,),
            open_topic("t", transport=liar_tr, settings=FAST),
        ):
            await discovered([ta, tb, tc], [1, 0, 0])

            def liar_lists_victim() -> bool:
                return ta.peer_id in tb.peer_links().get("liar", ((), ()))[0]

            with trio.fail_after(60):
                while not liar_lists_victim():
                    await trio.sleep(0.1)
                liar_tr.victim = ta.peer_id  # from now on it reports having lost it
                while liar_lists_victim():
                    await trio.sleep(0.1)
            await trio.sleep(10 * FAST.heartbeat)  # many heartbeats judge the report
            assert not liar_lists_victim()  # the lie stands in its latest links record
            assert tb.list_machines() and tc.list_machines()  # the victim's mirror stays
            assert tb.engine.reach.unreachable == {}


class _Cuttable(MemoryTransport):
    """Reports no connection to the peers in ``cut`` (messages still flow: only this
    peer's view of its connections changes, which is all the rule looks at)."""

    cut: frozenset[str] = frozenset()

    def topic_peers(self) -> set[str]:
        return super().topic_peers() - self.cut


async def _wide_gossip(t: Topic) -> None:
    sent = t.metrics.sent_by_type["gossip"]
    with trio.fail_after(60):
        while t.metrics.sent_by_type["gossip"] == sent:
            await trio.sleep(0.05)


async def test_a_wide_digest_follows_a_separation_not_every_new_connection(
    autojump_clock: MockClock,
) -> None:
    """Connection managers open connections to known peers all the time: only the first
    within ``wide_gossip_interval``, or one after a separation, makes a wide digest."""
    net = MemoryNetwork()
    async with memory_topics(net, [[worker("a1")]]) as (ta,):
        tr = _Cuttable(net, "t", "b")
        net._secret("b")
        net._subs["t"]["b"] = tr  # what join() does, with our class
        async with open_topic("t", transport=tr, settings=FAST) as tb:
            await discovered([ta, tb], [1, 0])
            eng, a = tb.engine, ta.peer_id
            joined, left = PeerEvent(PeerEventKind.JOINED, a), PeerEvent(PeerEventKind.LEFT, a)
            eng.on_peer_event(joined)  # the first new connection to a known peer: wide
            assert eng.peers.rejoined
            await _wide_gossip(tb)
            assert not eng.peers.rejoined
            eng.on_peer_event(joined)  # another one right after: no
            assert not eng.peers.rejoined
            eng.on_peer_event(left)
            await trio.sleep(FAST.heartbeat / 4)
            eng.on_peer_event(joined)  # a flap shorter than a heartbeat: no
            assert not eng.peers.rejoined
            tr.cut = frozenset({a})  # apart for a heartbeat or longer
            eng.on_peer_event(left)
            await trio.sleep(1.5 * FAST.heartbeat)
            tr.cut = frozenset()
            eng.on_peer_event(joined)
            assert eng.peers.rejoined
