"""The mutation queue: ticks, nesting, dedup, limits, checks, eval (spec 2; cases 16, 30, 38, 45).

Nested-mutation results are recorded from inside handlers; values are the
spec's [probe] facts (also in the golden traces ``acc-queue``,
``acc-queue-ticks``, ``acc-nested-mutation``, ``acc-dedup-readd``, ...).
"""

from __future__ import annotations

from typing import Any

from asyncmachine import Machine, MutationType, Result, State
from tests.machine.mach_helpers import nonzero_clock, norels, rels, setup, split


class Boom(Exception):
    pass


def test_queue_tick_fresh_machine() -> None:
    mach = Machine(norels())
    assert mach.queue_tick() == 1
    assert mach.queue_len() == 0
    assert mach.add1("A") == Result.EXECUTED
    assert mach.queue_tick() == 2
    assert mach.add1("B") == Result.EXECUTED
    assert mach.queue_tick() == 3


def test_queue_nested_add_returns_tick() -> None:
    """Case 16: (A) Set(B), BEnter calls Add(C) -> 4; final (B C)."""
    mach, rec = setup(initial=["A"], actions={"BEnter": [lambda e: e.machine.add(["C"])]})
    assert mach.set(["B"]) == Result.EXECUTED
    assert rec.inner == [("BEnter", 4)]
    ret = rec.inner[0][1]
    assert isinstance(ret, Result)
    assert ret.is_queued
    assert str(ret) == "queued"
    assert mach.active_states() == ["C", "B"]
    assert mach.queue_tick() == 4
    assert rec.calls == split(
        "AExit BEnter AB AnyEnter AEnd BState AnyState CEnter BB BC AnyEnter CState AnyState"
    )
    assert rec.count("AnyEnter") == 2
    assert rec.count("AnyState") == 2


def test_nested_queue_ticks_4_0_5_0() -> None:
    """[probe] inside BState (tx tick 3): Add1(C)->4, dup->0, Remove1(A)->5, dup->0."""

    def act(e: Any) -> None:
        m = e.machine
        rets.extend([m.add1("C"), m.add1("C"), m.remove1("A"), m.remove1("A")])

    rets: list[Result] = []
    mach, rec = setup(actions={"BState": [act]})
    mach.add(["A"])
    rec.calls.clear()
    assert mach.add(["B"]) == Result.EXECUTED
    assert rets == [4, 0, 5, 0]
    assert [str(r) for r in rets] == ["queued", "executed", "queued", "executed"]
    assert mach.active_states() == ["C", "B"]
    assert nonzero_clock(mach) == {"A": 2, "B": 1, "C": 1}
    assert mach.queue_tick() == 5
    assert rec.calls == split(
        "BEnter AA AB AnyEnter BState AnyState "
        "CEnter BB AA BC BA AC AB AnyEnter CState AnyState "
        "AExit CB BC AC AB AnyEnter AEnd AnyState"
    )


def test_nested_queue_ticks_with_args_and_exception() -> None:
    """[probe] Add1(C)->4, dup->0, Add1(D,{x:1})->5, Remove1(A)->6, dup->0, Add1(Exception)->7."""
    rets: list[Result] = []

    def act(e: Any) -> None:
        m = e.machine
        rets.extend(
            [
                m.add1("C"),
                m.add1("C"),
                m.add1("D", {"x": 1}),
                m.remove1("A"),
                m.remove1("A"),
                m.add1("Exception"),
            ]
        )

    mach, _ = setup(actions={"BState": [act]})
    mach.add1("A")
    assert mach.add1("B") == Result.EXECUTED
    assert rets == [4, 0, 5, 6, 0, 7]
    assert mach.queue_tick() == 7
    assert mach.is_(["B", "C", "D", "Exception"])
    assert not mach.is1("A")


