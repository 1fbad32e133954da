"""Requests: delay, per-peer interval, network-size pacing, giving up, repeats, GC."""

from __future__ import annotations

import dataclasses
import math

from asyncmachine.pubsub import MemoryNetwork
from asyncmachine.pubsub._engine import Requests
from asyncmachine.pubsub._wire import DigestEntry

from .engine_kit import Owner, feed, registry
from .helpers import FAST

S = dataclasses.replace(FAST, request_delay=0.2, request_interval=2.0, request_attempts=2)


def test_missing_peer_is_requested_after_the_delay_then_paced() -> None:
    reg = registry("me")
    req = Requests(S, reg)
    reg.want_info("peer-a", 10.0)
    assert req.next_ids(10.0, clocks=False) == ([], 10.2)
    assert req.next_ids(10.2, clocks=False) == (["peer-a"], math.inf)
    # own requests are spaced by request_interval (x known peers / 8)
    assert req.next_ids(10.5, clocks=False) == ([], 12.2)
    assert req.next_ids(12.2, clocks=False) == (["peer-a"], math.inf)


def test_gives_up_after_unanswered_attempts_until_timeout() -> None:
    reg = registry("me")
    req = Requests(S, reg)
    reg.want_info("peer-a", 0.0)
    assert req.next_ids(1.0, clocks=False)[0] == ["peer-a"]
    assert req.next_ids(4.0, clocks=False)[0] == ["peer-a"]
    assert req.next_ids(8.0, clocks=False)[0] == []
    assert "peer-a" not in reg.missing_info  # left to its own hello/gossip
    reg.want_info("peer-a", 9.0)
    assert req.next_ids(12.0, clocks=False)[0] == []  # still given up
    reg.want_info("peer-a", 8.0 + S.peer_timeout)
    assert req.next_ids(9.0 + S.peer_timeout, clocks=False)[0] == ["peer-a"]


def test_answered_peer_gets_fresh_attempts() -> None:
    reg = registry("me")
    req = Requests(S, reg)
    reg.want_info("peer-a", 0.0)
    req.next_ids(1.0, clocks=False)
    req.next_ids(4.0, clocks=False)
    req.answered("peer-a")
    assert req.next_ids(8.0, clocks=False)[0] == ["peer-a"]


def test_requests_seen_from_others_delay_ours_and_repeats_are_detected() -> None:
    reg = registry("me")
    req = Requests(S, reg)
    assert not req.note_seen("peer-a", 10.0, clocks=False, author="x")
    assert req.note_seen("peer-a", 11.0, clocks=False, author="x")  # within 4 intervals
    assert not req.note_seen("peer-a", 11.0, clocks=True, author="x")  # clocks apart
    reg.want_info("peer-a", 10.0)
    assert req.next_ids(12.0, clocks=False) == ([], 13.0)  # 2 s after the one seen
    # another requester missing the same record: not a repeat (the first answer,
    # broadcast, serves it too)
    assert not req.note_seen("peer-a", 12.5, clocks=False, author="y")
    assert not req.note_seen("peer-a", 20.0, clocks=False, author="x")  # long ago
    req.gc(100.0)
    assert not req._asked  # bounded: requests older than the window are forgotten


def test_gc_forgets_attempts_of_peers_no_longer_missing() -> None:
    reg = registry("me")
    req = Requests(S, reg)
    reg.want_info("peer-a", 0.0)
    req.next_ids(1.0, clocks=False)
    req.next_ids(4.0, clocks=False)
    reg.forget_missing("peer-a", clocks=False)
    req.gc(5.0)
    reg.want_info("peer-a", 6.0)
    assert req.next_ids(7.0, clocks=False)[0] == ["peer-a"]


def test_info_is_not_requested_while_new_peers_keep_arriving() -> None:
    reg = registry("me")
    req = Requests(S, reg)
    feed(reg, Owner(MemoryNetwork(), "peer-b"), at=10.0)
    reg.want_info("peer-a", 10.0)
    assert req.next_ids(10.5, clocks=False) == ([], 10.0 + S.hello_retry)
    assert req.next_ids(10.0 + S.hello_retry, clocks=False)[0] == ["peer-a"]


def test_slow_transit_spaces_repeated_requests() -> None:
    """On a saturated network (messages taking longer than ``request_delay`` and
    ``request_interval`` to arrive) a missing peer is requested only ``in_flight`` after
    it was found missing (the record may be on its way), and again only ``in_flight``
    after a request for it (the answer may be)."""
    reg = registry("me")
    req = Requests(S, reg)
    reg.want_info("peer-a", 10.0)
    assert req.next_ids(10.2, clocks=False, in_flight=30.0) == ([], 40.0)
    assert req.next_ids(40.0, clocks=False, in_flight=30.0)[0] == ["peer-a"]
    assert req.next_ids(42.0, clocks=False, in_flight=30.0) == ([], 70.0)
    assert req.next_ids(70.0, clocks=False, in_flight=30.0)[0] == ["peer-a"]


def test_missing_clocks_wait_for_the_record_in_flight() -> None:
    reg = registry("me")
    feed(reg, Owner(MemoryNetwork(), "peer-a"))
    p = reg.peers["peer-a"]
    reg.note_digest(DigestEntry("peer-a", p.epoch, p.info_seq, p.clock_seq + 1), 10.0)
    req = Requests(S, reg)
    assert req.next_ids(10.2, clocks=True, in_flight=5.0) == ([], 15.2)
    assert req.next_ids(15.2, clocks=True, in_flight=5.0)[0] == ["peer-a"]
    reg.forget_missing("peer-a", clocks=True)
    req.gc(20.0)
    assert not req._clocks_since  # forgotten once no longer missing
