"""Engine.validate on records: what is not worth relaying is IGNOREd, news is relayed.

Stale, departed, expired and over-budget records die at the first honest hop; a
duplicate of what is held is relayed (an answer to someone else's hello or request).
Over-budget records cost the forwarder application score (Engine.app_score).
"""

from __future__ import annotations

import dataclasses

import trio
from trio.testing import MockClock

from asyncmachine.pubsub import MemoryNetwork, MemoryTransport
from asyncmachine.pubsub._engine import AppScoreFn, Engine, ValidatorFn, Verdict
from asyncmachine.pubsub._engine._penalties import PENALTY_CAP, PENALTY_DECAY, Penalties
from asyncmachine.pubsub._settings import Budgets
from asyncmachine.pubsub._wallclock import wall_ms
from asyncmachine.pubsub._wire import InfoMsg, Record, UpdatesMsg, encode_message

from .attacks.kit import owner_entry
from .engine_kit import TOPIC, Owner, engine, feed
from .helpers import FAST


def _updates(*recs: Record) -> bytes:
    return encode_message(UpdatesMsg(recs))


def _info(*entries: tuple[Record, Record | None], hello: int | None = None) -> bytes:
    return encode_message(InfoMsg(entries, hello=hello, known=b"" if hello else None))


def _engine(net: MemoryNetwork, **budgets: int) -> Engine:
    settings = dataclasses.replace(FAST, budgets=Budgets(**budgets))
    eng = engine(MemoryTransport(net, TOPIC, "me"), settings)
    eng.reg.budgets = settings.budgets  # as a Topic builds it
    return eng


async def test_stale_and_departed_records_are_ignored_duplicates_relayed() -> None:
    net = MemoryNetwork()
    eng = _engine(net)
    o = Owner(net, "peer-a")
    old_info, old_clocks = o.entry()
    o.machs[0].add1("Bar")
    o.expose()  # a new info record too
    _info_rec, clocks = o.entry()
    feed(eng.reg, o)
    # what we hold: news for a peer behind us (an answer to its hello), relayed
    assert eng.validate("relay", "relay", _updates(clocks)) is Verdict.ACCEPT
    assert eng.validate("relay", "relay", _info((old_info, clocks))) is Verdict.ACCEPT
    # strictly older than what we hold: no honest peer takes it over the newer one
    assert eng.validate("relay", "relay", _updates(old_clocks)) is Verdict.IGNORE
    assert eng.validate("relay", "relay", _info((old_info, old_clocks))) is Verdict.IGNORE
    # a hello is a question: relayed, whatever its records
    assert eng.validate("relay", "relay", _info((old_info, None), hello=7)) is Verdict.ACCEPT
    eng.reg.remove_peer(o.peer_id, "bye", 1.0, bye=True, epoch=1)
    assert eng.validate("relay", "relay", _updates(clocks)) is Verdict.IGNORE
    rejected = eng._m.rejected
    assert (rejected["stale"], rejected["departed"]) == (3, 1), rejected
    assert eng.app_score("relay") == 0.0  # harmless: no penalty
    await trio.lowlevel.checkpoint()


async def test_expired_and_future_records_are_ignored_by_a_skews_margin() -> None:
    net = MemoryNetwork()
    eng = _engine(net)
    s = eng._s
    now = wall_ms()
    sign = net.sign_as

    def clocks(owner: str, age_s: float) -> Record:
        _info, rec = owner_entry(
            TOPIC, owner, sign, machines=1, states=2, stamp_ms=now - int(age_s * 1000)
        )
        assert rec is not None
        return rec

    expired = clocks("old", (s.record_max_age + s.max_clock_skew) + 5)
    edge = clocks("edge", s.record_max_age + 1)  # expired here, not for a peer 60 s behind
    future = clocks("ahead", -(2 * s.max_clock_skew + 5))
    assert eng.validate("r", "r", _updates(expired)) is Verdict.IGNORE
    assert eng.validate("r", "r", _updates(future)) is Verdict.IGNORE
    assert eng.validate("r", "r", _updates(edge)) is Verdict.ACCEPT
    assert eng.validate("r", "r", _updates(clocks("young", 1))) is Verdict.ACCEPT
    assert (eng._m.rejected["expired"], eng._m.rejected["future"]) == (1, 1)
    await trio.lowlevel.checkpoint()


