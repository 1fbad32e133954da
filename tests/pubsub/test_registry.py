"""Registry: freshness, applying records, missing sets, removal, tombstones, views."""

from __future__ import annotations

from asyncmachine.pubsub import EventKind, MemoryNetwork, TopicEvent
from asyncmachine.pubsub._outcomes import Freshness, Take
from asyncmachine.pubsub._wire import DigestEntry, decode_clocks_body, decode_info_body

from .engine_kit import Owner, feed, registry


def test_freshness_by_header_and_tombstones() -> None:
    net = MemoryNetwork()
    o = Owner(net, "peer-a")
    old_info, _ = o.entry()
    o.expose()
    info, clocks = o.entry()
    reg = registry("me")
    assert reg.check(info, False) is Freshness.NEW
    feed(reg, o)
    assert reg.check(info, False) is Freshness.DUP
    assert reg.check(clocks, True) is Freshness.DUP
    assert reg.check(old_info, False) is Freshness.STALE
    reg.remove_peer("peer-a", "timeout", 1.0)
    assert reg.check(info, False) is Freshness.STALE  # a tombstone keeps the versions
    o.machs[0].add1("Bar")
    assert reg.check(o.entry()[1], True) is Freshness.NEW
    reg.remove_peer("peer-a", "bye", 2.0, bye=True, epoch=1)
    assert reg.check(o.entry()[1], True) is Freshness.DEPARTED
    o.restart()
    assert reg.check(o.entry()[0], False) is Freshness.NEW  # a new session may come back


def test_apply_emits_events_and_updates_mirrors() -> None:
    events: list[TopicEvent] = []
    reg = registry("me", events)
    o = Owner(MemoryNetwork(), "peer-a", machines=2)
    o.machs[1].add1("Bar")
    feed(reg, o, at=1.0)
    kinds = [e.kind for e in events]
    assert kinds.count(EventKind.PEER_DISCOVERED) == 1
    assert kinds.count(EventKind.MACHINE_DISCOVERED) == 2
    assert kinds.count(EventKind.CLOCK_UPDATED) == 1  # only the machine whose clock moved
    rm = next(m for m in reg.machines() if m.info.id == "peer-a-m1")
    assert rm.mirror.is1("Bar")  # type: ignore[attr-defined]
    assert rm.mirror._ticks is rm.clock  # type: ignore[attr-defined]  # one tuple, not a copy
    assert reg.holds("peer-a", clocks=True) and not reg.holds("peer-b", clocks=False)


def test_clocks_of_the_wrong_shape_are_rejected() -> None:
    reg = registry("me")
    o = Owner(MemoryNetwork(), "peer-a")
    feed(reg, o)
    other = Owner(MemoryNetwork(), "peer-a", machines=2)  # same id, other machine list
    other.machs[0].add1("Bar")
    other.machs[0].add1("Bar")
    _, clocks = other.entry()
    out = reg.apply_clocks(clocks, decode_clocks_body(clocks.body), 1.0)
    assert (out.take, out.reason) == (Take.REJECTED, "shape")


def test_missing_sets_and_digests() -> None:
    reg = registry("me")
    o = Owner(MemoryNetwork(), "peer-a")
    reg.note_digest(DigestEntry("peer-a", 1, 1, 1), 5.0)
    assert reg.missing_info == {"peer-a": 5.0} and reg.is_missing("peer-a")
    reg.want_info("peer-a", 9.0)
    assert reg.missing_info["peer-a"] == 5.0  # the first notice counts
    feed(reg, o)
    assert not reg.missing_info
    reg.note_digest(DigestEntry("peer-a", 1, 1, 7), 6.0)
    assert reg.missing_clocks == {"peer-a": (1, 7)}
    reg.forget_missing("peer-a", clocks=True)
    assert not reg.is_missing("peer-a")
    reg.note_digest(DigestEntry("me", 9, 9, 9), 6.0)  # own entries are ignored
    assert not reg.missing_info


def test_view_expire_and_hello_misses() -> None:
    net = MemoryNetwork()
    reg = registry("me")
    empty = reg.view()
    feed(reg, Owner(net, "peer-a"), at=0.0)
    feed(reg, Owner(net, "peer-b"), at=5.0)
    assert reg.view()[0] == 3 and reg.last_new_peer_at == 5.0
    assert reg.unknown_to(set(), 1.0, exclude="peer-x") == ["peer-a"]
    assert reg.unknown_to(set(), 9.0, exclude="peer-a") == ["peer-b"]
    reg.heard("peer-b", 50.0)
    assert reg.expire(100.0, timeout=60.0, tombstone_ttl=1000.0) == ["peer-a"]
    reg.remove_peer("peer-b", "bye", 101.0, bye=True)
    assert reg.view() == empty and not reg.peers
    reg.expire(2000.0, timeout=60.0, tombstone_ttl=1000.0)  # tombstones expire too
    assert reg.check(Owner(net, "peer-a").entry()[0], False) is Freshness.NEW


def test_new_session_keeps_its_early_clocks() -> None:
    """Regression: clocks of a new session that arrive before its info were dropped
    when that info replaced the old session (found by the property tests)."""
    reg = registry("me")
    o = Owner(MemoryNetwork(), "peer-a")
    feed(reg, o)
    o.restart()
    o.machs[0].add1("Bar")
    info, clocks = o.entry()
    out = reg.apply_clocks(clocks, decode_clocks_body(clocks.body), 1.0)
    assert out.take is Take.PENDING
    reg.apply_info(info, decode_info_body(info.body), 2.0)
    p = reg.peers["peer-a"]
    assert (p.epoch, p.clock_seq) == (2, clocks.seq) and not reg.pending


def test_pending_clocks_of_an_older_session_are_dropped() -> None:
    """Regression: pending clocks of a session whose info never came stayed pending
    (and MissPeersByUpdates on) after a newer session's info arrived."""
    reg = registry("me")
    o = Owner(MemoryNetwork(), "peer-a")
    _, old_clocks = o.entry()
    reg.apply_clocks(old_clocks, decode_clocks_body(old_clocks.body), 0.0)
    assert reg.pending
    o.restart()
    feed(reg, o)
    assert not reg.pending and reg.peers["peer-a"].epoch == 2


def test_a_silent_peer_is_not_chosen_to_respond() -> None:
    """A crashed peer answers nothing: once it has been silent for longer than
    ``silence``, hellos and requests go to the others (and every peer that heard the
    same makes the same choice)."""
    net = MemoryNetwork()
    reg = registry("me")
    for pid in ("peer-a", "peer-b"):
        feed(reg, Owner(net, pid), at=10.0)
    reg.heard("peer-b", 20.0)
    nonces = range(300)

    def picks(now: float | None) -> dict[int, list[str]]:
        return {n: reg.chosen(n, 1, {"asker"}, now) for n in nonces}

    plain = picks(None)
    assert {c[0] for c in plain.values()} == {"me", "peer-a", "peer-b"}
    assert picks(21.0) == plain  # silence not set: nobody is skipped
    reg.silence = 5.0
    assert picks(14.0) == plain  # nobody silent for 5 s yet
    skipping = picks(21.0)  # peer-a silent for 11 s: its nonces go to the next on the ring
    assert {c[0] for c in skipping.values()} == {"me", "peer-b"}
    assert all(skipping[n] == c for n, c in plain.items() if c != ["peer-a"])
