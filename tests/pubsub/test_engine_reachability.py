"""Reachability: a dead peer is judged from its neighbours' reports, never from one liar."""

from __future__ import annotations

from dataclasses import replace

import trio

from asyncmachine.pubsub import MemoryNetwork, MemoryTransport
from asyncmachine.pubsub._engine._reachability import Reachability
from asyncmachine.pubsub._outcomes import Take
from asyncmachine.pubsub._settings import TopicSettings
from asyncmachine.pubsub._wire import DEFAULT_LIMITS

from .engine_kit import Owner, engine
from .helpers import FAST

ME = "me"


def test_two_neighbours_losing_a_peer_make_it_unreachable() -> None:
    r = Reachability(ME)
    r.links_arrived("d", 0.0)  # d: connected to a, b, c
    near: dict[str, list[str] | None] = {"a": ["d", "x"], "b": ["d"], "c": None}
    assert not r.judge("d", near, connected=False, now=1.0)
    r.links_arrived("a", 1.0)
    near["a"] = ["x"]  # a lost it
    assert not r.judge("d", near, connected=False, now=1.0)  # one report is not enough
    r.links_arrived("b", 2.0)
    near["b"] = []
    assert r.judge("d", near, connected=False, now=2.0)
    assert r.unreachable == {"d": 2.0}
    assert r.due(3.9, 2.0, 40.0) == [] and r.due(4.0, 2.0, 40.0) == ["d"]


def test_one_neighbours_report_alone_waits_for_a_missed_keepalive() -> None:
    # d's record names one neighbour, a; a's newer record doesn't list d: a link a and
    # d may see differently (a young hub's peer tables), or d died. d alive sends a
    # keepalive within a keepalive and lifts the verdict; dead, it goes then
    r = Reachability(ME)
    r.links_arrived("d", 0.0)
    r.links_arrived("a", 1.0)
    assert r.judge("d", {"a": []}, connected=False, now=1.0)
    assert r.due(3.0, 2.0, 40.0) == [] and r.due(41.0, 2.0, 40.0) == ["d"]
    r.alive("d")  # its keepalive
    assert r.judge("d", {"a": []}, connected=False, now=30.0)  # judged again: anew
    assert r.due(69.0, 2.0, 40.0) == [] and r.due(70.0, 2.0, 40.0) == ["d"]
    # a second witness, or our own lost connection, is a loss: the short grace
    r.links_arrived("b", 31.0)
    assert r.judge("d", {"a": [], "b": []}, connected=False, now=31.0)
    assert r.due(32.0, 2.0, 40.0) == ["d"]
    r2 = Reachability(ME)
    r2.links_arrived("d", 0.0)
    r2.connection("d", False, 1.0)
    assert r2.judge("d", {ME: None}, connected=False, now=1.0)
    assert r2.due(3.0, 2.0, 40.0) == ["d"]


def test_one_liar_cannot_evict_a_peer_with_several_neighbours() -> None:
    r = Reachability(ME)
    r.links_arrived("d", 0.0)
    r.links_arrived("liar", 1.0)
    assert not r.judge("d", {"liar": [], "honest": ["d"]}, connected=False, now=2.0)


def test_reports_older_than_the_peers_own_record_do_not_count() -> None:
    r = Reachability(ME)
    r.links_arrived("a", 1.0)
    r.links_arrived("b", 1.0)
    r.links_arrived("d", 2.0)  # d connected to a and b after they reported
    assert not r.judge("d", {"a": [], "b": []}, connected=False, now=3.0)


def test_own_lost_connection_counts_and_suffices_for_a_single_neighbour() -> None:
    r = Reachability(ME)
    r.links_arrived("d", 0.0)
    r.connection("d", False, 1.0)
    assert r.judge("d", {ME: None}, connected=False, now=1.0)
    r2 = Reachability(ME)
    r2.links_arrived("d", 0.0)
    r2.connection("d", False, 1.0)
    assert not r2.judge("d", {ME: None, "a": ["d"]}, connected=False, now=1.0)


