"""Rate windows (Go defect 5), work allowances and rendezvous responder choice (Go defect 3)."""

from __future__ import annotations

from collections import Counter

from asyncmachine.pubsub._ratelimit import RateLimiter, WorkAllowance
from asyncmachine.pubsub._rendezvous import Ring


def test_fixed_window_on_monotonic_time() -> None:
    rl = RateLimiter({"info": 10}, window=5.0)
    assert all(rl.allow("info", 100.0) for _ in range(10))
    assert not rl.allow("info", 101.0)  # the 11th in one window is refused
    assert rl.next_free("info", 101.0) == 105.0
    assert rl.allow("info", 105.0)  # a new window
    # Go: the same wall-clock window index a minute later did not reset; here it does
    rl2 = RateLimiter({"info": 1}, window=5.0)
    assert rl2.allow("info", 0.0) and not rl2.allow("info", 1.0)
    assert rl2.allow("info", 60.0)
    assert rl.allow("unlimited", 0.0)


def test_per_key_windows() -> None:
    rl = RateLimiter({"gossip": 2}, window=1.0)
    assert rl.allow("gossip", 0, "a") and rl.allow("gossip", 0, "a")
    assert not rl.allow("gossip", 0, "a")
    assert rl.allow("gossip", 0, "b")
    rl.gc(5.0)
    assert rl.allow("gossip", 5.0, "a")


def test_ended_windows_are_swept() -> None:
    """Authors heard from once each, over time: only the running windows are held."""
    rl = RateLimiter({"info": 1}, window=1.0)
    for i in range(10_000):
        assert rl.allow("info", i / 100, f"author-{i}")
        assert len(rl) <= 2 * 100 + 64  # ~100 windows run at any time
    assert not rl.allow("info", 99.995, "author-9999")  # a running window still counts


def test_a_work_allowance_charges_records_and_bytes_together() -> None:
    work = WorkAllowance(records=3, nbytes=100, window=1.0)
    assert work.charge(0.0, "a", 60) and work.charge(0.1, "a", 30)
    assert not work.charge(0.2, "a", 20)  # 110 bytes: refused, and nothing counted
    assert work.charge(0.3, "a", 10)  # so 10 more bytes still fit: the 3rd record
    assert not work.charge(0.4, "a", 0)  # a 4th record does not
    assert work.charge(0.4, "b", 100)  # per key
    assert not work.charge(0.5, "c", 101)  # over the bytes alone, even in a new window
    assert work.charge(1.0, "a", 100)  # a new window for "a"
    for i in range(10_000):  # keys whose windows ended are swept
        assert work.charge(2.0 + i / 100, f"author-{i}", 1)
        assert len(work) <= 2 * 100 + 64


def test_rendezvous_picks_few_and_consistently() -> None:
    peers = [f"peer-{i}" for i in range(50)]
    rings = []
    for _ in range(3):
        r = Ring()
        for p in peers:
            r.add(p)
        rings.append(r)
    picks: Counter[str] = Counter()
    for nonce in range(2000):
        chosen = [r.chosen(nonce, 1, {"peer-0"}) for r in rings]
        assert chosen[0] == chosen[1] == chosen[2] and len(chosen[0]) == 1
        assert chosen[0] != ["peer-0"]
        picks[chosen[0][0]] += 1
    # spread over many peers (not always the same one)
    assert len(picks) > 30
    r = rings[0]
    r.discard("peer-1")
    assert "peer-1" not in r and len(r) == 49
    assert len(r.chosen(7, 3, set())) == 3
    assert Ring().chosen(1, 1) == []
