"""ConnectionManager in isolation: a fake dialer on Trio's MockClock (virtual time)."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from asyncmachine.pubsub._connect import ConnectionManager
from asyncmachine.pubsub._connect_book import (
    MAX_ADDRS_PER_PEER,
    MAX_BOOK_PEERS,
    AddressSource,
    DropReason,
)
from asyncmachine.pubsub._connect_policy import ConnectSettings, TrimCandidate, diversity_score

SRC = AddressSource.RECORD


class FakeDialer:
    """Connections as a set; ``refuse`` peers fail every dial; all dials are logged."""

    def __init__(self) -> None:
        self.conns: set[str] = set()
        self.refuse: set[str] = set()
        self.dials: list[tuple[float, str]] = []
        self.closed: list[str] = []

    async def dial(self, peer_id: str, addrs: Sequence[str]) -> None:
        assert addrs
        self.dials.append((trio.current_time(), peer_id))
        await trio.sleep(0.05)
        if peer_id in self.refuse:
            raise ConnectionRefusedError(peer_id)
        self.conns.add(peer_id)

    async def close(self, peer_id: str) -> None:
        self.closed.append(peer_id)
        self.conns.discard(peer_id)

    def connected(self) -> set[str]:
        return set(self.conns)


@asynccontextmanager
async def running(m: ConnectionManager) -> AsyncIterator[ConnectionManager]:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(m.run)
        yield m
        nursery.cancel_scope.cancel()


def manager(dialer: FakeDialer, rng_seed: int = 1, **settings: Any) -> ConnectionManager:
    return ConnectionManager(
        dialer,
        "me",
        ConnectSettings(**settings),
        rng=random.Random(rng_seed),
    )


def learn_peers(m: ConnectionManager, n: int, prefix: str = "p") -> list[str]:
    peers = [f"{prefix}{i}" for i in range(n)]
    for p in peers:
        assert m.learn(p, [f"/mem/{p}"], SRC)
    return peers


async def test_dials_up_to_low_explores_up_to_target_and_no_further(
    autojump_clock: trio.testing.MockClock,
) -> None:
    d = FakeDialer()
    m = manager(d, low=4, high=10, explore_interval=5.0)  # target: 7
    learn_peers(m, 30)
    async with running(m):
        await trio.sleep(1.0)
        assert len(d.conns) == 4  # straight to low, no further at once
        with trio.fail_after(60):
            while len(d.conns) < 7:
                await trio.sleep(1.0)
                assert len(d.conns) <= 7
        for _ in range(600):
            await trio.sleep(1.0)
            assert len(d.conns) == 7  # a settled network churns no connections
    c = m.counters
    assert (c.known, c.dial_attempts, c.dial_failures, c.trimmed) == (30, 7, 0, 0)


async def test_explores_only_toward_separated_peers_between_the_watermarks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    d = FakeDialer()
    m = manager(d, low=2, high=8, target=2, explore_interval=5.0)
    peers = learn_peers(m, 10)
    async with running(m):
        await trio.sleep(1.0)
        first = set(d.conns)
        assert len(first) == 2
        lost = [p for p in peers if p not in first][:2]
        for p in lost:
            m.note_separated(p, True)
        m.note_separated("unknown", True)  # not in the book: nothing to dial
        with trio.fail_after(60):
            while not set(lost) <= d.conns:
                await trio.sleep(1.0)
        assert d.conns == first | set(lost)  # nobody else
        dialled = len(d.dials)
        await trio.sleep(300.0)
        assert len(d.dials) == dialled  # connected: no longer separated


async def test_exploration_toward_a_dead_peer_backs_off_to_explore_max(
    autojump_clock: trio.testing.MockClock,
) -> None:
    d = FakeDialer()
    m = manager(
        d, low=1, high=8, target=1, explore_interval=5.0, explore_max=80.0, backoff_max=10.0
    )
    learn_peers(m, 2)
    async with running(m):
        await trio.sleep(1.0)
        (dead,) = {"p0", "p1"} - d.conns
        d.refuse.add(dead)
        m.note_separated(dead, True)
        await trio.sleep(2000.0)
        times = [t for t, p in d.dials if p == dead]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(times) >= 5
        assert gaps[-1] >= 0.5 * 80.0  # doubled from 5 s up to the cap (±50 %)
        assert max(gaps) <= 1.5 * 80.0 + 1.0
        assert len(times) < 2000.0 / 80.0 + 8  # not every 5 s
        m.note_separated(dead, False)  # found again (a record): no more dials
        n = len(d.dials)
        await trio.sleep(500.0)
        assert len(d.dials) == n


async def test_lost_connection_is_redialed(autojump_clock: trio.testing.MockClock) -> None:
    d = FakeDialer()
    m = manager(d, low=2, high=2, grace=1.0)
    learn_peers(m, 2)
    async with running(m):
        await trio.sleep(2.0)
        assert d.conns == {"p0", "p1"}
        d.conns.discard("p0")
        m.poke()
        with trio.fail_after(5.0):  # backoff_initial 1 s, jitter 20 %
            while "p0" not in d.conns:
                await trio.sleep(0.1)


def test_backoff_grows_exponentially_within_jitter_bounds() -> None:
    m = manager(FakeDialer(), backoff_initial=1.0, backoff_max=30.0, jitter=0.2)
    for failures, base in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 30), (20, 30)]:
        samples = [m.backoff(failures) for _ in range(200)]
        assert all(0.8 * base <= s <= 1.2 * base for s in samples), failures
        assert max(samples) - min(samples) > 0.2 * base  # really jittered


async def test_refusing_peer_is_backed_off_not_hammered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    d = FakeDialer()
    d.refuse.add("p0")
    m = manager(d, low=4, backoff_initial=1.0, backoff_max=30.0, jitter=0.2)
    learn_peers(m, 1)
    async with running(m):
        await trio.sleep(120.0)
    times = [t for t, p in d.dials if p == "p0"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # 1, 2, 4, 8, 16, 30, 30 ... seconds (±20 %): 8 or 9 dials in two minutes
    assert 6 <= len(times) <= 10
    for k, gap in enumerate(gaps, start=1):
        assert gap >= 0.8 * min(30.0, 2.0 ** (k - 1)), (k, gaps)
    assert m.counters.dial_failures == len(times)


async def test_flood_of_addresses_is_bounded_and_dials_capped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    d = FakeDialer()
    m = manager(d, low=50, high=60, max_dials_per_second=5, max_concurrent_dials=50)
    for i in range(5000):
        m.learn(f"x{i}", [f"/mem/x{i}"], SRC)
        d.refuse.add(f"x{i}")
    assert len(m.book) == MAX_BOOK_PEERS
    assert m.counters.dropped[DropReason.BOOK_FULL] == 5000 - MAX_BOOK_PEERS
    async with running(m):
        await trio.sleep(60.0)
    times = sorted(t for t, _ in d.dials)
    assert times
    for i, t in enumerate(times):  # no 1 s window holds more than the cap
        assert sum(1 for u in times[i : i + 6] if u < t + 1.0) <= 5
    assert len(times) <= 5 * 61


async def test_bad_addresses_are_dropped_with_counted_reasons() -> None:
    def strict(peer: str, addr: str) -> str:
        if not addr.startswith("/ip4/"):
            raise ValueError(addr)
        return addr

    m = ConnectionManager(FakeDialer(), "me", validate=strict)
    assert not m.learn("a", ["nonsense", "/dns/x", 17, "/ip4/" + "9" * 300], SRC)  # type: ignore[list-item]
    assert m.book.get("a") is None
    assert not m.learn("me", ["/ip4/1.2.3.4"], SRC)
    many = [f"/ip4/10.0.{i // 256}.{i % 256}" for i in range(5000)]
    assert m.learn("b", many, SRC)
    entry = m.book.get("b")
    assert entry is not None and len(entry.addrs) == MAX_ADDRS_PER_PEER
    dropped = m.counters.dropped
    assert dropped[DropReason.MALFORMED] == 4
    assert dropped[DropReason.OWN] == 1
    assert dropped[DropReason.TOO_MANY] > 0


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="low"):
        ConnectSettings(low=5, high=4)
    with pytest.raises(ValueError, match="jitter"):
        ConnectSettings(jitter=1.5)


async def test_pinned_peers_survive_a_full_book() -> None:
    m = ConnectionManager(FakeDialer(), "me")
    m.learn("boot", ["/b"], AddressSource.BOOTSTRAP)
    for i in range(MAX_BOOK_PEERS + 100):
        m.learn(f"x{i}", [f"/x{i}"], SRC)
    assert m.book.get("boot") is not None
    assert len(m.book) == MAX_BOOK_PEERS


async def test_trimming_keeps_a_diverse_set() -> None:
    """14 connections, high 12: the two trimmed come from the clique around a hub,
    never the four peers only we reach."""
    d = FakeDialer()
    m = manager(d, low=4, high=12, grace=0.0)
    clique = [f"c{i}" for i in range(9)] + ["hub"]
    lonely = [f"l{i}" for i in range(4)]
    for p in clique + lonely:
        m.learn(p, [f"/mem/{p}"], SRC)
    for p in clique:
        m.note_links(p, [q for q in clique if q != p] + (lonely if p == "hub" else []))
    for p in lonely:
        m.note_links(p, ["hub"])
    d.conns = set(clique + lonely)
    victims = m.plan_trim(0.0, d.connected())
    assert len(victims) == 2
    assert "hub" in victims  # the most connected goes first
    assert not set(victims) & set(lonely)


async def test_trimming_spares_young_and_favoured_connections() -> None:
    d = FakeDialer()
    m = ConnectionManager(
        d, "me", ConnectSettings(low=1, high=2, grace=10.0), favoured=lambda p: p == "f"
    )
    for p in ("a", "b", "f", "young"):
        m.learn(p, [f"/mem/{p}"], SRC)
    d.conns = {"a", "b", "f", "young"}
    m._sync(0.0)  # connected_since = 0 for all
    entry = m.book.get("young")
    assert entry is not None
    entry.connected_since = 15.0
    victims = m.plan_trim(20.0, d.connected())
    assert sorted(victims) == ["a", "b"]
    assert diversity_score(TrimCandidate("f", 50, 9, True, 1.0, SRC)) > diversity_score(
        TrimCandidate("x", 1, 0, False, 1.0, SRC)
    )


async def test_discover_runs_when_the_book_runs_dry(
    autojump_clock: trio.testing.MockClock,
) -> None:
    d = FakeDialer()
    rounds: list[float] = []

    async def discover() -> None:
        rounds.append(trio.current_time())
        m.learn(f"found{len(rounds)}", [f"/mem/found{len(rounds)}"], AddressSource.DHT)

    m = ConnectionManager(
        d,
        "me",
        ConnectSettings(low=3, discover_interval=5.0, explore_interval=1000.0),
        discover=discover,
    )
    async with running(m):
        await trio.sleep(30.0)
    assert len(d.conns) == 3
    assert 3 <= len(rounds) <= 4  # one per discover_interval until low is reached
    assert all(b - a >= 5.0 for a, b in itertools.pairwise(rounds))


async def test_connections_not_in_the_book_get_their_grace_too() -> None:
    """A bootstrap peer gets many inbound connections at once, before identify told it
    where those peers listen (not in the book yet): none may be trimmed within
    ``grace`` of when the manager first saw it, else a newcomer loses its only link
    before it learned anyone else (seen: 3 of 20 simulated peers cut off for good)."""
    d = FakeDialer()
    m = manager(d, low=1, high=2, grace=10.0)
    d.conns = {"in0", "in1", "in2", "in3"}  # inbound, unknown to the book
    m._sync(0.0)
    assert m.plan_trim(5.0, d.connected()) == []
    m.learn("in0", ["/mem/in0"], AddressSource.IDENTIFY)  # identify arrives later
    m._sync(6.0)
    assert m.plan_trim(9.0, d.connected()) == []
    assert len(m.plan_trim(10.0, d.connected())) == 2  # grace over (counted from 0)
    d.conns.discard("in1")
    m._sync(11.0)
    d.conns.add("in1")  # back: a new connection, a new grace period
    m._sync(12.0)
    assert "in1" not in m.plan_trim(20.0, d.connected())