async def test_over_budget_records_are_ignored_and_penalized(autojump_clock: MockClock) -> None:
    net = MemoryNetwork()
    eng = _engine(net, states_per_peer=64)
    big = [owner_entry(TOPIC, f"sybil-{i}", net.sign_as, machines=2, states=40) for i in range(30)]
    small = owner_entry(TOPIC, "fine", net.sign_as, machines=1, states=4)
    # one over-budget record spoils the message: it is relayed whole or not at all
    assert eng.validate("rogue", "rogue", _info(small, big[0])) is Verdict.IGNORE
    assert eng.validate("rogue", "rogue", _info(*big[1:])) is Verdict.IGNORE
    assert eng._m.rejected["over_budget"] == 30
    assert eng.app_score("rogue") == -30.0 and eng.app_score("honest") == 0.0
    assert eng.validate("honest", "honest", _info(small)) is Verdict.ACCEPT
    await trio.sleep(10)  # decays like P4 (x0.9 a second)
    assert -30 * 0.9**10 - 0.01 < eng.app_score("rogue") < -30 * 0.9**10 + 0.01


async def test_a_full_registry_ignores_owners_it_would_refuse() -> None:
    """peers=1: a connected (preferred) peer is held; a record of an unknown owner
    relayed late ranks below it and would be refused: not relayed, not penalized."""
    net = MemoryNetwork()
    eng = _engine(net, peers=1)
    o = Owner(net, "peer-a")
    feed(eng.reg, o, at=trio.current_time() - 10)
    eng.reg.preferred = {"peer-a"}.__contains__
    newcomer = (owner_entry(TOPIC, "late", net.sign_as, machines=1, states=2)[0], None)
    assert eng.validate("relay", "relay", _info(newcomer)) is Verdict.IGNORE
    assert eng._m.rejected["over_budget"] == 1 and eng.app_score("relay") == 0.0
    eng.reg.preferred = lambda _p: False  # peer-a only relayed too, heard of before
    assert eng.validate("relay", "relay", _info(newcomer)) is Verdict.ACCEPT
    await trio.lowlevel.checkpoint()


async def test_work_beyond_the_authors_allowance_is_ignored() -> None:
    net = MemoryNetwork()
    eng = _engine(net, records_per_author=10)
    entries = [owner_entry(TOPIC, f"o{i}", net.sign_as, machines=1, states=2) for i in range(6)]
    assert eng.validate("busy", "busy", _info(*entries[:4])) is Verdict.ACCEPT  # 8 records
    assert eng._m.rejected["work_limit"] == 0
    # the allowance is 10 verified records a second: the 11th is not verified
    assert eng.validate("busy", "busy", _info(*entries[4:])) is Verdict.IGNORE
    assert eng._m.rejected["work_limit"] == 1
    assert eng.validate("other", "other", _info(*entries[4:])) is Verdict.ACCEPT
    await trio.lowlevel.checkpoint()


async def test_a_forwarder_inventing_authors_gets_no_more_work_than_its_allowance() -> None:
    net = MemoryNetwork()
    eng = _engine(net, records_per_forwarder=10)
    entries = [owner_entry(TOPIC, f"o{i}", net.sign_as, machines=1, states=2) for i in range(6)]
    verdicts = [eng.validate(f"author-{i}", "fwd", _info(e)) for i, e in enumerate(entries)]
    assert verdicts == [Verdict.ACCEPT] * 5 + [Verdict.IGNORE]  # 2 records each
    assert eng.validate("author-9", "other", _info(entries[5])) is Verdict.ACCEPT
    await trio.lowlevel.checkpoint()


class _Validating(MemoryTransport):
    """A memory transport that takes a validator and an application score."""

    validator: ValidatorFn | None = None
    app_score: AppScoreFn | None = None

    def set_validator(self, validator: ValidatorFn | None) -> None:
        self.validator = validator

    def set_app_score(self, app_score: AppScoreFn | None) -> None:
        self.app_score = app_score


async def test_a_validating_transport_gets_the_validator_and_the_app_score() -> None:
    tr = _Validating(MemoryNetwork(), TOPIC, "me")
    eng = engine(tr)
    assert eng.validating
    assert tr.validator == eng.validate and tr.app_score == eng.app_score
    await trio.lowlevel.checkpoint()


def test_penalties_are_bounded_capped_and_decay() -> None:
    p = Penalties(max_peers=2)
    p.add("a", 1, 0.0)
    p.add("b", 1000, 0.0)
    p.add("c", 1, 0.0)  # a is forgotten: the least recently penalized
    assert len(p) == 2 and p.penalty("a", 0.0) == 0.0
    assert p.penalty("b", 0.0) == PENALTY_CAP
    assert p.penalty("b", 1.0) == PENALTY_CAP * PENALTY_DECAY
