"""A dead peer is noticed in seconds from its neighbours' links records (issue 11), and
one lying neighbour can't evict a live peer (real Topics on the in-memory network)."""

from __future__ import annotations

from collections.abc import Callable

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


class _Line(MemoryTransport):
    """Connected (and a topic peer) only to ``neighbours``: with b in the middle, peers a
    and c make the line a - b - c (messages still reach everyone; connections and their
    events, all the rule looks at, are the line's)."""

    neighbours: frozenset[str] = frozenset()

    def topic_peers(self) -> set[str]:
        return super().topic_peers() & self.neighbours

    def connected_peers(self) -> set[str]:
        return super().connected_peers() & self.neighbours

    def push_peer_event(self, ev: PeerEvent) -> None:
        if ev.peer_id in self.neighbours:
            super().push_peer_event(ev)


async def test_a_dead_peer_with_one_neighbour_goes_a_keepalive_later_elsewhere(
    autojump_clock: MockClock,
) -> None:
    """c's links record names only b: b saw the connection drop and drops c at once; a
    has b's report alone (a single report may be a view of the link c doesn't share),
    so it waits until c has also missed a keepalive, and still beats the peer timeout."""
    net = MemoryNetwork()
    ends = {pid: _Line(net, "t", pid) for pid in ("a", "c")}
    async with memory_topics(net, [[]], peer_ids=["b"]) as (tb,):
        for pid, tr in ends.items():
            tr.neighbours = frozenset({"b"})
            net._secret(pid)
            net._subs["t"][pid] = tr  # what join() does, with our class
        async with (
            open_topic("t", transport=ends["a"], settings=FAST) as ta,
            open_topic("t", transport=ends["c"], settings=FAST, expose=[worker("c1")]) as tc,
        ):
            await discovered([ta, tb, tc], [0, 0, 1])
            removed = await _kill_and_time_removals(net, ends["c"], ta, tb)
            keepalive, timeout = ta.engine.liveness.periods()
            assert removed["b"] <= 3 * FAST.heartbeat
            assert keepalive <= removed["a"] < timeout
            assert not ta.list_machines() and not tb.list_machines()


async def _kill_and_time_removals(
    net: MemoryNetwork, c: MemoryTransport, ta: Topic, tb: Topic
) -> dict[str, float]:
    """Once a holds c's links record (only b) and b's (a and c), kill c; the seconds
    until a and b drop it as unreachable."""

    def ready() -> bool:
        links = ta.peer_links()
        return links.get("c", ((), ()))[0] == ("b",) and set(links.get("b", ((), ()))[0]) == {
            "a",
            "c",
        }

    with trio.fail_after(60):
        while not ready():
            await trio.sleep(0.1)
    removed: dict[str, float] = {}
    t0 = trio.current_time()

    def observe(me: str) -> Callable[[TopicEvent], None]:
        def on_event(e: TopicEvent) -> None:
            if e.kind is EventKind.PEER_REMOVED and e.peer_id == "c":
                assert e.reason == "unreachable"
                removed.setdefault(me, trio.current_time() - t0)

        return on_event

    ta.add_observer(observe("a"))
    tb.add_observer(observe("b"))
    net.leave(c)  # kill -9: no bye
    with trio.fail_after(60):
        while len(removed) < 2:
            await trio.sleep(0.1)
    return removed
