"""Joiners: hellos decided once discovery pauses, by the view of then; pulls at once,
with the joiner's known peers; the owner answers a pull that misses it."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asyncmachine.pubsub import MemoryNetwork
from asyncmachine.pubsub._engine import Answers, Hello, Joiners
from asyncmachine.pubsub._registry import Registry
from asyncmachine.pubsub._rendezvous import Ring, ring_key

from .engine_kit import TOPIC, Owner, feed, registry
from .helpers import FAST

PAUSE = FAST.hello_answer_spread  # no messages in flight: the pause is the spread


class _Setup:
    """Peer "me" with its Answers, Hello and Joiners; ``answered`` lists the authors of
    hellos it decided to answer."""

    def __init__(self, net: MemoryNetwork, hello: Hello, reg: Registry) -> None:
        self.net = net
        self.reg = reg
        self.me = Owner(net, "me")
        self.answers = Answers(self.me.local, reg, FAST, lambda _at: None, 0.0)
        self.answered: list[str] = []
        self.joiners = Joiners(
            "me", reg, self.answers, hello, FAST, random.Random(1), self.answered.append
        )

    def peers(self, *ids: str, at: float) -> None:
        for pid in ids:
            feed(self.reg, Owner(self.net, pid), at=at)

    def owed(self) -> list[str]:
        return sorted(self.answers.take_due(math.inf)[0])


@asynccontextmanager
async def setup() -> AsyncIterator[_Setup]:
    net = MemoryNetwork()
    async with net.join(TOPIC, "me") as tr:
        reg = registry("me")
        yield _Setup(net, Hello(FAST, tr, reg), reg)


def _nonce(
    ring: Ring, want: list[str], exclude: set[str], also: frozenset[int] = frozenset()
) -> int:
    return next(n for n in range(100_000) if ring.chosen(n, 1, exclude, also) == want)


def _ring(*ids: str) -> Ring:
    r = Ring()
    for pid in ids:
        r.add(pid)
    return r


async def test_a_burst_of_hellos_is_decided_once_discovery_pauses() -> None:
    async with setup() as s:
        s.peers("peer-j", at=10.0)  # its hello made it known
        assert s.joiners.arrived("peer-j", 1, set(), 10.0, 0) == 10.0 + PAUSE
        s.peers("peer-k", at=10.05)  # another new peer: the burst goes on
        assert s.joiners.decide(10.0 + PAUSE) == 10.05 + PAUSE
        assert len(s.joiners) == 1
        # new peers keep arriving: decided settle after the hello at the latest
        for i in range(1, 30):
            s.peers(f"peer-{i}", at=10.05 + 0.05 * i)
        assert s.joiners.decide(10.5) == 10.0 + FAST.hello_retry
        assert s.joiners.decide(10.0 + FAST.hello_retry) == math.inf
        assert len(s.joiners) == 0


async def test_the_view_at_the_decision_chooses_the_responder() -> None:
    """A peer that knew only the joiner when its hello arrived counted itself chosen for
    any nonce; with the view of the decision, only the responder of that view answers."""
    async with setup() as s:
        others = [f"peer-{i}" for i in range(8)]
        full = _ring("me", "peer-j", *others)
        not_me = _nonce(full, ["peer-0"], {"peer-j"})
        mine = _nonce(full, ["me"], {"peer-j"})
        for author, nonce in (("peer-j", not_me), ("peer-k", mine)):
            s.peers(author, at=1.0)
            assert s.reg.chosen(nonce, 1, {author}) == ["me"]  # the small view
            s.joiners.arrived(author, nonce, set(), 1.0, 900)
            s.answers.broadcast(author, 1_000)
        s.peers(*others, at=1.0)
        for o in others:  # their hellos, after the joiners listened
            s.answers.broadcast(o, 2_000)
        s.answers.broadcast("me", 500)  # own hello before the joiners listened
        assert s.joiners.decide(1.0 + PAUSE) == math.inf
        assert s.answered == ["peer-k"]
        assert s.owed() == ["me"]


async def test_a_pull_is_decided_at_once_with_the_joiners_known_peers() -> None:
    async with setup() as s:
        s.peers("peer-a", "peer-j", at=0.0)
        s.answers.broadcast("me", 100)
        s.answers.broadcast("peer-a", 100)
        mine = _ring("me", "peer-a", "peer-j")
        # chosen in this view, but a peer the joiner knows (unknown here) comes first
        nonce = next(
            n
            for n in range(100_000)
            if mine.chosen(n, 1, {"peer-j"}) == ["me"]
            and mine.chosen(n, 1, {"peer-j"}, {ring_key("peer-x")}) == []
        )
        known = {ring_key("peer-x"), ring_key("me")}
        assert s.joiners.arrived("peer-j", nonce, known, 5.0, 1_000) == 5.0
        s.joiners.decide(5.0)
        assert s.answered == [] and s.owed() == []
        # without peer-x it is this peer's to answer: peer-a, not listed as known
        s.joiners.arrived("peer-j", nonce, {ring_key("me")}, 6.0, 1_000)
        s.joiners.decide(6.0)
        assert s.answered == ["peer-j"] and s.owed() == ["peer-a"]


async def test_the_owner_answers_a_pull_that_misses_it() -> None:
    """Only the owner may hold its records when every copy was lost: a joiner that lists
    the peers it knows but not this one gets them even from a peer not chosen."""
    async with setup() as s:
        s.peers("peer-a", "peer-j", at=0.0)
        s.answers.broadcast("me", 100)
        s.answers.broadcast("peer-a", 100)
        ring = _ring("me", "peer-a", "peer-j")
        nonce = _nonce(ring, ["peer-a"], {"peer-j"})
        s.joiners.arrived("peer-j", nonce, {ring_key("peer-a")}, 5.0, 1_000)
        s.joiners.decide(5.0)
        assert s.answered == ["peer-j"] and s.owed() == ["me"]  # not peer-a's records
        # not while discovery is under way here (a start: first hellos list a few peers)
        s.peers("peer-b", at=5.5)
        ring.add("peer-b")
        nonce = _nonce(ring, ["peer-a"], {"peer-j"})
        s.joiners.arrived("peer-j", nonce, {ring_key("peer-a")}, 6.0, 1_000)
        s.joiners.decide(6.0)
        assert s.answered == ["peer-j"] and s.owed() == []
        # a first hello (nothing known) is left to the chosen responder
        s.joiners.arrived("peer-j", nonce, set(), 9.0, 1_000)
        s.joiners.decide(math.inf)
        assert s.answered == ["peer-j"] and s.owed() == []


def test_keys_known_elsewhere_take_their_places_on_the_ring() -> None:
    ring = _ring("a", "b", "c")
    for n in range(200):
        first = ring.chosen(n, 2)
        # a key just before the first chosen one takes the first place
        before = (ring_key(first[0]) - 1) % (1 << 64)
        assert ring.chosen(n, 2, (), {before}) == first[:1]
        assert ring.chosen(n, 2, (), {ring_key("b")}) == first  # on the ring already
        assert ring.chosen(n, 1, (), {before, ring_key(first[0]) + 1}) == []