def test_nested_mutation() -> None:
    """Case 38: (B), in AState Add1(B)x3 -> queue 1, Remove1(B) -> 2, again -> 2; final (A)."""
    rets: list[Result] = []
    lens: list[int] = []

    def act(e: Any) -> None:
        m = e.machine
        rets.extend([m.add1("B"), m.add1("B"), m.add1("B")])
        lens.append(m.queue_len())
        rets.append(m.remove1("B"))
        lens.append(m.queue_len())
        rets.append(m.remove1("B"))
        lens.append(m.queue_len())

    mach, rec = setup(initial=["B"], actions={"AState": [act]})
    assert mach.add1("A") == Result.EXECUTED
    assert rets == [4, 0, 0, 5, 0]
    assert lens == [1, 2, 2]
    assert mach.active_states() == ["A"]
    assert nonzero_clock(mach) == {"A": 1, "B": 2}
    assert mach.queue_tick() == 5
    assert rec.calls == split(
        "AEnter BB BA AnyEnter AState AnyState "
        "BB AA AB BA AnyEnter AnyState "
        "BExit BA AnyEnter BEnd AnyState"
    )


def test_dedup_drops_readd_after_queued_remove() -> None:
    """[probe] queue [+B, -B]; a new +B is a duplicate (returns 0), B ends inactive."""
    rets: list[Result] = []

    def act(e: Any) -> None:
        m = e.machine
        rets.extend([m.add1("B"), m.remove1("B"), m.add1("B")])

    mach, rec = setup(actions={"AState": [act]})
    assert mach.add1("A") == Result.EXECUTED
    assert rets == [3, 4, 0]
    assert mach.active_states() == ["A"]
    assert nonzero_clock(mach) == {"A": 1, "B": 2}
    assert mach.queue_tick() == 4
    assert rec.calls == split(
        "AEnter AnyEnter AState AnyState BEnter AA AB AnyEnter BState AnyState "
        "BExit BA AnyEnter BEnd AnyState"
    )


def test_dedup_skips_mutations_with_args_or_multi() -> None:
    rets: list[Result] = []

    def act(e: Any) -> None:
        m = e.machine
        rets.extend([m.add1("B"), m.add1("B", {"x": 1}), m.add1("B"), m.add1("C"), m.add1("C")])

    schema = norels() | {"C": State(multi=True)}
    mach, _ = setup(schema, actions={"AState": [act]})
    mach.add1("A")
    assert rets == [3, 4, 0, 5, 6]
    assert nonzero_clock(mach) == {"A": 1, "B": 1, "C": 3}
    assert mach.queue_tick() == 6


def test_remove_of_inactive_in_handler_is_dropped() -> None:
    """[probe] a tx is running, queue empty, none of the states active -> 0, nothing queued."""
    lens: list[int] = []

    def act(e: Any) -> Result:
        r = e.machine.remove1("C")
        lens.append(e.machine.queue_len())
        return r

    mach, rec = setup(actions={"AState": [act]})
    assert mach.add1("A") == Result.EXECUTED
    assert rec.inner == [("AState", 0)]
    assert lens == [0]
    assert mach.queue_tick() == 2
    assert rec.calls == split("AEnter AnyEnter AState AnyState")


def test_remove_self_in_enter_is_dropped() -> None:
    mach, rec = setup(actions={"AEnter": [lambda e: e.machine.remove1("A")]})
    assert mach.add1("A") == Result.EXECUTED
    assert rec.inner == [("AEnter", 0)]
    assert mach.active_states() == ["A"]
    assert mach.queue_tick() == 2


def test_remove_self_in_state_is_queued() -> None:
    mach, rec = setup(actions={"AState": [lambda e: e.machine.remove1("A")]})
    assert mach.add1("A") == Result.EXECUTED
    assert rec.inner == [("AState", 3)]
    assert mach.active_states() == []
    assert nonzero_clock(mach) == {"A": 2}
    assert mach.queue_tick() == 3
    assert rec.calls == split("AEnter AnyEnter AState AnyState AExit AnyEnter AEnd AnyState")


