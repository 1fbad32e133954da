"""Answers: who answers hellos and requests, suppression by others' answers, due times."""

from __future__ import annotations

import dataclasses

from asyncmachine.pubsub import MemoryNetwork
from asyncmachine.pubsub._engine import Answers, Requests
from asyncmachine.pubsub._registry import Registry
from asyncmachine.pubsub._rendezvous import ring_key
from asyncmachine.pubsub._wire import DigestEntry, ReqInfoMsg, ReqUpdatesMsg

from .engine_kit import Owner, feed, registry
from .helpers import FAST


class _Setup:
    """A peer "me" that knows peer-a and peer-b (held since t=0)."""

    def __init__(self, started_at: float = 0.0) -> None:
        self.net = MemoryNetwork()
        self.me = Owner(self.net, "me")
        self.a = Owner(self.net, "peer-a")
        self.b = Owner(self.net, "peer-b")
        self.reg: Registry = registry("me")
        feed(self.reg, self.a)
        feed(self.reg, self.b)
        self.scheduled: list[float] = []
        self.answers = Answers(self.me.local, self.reg, FAST, self.scheduled.append, started_at)
        self.requests = Requests(FAST, self.reg)

    def nonce(self, responder: str, author: str) -> int:
        """A request nonce for which ``responder`` is the chosen one."""
        return next(
            n for n in range(10_000) if self.reg.chosen(n, FAST.responders, {author}) == [responder]
        )


def test_chosen_responder_answers_held_peers_others_stay_quiet() -> None:
    s = _Setup()
    req = ReqInfoMsg(s.nonce("me", "peer-a"), ("peer-b", "peer-x"))
    assert s.answers.for_request("peer-a", req, 10.0, s.requests)
    info, clocks = s.answers.take_due(10.0 + FAST.answer_delay)
    assert (info, clocks) == (["peer-b"], [])  # peer-x is not held here
    other = ReqInfoMsg(s.nonce("peer-b", "peer-a"), ("peer-b",))
    assert not s.answers.for_request("peer-a", other, 20.0, s.requests)


def test_owner_answers_for_itself_only_on_a_repeated_request() -> None:
    s = _Setup()
    req = ReqUpdatesMsg(s.nonce("peer-b", "peer-a"), ("me",))
    assert not s.answers.for_request("peer-a", req, 10.0, s.requests)
    assert s.answers.for_request("peer-a", req, 11.0, s.requests)  # a repeat
    # a forced answer is not cancelled by someone else's copy
    s.answers.suppress("me", None, s.me.entry()[1])
    assert s.answers.take_due(12.0) == ([], ["me"])


def test_someone_elses_copy_cancels_the_answer() -> None:
    s = _Setup()
    s.answers.add("peer-a", 5.0, clocks=False)
    assert s.scheduled == [5.0]
    info, clocks = s.reg.peers["peer-a"].info_rec, s.reg.peers["peer-a"].clock_rec
    s.answers.suppress("peer-a", info, clocks)
    assert s.answers.take_due(5.0) == ([], [])


def test_take_due_keeps_later_answers_scheduled() -> None:
    s = _Setup()
    s.answers.add("peer-a", 1.0, clocks=False)
    s.answers.add("peer-b", 3.0, clocks=True)
    s.answers.add("peer-a", 2.0, clocks=True)  # info of peer-a carries its clocks
    s.scheduled.clear()
    assert s.answers.take_due(2.0) == (["peer-a"], [])
    assert s.scheduled == [3.0]
    assert s.answers.take_due(3.0) == ([], ["peer-b"])


def test_hello_is_answered_with_old_records_the_joiner_misses() -> None:
    s = _Setup(started_at=0.0)
    c = Owner(s.net, "peer-c")
    feed(s.reg, c, at=9.9)  # young at the hello: on its way to the joiner anyway
    known = {ring_key("peer-b")}
    assert s.answers.for_hello("peer-j", known, 10.0, 10.0)
    assert s.scheduled == [10.0 + FAST.answer_delay]
    info, _ = s.answers.take_due(11.0)
    assert sorted(info) == ["me", "peer-a"]
    # nothing missed: no answer at all
    everyone = {ring_key(p) for p in ("me", "peer-a", "peer-b")}
    assert not s.answers.for_hello("peer-j", everyone, 10.0, 10.0)


