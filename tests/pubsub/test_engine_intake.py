"""Intake: freshness by header, signature, body decode, apply; every rejection counted."""

from __future__ import annotations

from asyncmachine.pubsub import MemoryNetwork, TopicMetrics
from asyncmachine.pubsub._engine import Intake
from asyncmachine.pubsub._local import LocalRecords
from asyncmachine.pubsub._outcomes import Take
from asyncmachine.pubsub._registry import Registry
from asyncmachine.pubsub._wire import DEFAULT_LIMITS, Record

from .engine_kit import TOPIC, Owner, registry


def _intake(net: MemoryNetwork, reg: Registry | None = None) -> tuple[Intake, TopicMetrics]:
    m = TopicMetrics()
    local = LocalRecords("me", TOPIC, 1, lambda d: net.sign_as("me", d), DEFAULT_LIMITS)
    return Intake(TOPIC, net.verify, local, reg or registry("me"), DEFAULT_LIMITS, m), m


def test_new_then_duplicate_then_stale() -> None:
    net = MemoryNetwork()
    o = Owner(net, "peer-a")
    old_info, old_clocks = o.entry()
    o.machs[0].add1("Bar")
    o.expose()
    info, clocks = o.entry()
    intake, m = _intake(net)
    assert intake.take_info(info, 1.0).take is Take.APPLIED
    assert intake.take_clocks(clocks, 1.0).take is Take.APPLIED
    assert m.records_applied == 2
    assert intake.take_info(info, 2.0).take is Take.DUP
    assert intake.take_clocks(clocks, 2.0).take is Take.DUP
    assert m.duplicates == 2
    out = intake.take_info(old_info, 3.0)
    assert (out.take, out.reason) == (Take.REJECTED, "stale")
    assert intake.take_clocks(old_clocks, 3.0).reason == "stale"
    assert m.rejected["stale"] == 2


def test_bad_signature_and_header_mismatch_are_rejected() -> None:
    net = MemoryNetwork()
    o = Owner(net, "peer-a")
    info, _ = o.entry()
    intake, m = _intake(net)
    forged = info._replace(sig=b"x" * 16)
    assert intake.take_info(forged, 0.0).reason == "bad_signature"
    moved = info._replace(seq=info.seq + 5)  # signed body, other header
    assert intake.take_info(moved, 0.0).reason == "header_mismatch"
    assert m.rejected == {"bad_signature": 1, "header_mismatch": 1}
    assert m.records_applied == 0


def test_clocks_before_info_are_pending_then_applied() -> None:
    net = MemoryNetwork()
    o = Owner(net, "peer-a")
    o.machs[0].add1("Bar")
    info, clocks = o.entry()
    reg = registry("me")
    intake, _ = _intake(net, reg)
    assert intake.take_clocks(clocks, 0.0).take is Take.PENDING
    assert "peer-a" in reg.pending and "peer-a" in reg.missing_info
    assert intake.take_info(info, 1.0).take is Take.APPLIED
    assert reg.peers["peer-a"].machines[0].clock == o.times()[0]
    assert not reg.pending and not reg.missing_info


def test_own_records_duplicate_or_forged() -> None:
    net = MemoryNetwork()
    me = Owner(net, "me")
    own_info, _ = me.entry()
    m = TopicMetrics()
    intake = Intake(TOPIC, net.verify, me.local, registry("me"), DEFAULT_LIMITS, m)
    assert intake.take_info(own_info, 0.0).take is Take.DUP  # relayed back to us
    assert m.duplicates == 1
    # a record of ours newer than what we built: someone forged it
    newer = Record("me", 1, 99, own_info.body, own_info.sig)
    assert intake.take_info(newer, 0.0).reason == "forged_self"
    assert m.rejected["forged_self"] == 1


def test_links_of_unknown_peer_wait_for_its_info() -> None:
    net = MemoryNetwork()
    o = Owner(net, "peer-a")
    links, _ = o.local.links_record(("x",), ("y",))
    reg = registry("me")
    intake, m = _intake(net, reg)
    assert intake.take_links(links, 0.0).take is Take.PENDING
    assert intake.take_info(o.entry()[0], 1.0).take is Take.APPLIED
    p = reg.peers["peer-a"]
    assert p.links is not None and p.links.connected == ("x",)
    assert intake.take_links(links, 2.0).take is Take.DUP and m.duplicates == 1


def test_departed_peer_records_are_rejected() -> None:
    net = MemoryNetwork()
    o = Owner(net, "peer-a")
    info, _ = o.entry()
    reg = registry("me")
    intake, m = _intake(net, reg)
    reg.remove_peer("peer-a", "bye", 0.0, bye=True, epoch=1)
    assert intake.take_info(info, 1.0).reason == "departed"
    assert m.rejected["departed"] == 1 and "peer-a" not in reg.peers