def test_signs_of_life_lift_the_verdict() -> None:
    r = Reachability(ME)
    r.links_arrived("d", 0.0)
    r.links_arrived("a", 1.0)
    r.links_arrived("b", 1.0)
    near: dict[str, list[str] | None] = {"a": [], "b": []}
    assert r.judge("d", near, connected=False, now=1.0)
    r.alive("d")  # e.g. a message it sent just before dying, delivered late
    assert r.unreachable == {}
    assert r.judge("d", near, connected=False, now=2.0)  # judged again from the reports
    r.links_arrived("d", 3.0)  # a new record of its own: alive, and newer than the reports
    assert r.unreachable == {} and not r.judge("d", near, connected=False, now=3.0)
    assert not r.judge("d", near, connected=True, now=4.0)
    r.forget("d")
    assert "d" not in r.known()


def test_a_trim_of_less_than_half_the_links_is_not_a_death() -> None:
    # d (alive) closed its links to a and b over its high-water mark; their reports
    # arrive before d's own new record, which no longer lists them
    r = Reachability(ME)
    r.links_arrived("d", 0.0)
    near: dict[str, list[str] | None] = {n: ["d"] for n in "abcde"}
    for n in "ab":
        r.links_arrived(n, 1.0)
        near[n] = []
    assert not r.judge("d", near, connected=False, now=1.0)  # 2 of 5: c, d, e keep it
    r.links_arrived("c", 2.0)
    near["c"] = []
    assert r.judge("d", near, connected=False, now=2.0)  # 3 of 5: most have lost it


def test_this_peer_cut_by_a_trim_counts_as_one_report() -> None:
    r = Reachability(ME)
    r.links_arrived("d", 0.0)
    r.connection("d", False, 1.0)  # d trimmed us
    r.links_arrived("a", 1.0)  # and a
    near: dict[str, list[str] | None] = {n: ["d"] for n in (ME, "a", "b", "c", "e")}
    near["a"] = []
    assert not r.judge("d", near, connected=False, now=1.0)  # 2 of 5: b, c, e keep it
    near["b"] = ["x"]
    assert not r.judge("d", near, connected=False, now=1.0)  # b's report is older than d's
    r.links_arrived("b", 1.5)
    assert r.judge("d", near, connected=False, now=1.5)  # 3 of 5


def test_only_peers_with_a_reported_loss_are_suspects_for_the_heartbeat() -> None:
    r = Reachability(ME)
    r.links_arrived("d", 0.0)
    near: dict[str, list[str] | None] = {"a": ["d"], "b": ["d"], "c": ["d"]}
    assert not r.judge("d", near, connected=False, now=1.0)
    assert r.suspects() == set()  # nothing reported lost: nothing to re-judge
    r.links_arrived("a", 1.0)
    near["a"] = []
    assert not r.judge("d", near, connected=False, now=1.0)
    assert r.suspects() == {"d"}  # one report: judged again on each heartbeat
    r.connection("e", False, 1.5)
    assert r.suspects() == {"d", "e"}  # our own connection to e dropped
    assert not r.judge("d", near, connected=True, now=2.0)
    r.forget("e")
    assert r.suspects() == set()


def test_peers_whose_newer_records_list_it_vouch_for_a_peer() -> None:
    # d (alive) was trimmed by a and b, which its own record still lists; its new
    # neighbours x, y and z list it in records newer than d's: the link is up there
    r = Reachability(ME)
    r.links_arrived("d", 0.0)
    for n in "ab":
        r.links_arrived(n, 1.0)
    for n in "xyz":
        r.links_arrived(n, 0.5)
    r.links_arrived("old", -1.0)  # listed it before d's own record: doesn't count
    near: dict[str, list[str] | None] = {"a": [], "b": []}
    calls: list[int] = []

    def listing() -> list[str]:
        calls.append(1)
        return ["x", "y", "z", "old"]

    assert not r.judge("d", near, connected=False, now=1.0, listing=listing)
    assert r.unreachable == {} and calls == [1]
    assert r.judge("d", near, connected=False, now=1.0)  # the reports alone: a verdict
    r.alive("d")
    # x and y lost it too (their new records no longer list it): 4 of 5 say it's gone
    assert r.judge("d", near | {"x": []}, connected=False, now=2.0, listing=lambda: ["z"])


