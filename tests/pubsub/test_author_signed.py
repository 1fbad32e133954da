"""Records on an AuthorSigned transport: a record its owner published itself skips its
own signature check on arrival (the transport checked the owner's signature of the
whole message), and is checked before it is relayed to anyone."""

from __future__ import annotations

import trio

from asyncmachine.pubsub import AuthorSigned, MemoryNetwork, MemoryTransport, TopicMetrics
from asyncmachine.pubsub._engine import Intake, Verdict
from asyncmachine.pubsub._local import LocalRecords
from asyncmachine.pubsub._outcomes import Take
from asyncmachine.pubsub._wire import DEFAULT_LIMITS, UpdatesMsg, encode_message
from asyncmachine.pubsub.libp2p import open_libp2p_transport

from .engine_kit import TOPIC, Owner, engine, registry

BAD_SIG = b"x" * 16


class SignedTransport(MemoryTransport):
    """A memory transport that says its deliveries are signed by their authors."""

    @property
    def author_signed(self) -> bool:
        return True


class Counting:
    """``verify`` of a network, counting the calls."""

    def __init__(self, net: MemoryNetwork) -> None:
        self.net = net
        self.calls = 0

    def __call__(self, peer_id: str, data: bytes, sig: bytes) -> bool:
        self.calls += 1
        return self.net.verify(peer_id, data, sig)


def _intake(net: MemoryNetwork, trust: bool) -> tuple[Intake, TopicMetrics, Counting]:
    m = TopicMetrics()
    local = LocalRecords("me", TOPIC, 1, lambda d: net.sign_as("me", d), DEFAULT_LIMITS)
    verify = Counting(net)
    intake = Intake(TOPIC, verify, local, registry("me"), DEFAULT_LIMITS, m, trust_authors=trust)
    return intake, m, verify


def test_intake_skips_the_check_of_a_record_its_owner_sent() -> None:
    net = MemoryNetwork()
    o = Owner(net, "peer-a")
    info, clocks = o.entry()
    intake, m, verify = _intake(net, trust=True)
    assert intake.take_info(info, 1.0, "peer-a").take is Take.APPLIED
    assert intake.take_clocks(clocks, 1.0, "peer-a").take is Take.APPLIED
    assert verify.calls == 0  # the transport checked the owner's signature of the message
    o.machs[0].add1("Bar")
    _, newer = o.entry()
    relayed = intake.take_clocks(newer._replace(sig=BAD_SIG), 2.0, "peer-b")
    assert relayed.reason == "bad_signature" and verify.calls == 1  # relayed: checked
    assert intake.take_clocks(newer, 2.0, "").take is Take.APPLIED  # no author: checked
    assert verify.calls == 2 and m.records_applied == 3


def test_intake_checks_every_signature_without_trust() -> None:
    net = MemoryNetwork()
    info, _ = Owner(net, "peer-a").entry()
    intake, m, verify = _intake(net, trust=False)
    assert intake.take_info(info._replace(sig=BAD_SIG), 1.0, "peer-a").reason == "bad_signature"
    assert verify.calls == 1 and m.rejected == {"bad_signature": 1}


async def test_gate_accepts_an_owners_own_message_unchecked() -> None:
    net = MemoryNetwork()
    me = SignedTransport(net, TOPIC, "me")
    assert isinstance(me, AuthorSigned)
    o = Owner(net, "peer-a")
    eng = engine(me)
    _, clocks = o.entry()
    bad = encode_message(UpdatesMsg((clocks._replace(sig=BAD_SIG),)))
    assert eng.validate("peer-a", "peer-a", bad) is Verdict.ACCEPT
    assert eng.validate("peer-a", "relay", bad) is Verdict.ACCEPT  # forwarded as signed
    assert eng.validate("rogue", "rogue", bad) is Verdict.REJECT  # someone else's record
    assert eng._m.rejected == {"bad_signature": 1}
    plain = engine(MemoryTransport(net, TOPIC, "me2"))  # not AuthorSigned: checked
    assert plain.validate("peer-a", "peer-a", bad) is Verdict.REJECT
    await trio.lowlevel.checkpoint()


async def test_a_record_with_a_bad_signature_is_not_relayed() -> None:
    net = MemoryNetwork()
    me = SignedTransport(net, TOPIC, "me")
    eng = engine(me)
    good, bad = Owner(net, "peer-g"), Owner(net, "peer-b")
    for o, sig in ((good, None), (bad, BAD_SIG)):
        info, clocks = o.entry()
        if sig is not None:
            info, clocks = info._replace(sig=sig), clocks._replace(sig=sig)
        now = trio.current_time()  # records are stamped with the wall clock of now
        assert eng.take_info(info, now, o.peer_id).take is Take.APPLIED
        assert eng.take_clocks(clocks, now, o.peer_id).take is Take.APPLIED
    assert set(eng.reg.peers) == {"peer-g", "peer-b"}  # taken: the owners sent them
    msgs = eng.out.answer_info(["peer-g", "peer-b"], 0)
    assert [e[0].owner for m in msgs for e in m.entries] == ["peer-g"]
    answer = eng.out.answer_clocks(["peer-g", "peer-b"])
    assert answer is not None and [r.owner for r in answer.records] == ["peer-g"]
    # a good info with a bad clocks record: the info goes alone
    info_b = eng.reg.peers["peer-b"].info_rec
    eng.reg.peers["peer-b"].info_rec = Owner(net, "peer-b").entry()[0]
    entries = [e for m in eng.out.answer_info(["peer-b"], 0) for e in m.entries]
    assert entries == [(eng.reg.peers["peer-b"].info_rec, None)]
    eng.reg.peers["peer-b"].info_rec = info_b
    await trio.lowlevel.checkpoint()


async def test_without_trust_held_records_are_relayed_unchecked_again() -> None:
    """Not AuthorSigned: records were checked on arrival; relaying checks nothing."""
    net = MemoryNetwork()
    async with net.join(TOPIC, "me") as tr:
        info, clocks = Owner(net, "peer-a").entry()
        eng = engine(tr)
        now = trio.current_time()
        assert eng.take_info(info, now, "peer-a").take is Take.APPLIED
        assert eng.take_clocks(clocks, now, "peer-a").take is Take.APPLIED
        calls = Counting(net)
        tr.verify = calls  # type: ignore[method-assign]
        entries = [e for m in eng.out.answer_info(["peer-a"], 0) for e in m.entries]
        assert entries == [(info, clocks)] and calls.calls == 0


async def test_libp2p_transport_is_author_signed() -> None:
    async with open_libp2p_transport("am-test", shutdown_grace=0.05) as t:
        assert isinstance(t, AuthorSigned) and t.author_signed