def test_step_result_is_own_tx_only() -> None:
    """Quirk B.4: a rejecting handler's queued mutation still runs; result = own tx."""

    def act(e: Any) -> Result:
        return e.machine.add1("C")

    mach, rec = setup(reject=["BEnter"], actions={"BEnter": [act]})
    mach.add1("A")
    rec.calls.clear()
    rec.inner.clear()
    assert mach.add1("B") == Result.CANCELED
    assert rec.inner == [("BEnter", 4)]
    assert mach.active_states() == ["C", "A"]
    assert nonzero_clock(mach) == {"A": 1, "C": 1}
    assert rec.calls == split("BEnter CEnter AA AC AnyEnter CState AnyState")


def test_handler_set_in_exit() -> None:
    mach, rec = setup(actions={"AExit": [lambda e: e.machine.set(["D"])]})
    mach.add(["A", "B"])
    rec.calls.clear()
    assert mach.remove1("A") == Result.EXECUTED
    assert rec.inner == [("AExit", 4)]
    assert mach.active_states() == ["D"]
    assert nonzero_clock(mach) == {"A": 2, "B": 2, "D": 1}
    assert rec.calls == split(
        "AExit AB AnyEnter AEnd AnyState BExit DEnter BD AnyEnter BEnd DState AnyState"
    )


def test_queue_checkable() -> None:
    """Case 30: in AState queue +B,+C,+D -> len 3, IsQueued(add,[C]) idx 1, WillBe1."""
    seen: dict[str, Any] = {}

    def act(e: Any) -> None:
        m = e.machine
        seen["rets"] = [m.add1("B"), m.add1("C"), m.add1("D")]
        seen["len"] = m.queue_len()
        seen["c"] = m.is_queued(MutationType.ADD, ["C"])
        seen["a"] = m.is_queued(MutationType.ADD, ["A"])
        seen["will_c"] = m.will_be1("C")
        seen["will_a"] = m.will_be1("A")
        seen["will_bd"] = m.will_be(["B"])

    mach, _ = setup(actions={"AState": [act]})
    assert mach.add1("A") == Result.EXECUTED
    assert seen["rets"] == [3, 4, 5]
    assert seen["len"] == 3
    found, idx, tick = seen["c"]
    assert (found, idx, tick) == (True, 1, 4)
    assert seen["a"][0] is False
    assert seen["a"][1] == -1
    assert seen["will_c"] is True
    assert seen["will_a"] is False
    assert seen["will_bd"] is True
    assert mach.is_(["A", "B", "C", "D"])
    assert not mach.is_err()
    assert mach.queue_len() == 0


# --- queue limit (spec 2.2.3, case 43) --------------------------------------------------------


def test_queue_limit_probe() -> None:
    """[probe] limit 3: Add,Add,Add -> ticks, Add -> 1, AddErr -> 1, Add1(Exception) -> tick."""
    rets: list[Result] = []

    def act(e: Any) -> None:
        m = e.machine
        rets.extend([m.add1("B"), m.add1("C"), m.add1("D"), m.add1("E"), m.add_err(Boom("x"))])
        rets.append(m.add1("Exception"))

    schema = norels() | {"E": State()}
    mach, _ = setup(schema, queue_limit=3, actions={"AState": [act]})
    assert mach.add1("A") == Result.EXECUTED
    assert rets == [3, 4, 5, 1, 1, 6]
    assert mach.is_(["A", "B", "C", "D", "Exception"])
    assert not mach.is1("E")
    # the queue-full check runs before AddErr stores the error (spec 2.2 order)
    assert mach.err() is None


def test_queue_limit_remove_exception_passes_when_active() -> None:
    rets: list[Result] = []

    def act(e: Any) -> None:
        m = e.machine
        rets.extend([m.add1("B"), m.add1("C"), m.add1("D"), m.remove1("Exception")])

    mach, _ = setup(queue_limit=2, actions={"AState": [act]})
    mach.add_err(Boom("first"))
    assert mach.is_err()
    assert mach.add1("A") == Result.EXECUTED
    # add_err took tick 2, A runs at 3: B 4, C 5, D canceled (full), -Exception 6
    assert rets == [4, 5, 1, 6]
    assert not mach.is_err()
    assert mach.is_(["A", "B", "C"])
    assert not mach.is1("D")


