"""Reachability: a dead peer is judged from its neighbours' reports, never from one liar."""

from __future__ import annotations

from asyncmachine.pubsub._engine._reachability import Reachability

ME = "me"


def test_two_neighbours_losing_a_peer_make_it_unreachable() -> None:
    r = Reachability(ME)
    near = {"a", "b", "c"}
    r.reported("a", {"d", "x"}, {"x"}, now=1.0)
    assert not r.judge("d", near, connected=False, now=1.0)  # one report is not enough
    r.reported("b", {"d"}, set(), now=2.0)
    assert r.judge("d", near, connected=False, now=2.0)
    assert r.unreachable == {"d": 2.0}
    assert r.due(4.0, grace=3.0) == [] and r.due(5.0, grace=3.0) == ["d"]


def test_one_liar_cannot_evict_a_peer_with_several_neighbours() -> None:
    r = Reachability(ME)
    r.reported("liar", {"d"}, set(), now=1.0)
    r.reported("liar", {"d"}, set(), now=2.0)  # repeating counts once
    assert not r.judge("d", {"liar", "honest"}, connected=False, now=3.0)
    assert r.suspects() == ["d"]


def test_reports_from_non_neighbours_do_not_count() -> None:
    r = Reachability(ME)
    r.reported("x", {"d"}, set(), now=1.0)
    r.reported("y", {"d"}, set(), now=1.0)
    assert not r.judge("d", {"a", "b"}, connected=False, now=1.0)


def test_a_single_neighbour_suffices_for_a_peer_with_one_connection() -> None:
    r = Reachability(ME)
    r.reported(ME, {"d"}, set(), now=1.0)
    assert r.judge("d", {ME}, connected=False, now=1.0)


def test_anything_from_the_peer_itself_clears_the_suspicion() -> None:
    r = Reachability(ME)
    r.reported("a", {"d"}, set(), now=1.0)
    r.reported("b", {"d"}, set(), now=1.0)
    assert r.judge("d", {"a", "b"}, connected=False, now=1.0)
    r.alive("d")
    assert r.unreachable == {} and r.suspects() == []
    # a reporter reconnecting to it withdraws its report
    r.reported("a", {"d"}, set(), now=2.0)
    r.reported("b", {"d"}, set(), now=2.0)
    r.reported("b", set(), {"d"}, now=3.0)
    assert not r.judge("d", {"a", "b"}, connected=False, now=3.0)
    # and being connected to it ourselves is proof enough
    r.reported("b", {"d"}, set(), now=4.0)
    assert not r.judge("d", {"a", "b"}, connected=True, now=4.0)
    assert r.suspects() == []


def test_forgetting_a_peer_drops_its_reports() -> None:
    r = Reachability(ME)
    r.reported("a", {"d", "e"}, set(), now=1.0)
    r.forget("a")
    assert r.suspects() == []