def test_listing_is_not_scanned_without_a_verdict() -> None:
    r = Reachability(ME)
    r.links_arrived("d", 0.0)

    def listing() -> list[str]:
        raise AssertionError("scanned")

    assert not r.judge("d", {"a": ["d"], "b": ["d"]}, connected=False, now=1.0, listing=listing)


class _Peer:
    """An engine in a test, fed records at times relative to its start (the records
    carry wall-clock stamps, so times are on Trio's clock)."""

    def __init__(self, net: MemoryNetwork, settings: TopicSettings = FAST) -> None:
        self.eng = engine(MemoryTransport(net, "t", "me"), settings)
        self.t0 = trio.current_time()

    def info(self, owner: Owner, at: float) -> Take:
        return self.eng.take_info(owner.entry()[0], self.t0 + at).take

    def links(self, owner: Owner, conn: tuple[str, ...], at: float) -> Take:
        """``owner``'s links record listing ``conn``, taken as a links message is."""
        rec, _ = owner.local.links_record(conn, ())
        take = self.eng.intake.take_links(rec, self.t0 + at).take
        if take is Take.APPLIED:
            self.eng.reach.links_arrived(owner.peer_id, self.t0 + at)
        return take

    def verdicts(self, peer: str, at: float) -> dict[str, float]:
        """Judge ``peer``: the peers judged unreachable, with the verdicts' times."""
        self.eng.peers.judge(self.t0 + at, {peer})
        return {p: t - self.t0 for p, t in self.eng.reach.unreachable.items()}


async def test_a_full_links_list_says_nothing_of_the_peers_it_leaves_out() -> None:
    # a hub lists at most max_links of its connections: a young peer whose own record
    # names only the hub was judged unreachable by every peer, while connected to it
    net = MemoryNetwork()
    me = _Peer(net, replace(FAST, limits=replace(DEFAULT_LIMITS, max_links=4)))
    d, hub = Owner(net, "d"), Owner(net, "hub")
    assert me.info(d, 0.0) is me.info(hub, 0.0) is Take.APPLIED
    assert me.links(d, ("hub",), 0.0) is Take.APPLIED
    assert me.links(hub, ("a", "b", "c", "e"), 1.0) is Take.APPLIED  # full: d left out
    assert me.verdicts("d", 1.0) == {}
    assert me.links(hub, ("a", "b", "c"), 2.0) is Take.APPLIED  # room left: it lost d
    assert me.verdicts("d", 2.0) == {"d": 2.0}


async def test_links_applied_with_the_owners_info_are_as_new_as_that_info() -> None:
    # d's links record waited for its info; the hub's record that doesn't list d came
    # before either, so it says nothing of d's links (d connected to the hub since)
    net = MemoryNetwork()
    me = _Peer(net)
    d, hub = Owner(net, "d"), Owner(net, "hub")
    assert me.info(hub, 0.0) is Take.APPLIED
    assert me.links(hub, ("a",), 0.0) is Take.APPLIED
    assert me.links(d, ("hub",), 1.0) is Take.PENDING
    assert me.info(d, 2.0) is Take.APPLIED
    assert me.verdicts("d", 2.0) == {}
    assert me.links(hub, ("b",), 3.0) is Take.APPLIED  # a newer report: it lost d
    assert me.verdicts("d", 3.0) == {"d": 3.0}