def test_queue_limit_10() -> None:
    rets: list[Result] = []

    def act(e: Any) -> None:
        m = e.machine
        rets.extend(m.add1("B", {"i": i}) for i in range(11))

    mach, _ = setup(queue_limit=10, actions={"AState": [act]})
    mach.add1("A")
    assert [r.is_queued for r in rets] == [True] * 10 + [False]
    assert rets[-1] == Result.CANCELED
    assert mach.queue_limit == 10


# --- checks (case 45) -------------------------------------------------------------------------


def test_can_add_relations() -> None:
    """TestCanAdd (NewRels): CanAdd(A) Canceled, CanAdd(C) Executed."""
    mach = Machine(rels())
    qt = mach.queue_tick()
    assert mach.can_add(["A"]) == Result.CANCELED
    assert mach.can_add1("C") == Result.EXECUTED
    assert mach.active_states() == []
    assert all(t == 0 for t in mach.clock().values())
    assert mach.queue_tick() == qt


def test_can_add_runs_negotiation_only() -> None:
    checks: list[bool] = []
    mach, rec = setup(
        initial=["A"], actions={"BEnter": [lambda e: checks.append(e.mutation.is_check)]}
    )
    before = mach.clock()
    assert mach.can_add1("B") == Result.EXECUTED
    assert rec.calls == split("BEnter AA AB AnyEnter")
    assert checks == [True]
    assert mach.clock() == before
    assert mach.active_states() == ["A"]


def test_can_add_rejected_by_handler() -> None:
    mach, rec = setup(initial=["A"], reject=["BEnter"])
    assert mach.can_add1("B") == Result.CANCELED
    assert rec.calls == split("BEnter")
    assert mach.active_states() == ["A"]


def test_can_remove() -> None:
    mach, rec = setup(initial=["C"])
    assert mach.can_remove1("C") == Result.EXECUTED
    assert rec.calls == split("CExit AnyEnter")
    assert mach.active_states() == ["C"]
    rec.reject.add("CExit")
    assert mach.can_remove(["C"]) == Result.CANCELED
    assert mach.is1("C")


def test_check_of_multi_state_accepted_despite_relations() -> None:
    """Spec 2.4: a check calling a Multi state is accepted even if relations reject it."""
    mach = Machine({"A": State(multi=True, require=["X"]), "X": State()})
    assert mach.can_add1("A") == Result.EXECUTED
    assert mach.add1("A") == Result.CANCELED


# --- eval (case 45) ---------------------------------------------------------------------------


def test_eval_runs_fn() -> None:
    mach = Machine(norels())
    ran: list[int] = []
    assert mach.eval(lambda: ran.append(1), source="test") is True
    assert ran == [1]
    assert mach.active_states() == []


def test_eval_nested_returns_false() -> None:
    """Go: Eval inside Eval deadlocks until EvalTimeout -> False. Python: False at once."""
    mach = Machine(norels())
    inner: list[bool] = []
    mach.eval(lambda: inner.append(mach.eval(lambda: None, source="inner")), source="outer")
    assert inner == [False]


def test_eval_in_handler_returns_false() -> None:
    """Go: Eval in a handler deadlocks (or False + ErrNestedEval with DetectEval).
    Python: returns False immediately, the handler doesn't block."""
    results: list[bool] = []
    ran: list[int] = []

    def act(e: Any) -> None:
        results.append(e.machine.eval(lambda: ran.append(1), source="handler"))

    mach, _ = setup(actions={"AState": [act]})
    mach.add1("A")
    assert results == [False]
    assert ran == []
    assert mach.is1("A")


def test_queued_mutation_does_not_alias_callers_list() -> None:
    """A queued mutation keeps the states it was called with, whatever the caller does
    with its list afterwards."""

    def act(e: Any) -> None:
        states = ["B"]
        e.machine.add(states)
        states[0] = "C"

    mach, _ = setup(actions={"AState": [act]})
    assert mach.add1("A") == Result.EXECUTED
    assert mach.is1("B")
    assert not mach.is1("C")
