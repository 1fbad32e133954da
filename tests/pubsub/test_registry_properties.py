"""Property tests: the registry converges to each owner's latest records under any
reordering, duplication, loss-then-repair and replay of the records (verification
is the engine's job; records are fed the way the intake feeds them)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from asyncmachine.pubsub import MemoryNetwork
from asyncmachine.pubsub._outcomes import Freshness
from asyncmachine.pubsub._registry import Registry
from asyncmachine.pubsub._wire import Record, decode_clocks_body, decode_info_body

from .engine_kit import Owner, registry

OPS = ("bar", "baz", "unbar", "expose", "restart")


@dataclass(frozen=True)
class Sent:
    rec: Record
    clocks: bool


def _run_owner(net: MemoryNetwork, pid: str, ops: list[str]) -> tuple[Owner, list[Sent]]:
    """Play ``ops`` on an owner; every step publishes its (info, clocks) entry."""
    o = Owner(net, pid)
    sent: list[Sent] = []

    def publish() -> None:
        info, clocks = o.entry()
        sent.extend((Sent(info, False), Sent(clocks, True)))

    publish()
    for op in ops:
        if op == "bar":
            o.machs[-1].add1("Bar")
        elif op == "unbar":
            o.machs[0].remove1("Bar")
        elif op == "baz":
            o.machs[0].add1("Baz")
        elif op == "expose":
            o.expose()
        else:
            o.restart()
        publish()
    return o, sent


def _take(reg: Registry, s: Sent, at: float) -> None:
    """What the intake does after the signature check."""
    if reg.check(s.rec, s.clocks) is not Freshness.NEW:
        return
    if s.clocks:
        reg.apply_clocks(s.rec, decode_clocks_body(s.rec.body), at)
    else:
        reg.apply_info(s.rec, decode_info_body(s.rec.body), at)


def _state(reg: Registry) -> dict[str, object]:
    return {
        pid: (
            p.epoch,
            p.info_seq,
            p.clock_seq,
            [(rm.info.id, rm.clock, tuple(rm.mirror.time())) for rm in p.machines],  # type: ignore[attr-defined]
        )
        for pid, p in reg.peers.items()
    }


def _assert_latest(reg: Registry, owners: list[Owner]) -> None:
    assert set(reg.peers) == {o.peer_id for o in owners}
    for o in owners:
        p = reg.peers[o.peer_id]
        epoch, iseq, cseq = o.local.current_versions()
        assert (p.epoch, p.info_seq, p.clock_seq) == (epoch, iseq, cseq)
        assert [rm.info.id for rm in p.machines] == [m.id for m in o.machs]
        assert [rm.clock for rm in p.machines] == o.times()
        for rm, m in zip(p.machines, o.machs, strict=True):
            assert list(rm.mirror.time()) == list(m.time())  # type: ignore[attr-defined]
    assert not reg.pending and not reg.missing_info and not reg.missing_clocks


owner_ops = st.lists(st.sampled_from(OPS), max_size=6)


@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(owner_ops, min_size=1, max_size=3),
    seed=st.integers(0, 2**32 - 1),
    loss=st.floats(0.0, 0.9),
    dup=st.floats(0.0, 1.0),
    repair_clocks_first=st.booleans(),
)
def test_converges_under_reorder_dup_loss_repair_and_replay(
    ops: list[list[str]], seed: int, loss: float, dup: float, repair_clocks_first: bool
) -> None:
    rng = random.Random(seed)
    net = MemoryNetwork()
    owners: list[Owner] = []
    sent: list[Sent] = []
    for i, o_ops in enumerate(ops):
        o, o_sent = _run_owner(net, f"peer-{i}", o_ops)
        owners.append(o)
        sent += o_sent
    reg = registry()
    # lossy, duplicating, reordering delivery
    stream = [s for s in sent if rng.random() >= loss]
    stream += [s for s in stream if rng.random() < dup]
    rng.shuffle(stream)
    for t, s in enumerate(stream):
        _take(reg, s, float(t))
    # repair: the latest entry of each owner arrives (anti-entropy / answers)
    pairs: list[list[Sent]] = []
    for o in owners:
        info, clocks = o.entry()
        pair = [Sent(info, False), Sent(clocks, True)]
        pairs.append(pair[::-1] if repair_clocks_first else pair)
    rng.shuffle(pairs)
    for s in (s for pair in pairs for s in pair):
        _take(reg, s, 1e6)
    _assert_latest(reg, owners)
    # replay of everything, in any order: nothing changes
    before = _state(reg)
    replay = sent * 2
    rng.shuffle(replay)
    for s in replay:
        _take(reg, s, 2e6)
    assert _state(reg) == before


@settings(max_examples=150, deadline=None)
@given(ops=owner_ops, seed=st.integers(0, 2**32 - 1))
def test_any_order_of_the_full_record_set_converges(ops: list[str], seed: int) -> None:
    """Without loss: every record once, in any order, ends at the latest."""
    o, sent = _run_owner(MemoryNetwork(), "peer-0", ops)
    random.Random(seed).shuffle(sent)
    reg = registry()
    for t, s in enumerate(sent):
        _take(reg, s, float(t))
    _assert_latest(reg, [o])