def test_hello_since_leaves_out_records_published_after_it() -> None:
    """A joiner listening since ``since`` got every record published after it (the owner's
    hello, others' answers): only records last published before it are owed."""
    s = _Setup()
    s.answers.broadcast("peer-a", 5_000)  # peer-a's hello, before the joiner listened
    s.answers.broadcast("peer-b", 7_000)  # peer-b's hello, after
    assert s.answers.for_hello("peer-j", set(), 10.0, 10.0, since=6_000)
    # own records: not published yet (the own hello is still to come and reaches it)
    info, _ = s.answers.take_due(11.0)
    assert info == ["peer-a"]
    # someone answered peer-a after the joiner listened: nothing left to send
    s.answers.broadcast("peer-a", 6_500)
    s.answers.broadcast("me", 5_500)  # own hello, before the joiner listened
    assert s.answers.for_hello("peer-j", set(), 12.0, 12.0, since=6_000)
    assert s.answers.take_due(13.0) == (["me"], [])


def test_hello_skew_counts_close_publications_as_missed() -> None:
    s = _Setup()
    s.answers.broadcast("peer-a", 6_100)
    s.answers.broadcast("peer-b", 6_600)
    settings = dataclasses.replace(FAST, hello_skew=0.2)
    skewed = Answers(s.me.local, s.reg, settings, s.scheduled.append, 0.0)
    skewed.broadcast("peer-a", 6_100)
    skewed.broadcast("peer-b", 6_600)
    assert not s.answers.for_hello("peer-j", set(), 10.0, 10.0, since=6_000)
    assert skewed.for_hello("peer-j", set(), 10.0, 10.0, since=6_000)
    assert skewed.take_due(11.0) == (["peer-a"], [])


def test_hello_since_answers_young_records_the_joiner_missed() -> None:
    """With ``since`` the age of a record says nothing: a record published before the
    joiner listened is owed even if held here only for a moment."""
    s = _Setup()
    c = Owner(s.net, "peer-c")
    feed(s.reg, c, at=9.99)
    s.answers.broadcast("peer-c", 5_000)
    known = {ring_key("peer-a"), ring_key("peer-b")}
    assert s.answers.for_hello("peer-j", known, 10.0, 10.0, since=6_000, delay=0.3)
    assert s.scheduled[-1] == 10.0 + FAST.answer_delay + 0.3
    assert s.answers.take_due(10.5) == (["peer-c"], [])


def test_only_a_copy_published_after_the_joiners_since_cancels_the_answer() -> None:
    s = _Setup()
    assert s.answers.for_hello("peer-j", set(), 10.0, 10.0, since=6_000)
    info, clocks = s.reg.peers["peer-a"].info_rec, s.reg.peers["peer-a"].clock_rec
    s.answers.suppress("peer-a", info, clocks, sent=5_000)  # a late copy of an old message
    s.answers.suppress("peer-b", info, clocks, sent=0)  # no stamp: proves nothing
    b_info, b_clocks = s.reg.peers["peer-b"].info_rec, s.reg.peers["peer-b"].clock_rec
    s.answers.suppress("peer-b", b_info, b_clocks, sent=5_999)
    assert sorted(s.answers.take_due(11.0)[0]) == ["peer-a", "peer-b"]
    assert s.answers.for_hello("peer-j", set(), 12.0, 12.0, since=6_000)
    s.answers.suppress("peer-a", info, clocks, sent=6_001)  # another peer's answer reached it
    assert s.answers.take_due(13.0) == (["peer-b"], [])


def test_a_responder_that_knows_its_copy_is_old_does_not_answer() -> None:
    s = _Setup()
    p = s.reg.peers["peer-b"]
    # a digest showed newer clocks of peer-b than held here
    s.reg.note_digest(DigestEntry("peer-b", p.epoch, p.info_seq, p.clock_seq + 1), 5.0)
    req = ReqUpdatesMsg(s.nonce("me", "peer-a"), ("peer-b",))
    assert not s.answers.for_request("peer-a", req, 10.0, s.requests)
    # its info is still current: an info request is answered
    info_req = ReqInfoMsg(s.nonce("me", "peer-a"), ("peer-b",))
    assert s.answers.for_request("peer-a", info_req, 10.0, s.requests)
