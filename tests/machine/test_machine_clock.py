"""Clocks, time, reads and formats (spec 4, 7; cases 31, 35, 36, 40, 46)."""

from __future__ import annotations

import json

import pytest

from asyncmachine import Machine, Result, State
from asyncmachine.machine import Time, is_active_tick
from tests.machine.mach_helpers import nonzero_clock, norels, rels, setup, split

NAMES = ["A", "B", "C", "D"]


def test_time_and_clock_sequence() -> None:
    """TestTime/TestClock: B Multi, the 8-step tick sequence."""
    schema = norels() | {"B": State(multi=True)}
    mach = Machine(schema)
    steps: list[tuple[str, list[str], list[int], list[str]]] = [
        ("add", ["A", "B"], [1, 1, 0, 0], ["A", "B"]),
        ("add", ["A", "B"], [1, 3, 0, 0], ["A", "B"]),
        ("add", ["A", "B", "C"], [1, 5, 1, 0], ["A", "B", "C"]),
        ("set", ["D"], [2, 6, 2, 1], ["D"]),
        ("add", ["D", "C"], [2, 6, 3, 1], ["D", "C"]),
        ("remove", ["B", "C"], [2, 6, 4, 1], ["D"]),
        ("add", ["A", "B"], [3, 7, 4, 1], ["A", "B", "D"]),
    ]
    for op, states, time, active in steps:
        assert getattr(mach, op)(states) == Result.EXECUTED, (op, states)
        assert mach.time(NAMES) == time, (op, states)
        assert mach.active_states() == active, (op, states)
    assert mach.clock() == {"A": 3, "B": 7, "C": 4, "D": 1, "Exception": 0}
    assert mach.clock(["A", "B"]) == {"A": 3, "B": 7}
    assert mach.tick("A") == 3

    before = mach.time(NAMES)
    assert mach.add(["C"]) == Result.EXECUTED
    now = mach.time(NAMES)
    assert now == [3, 7, 5, 1]
    assert mach.active_states() == ["C", "A", "B", "D"]
    assert isinstance(now, Time)
    assert now.after(True, before)
    assert not before.after(True, now)
    assert mach.time().sum() == 16
    assert mach.time() == [3, 7, 5, 1, 0]


def test_multi_ticks() -> None:
    """[probe] Multi A: Add, Add, Remove -> 1, 3, 4."""
    schema = norels() | {"A": State(multi=True)}
    mach, rec = setup(schema)
    ticks = []
    for op in ("add1", "add1", "remove1"):
        assert getattr(mach, op)("A") == Result.EXECUTED
        ticks.append(mach.tick("A"))
    assert ticks == [1, 3, 4]
    assert rec.calls == split(
        "AEnter AnyEnter AState AnyState AEnter AA AnyEnter AState AnyState "
        "AExit AnyEnter AEnd AnyState"
    )


def test_odd_tick_means_active() -> None:
    mach = Machine(norels())
    mach.add(["A", "B"])
    mach.remove1("A")
    for name, tick in mach.clock().items():
        assert (tick % 2 == 1) == mach.is1(name)
        assert is_active_tick(tick) == (name in mach.active_states())


def test_is_clock() -> None:
    mach = Machine(norels())
    c_a = mach.clock(["A"])
    c_all = mach.clock()
    mach.add(["A", "B"])
    assert not mach.is_clock(c_all)
    assert not mach.is_clock(c_a)
    c_a["A"] += 1
    assert mach.is_clock(c_a)
    assert mach.is_clock(mach.clock())


def test_is_time() -> None:
    mach = Machine(norels())
    t_a = mach.time(["A"])
    t_all = mach.time()
    mach.add(["A", "B"])
    assert not mach.is_time(t_a, ["A"])
    assert not mach.is_time(t_all)
    assert mach.is_time(mach.time())
    assert mach.is_time(mach.time(["A"]), ["A"])
    assert mach.is_time([1], ["B"])


def test_time_helpers() -> None:
    """Case 46: Time{2,1,3}.Is1(1) T, .Is1(-1) F, t.Add(t).DiffSince(t)==t; IsActiveTick."""
    t = Time([2, 1, 3])
    assert t.is1(1)
    assert not t.is1(0)
    assert not t.is1(-1)
    assert t.add(t).diff_since(t) == t
    assert t.is_([1, 2])
    assert not t.is_([0, 1])
    assert not t.is_([])
    assert t.not_([0])
    assert t.not_([])
    assert not t.not_([0, 1])
    assert t.sum() == 6
    assert t.sum([0, 2]) == 5
    assert str(t) == "2 1 3"
    assert is_active_tick(6548735)
    assert not is_active_tick(6548734)
    assert not is_active_tick(0)


# --- case 35: Is / Not / Any / Switch ---------------------------------------------------------


def test_is_not_any() -> None:
    mach, _ = setup(initial=["A", "B"])
    assert mach.is_(["A", "B"])
    assert not mach.is_(["A", "B", "C"])
    assert mach.is_([]) is True
    assert not mach.not_(["A", "B"])
    assert not mach.not_(["A", "B", "C"])
    assert mach.not1("D")
    assert not mach.not1("A")
    assert mach.any_(["A", "B"], ["C"])
    assert mach.any_(["A", "B", "C"], ["A"])
    assert not mach.any_(["C"])
    assert mach.any1("A", "B")
    assert not mach.any1("C")
    assert mach.is1("A")
    assert not mach.is1("C")
    # unknown states are simply inactive for is_ (Go: Is returns False)
    assert not mach.is_(["A", "Unknown"])


def test_switch() -> None:
    mach, _ = setup(initial=["A"])
    assert mach.switch(["A", "B"]) == "A"
    assert mach.switch(["C", "B"]) == ""
    assert mach.switch(["C"], ["B", "A"]) == "A"


# --- formats (cases 35, 36) -------------------------------------------------------------------


def test_string_and_string_all() -> None:
    mach = Machine(norels())
    assert mach.string() == "()"
    assert mach.string_all() == "() [A:0 B:0 C:0 D:0 Exception:0]"
    mach.set(["A", "B"])
    mach.verify_states(["A", "B", "C", "D", "Exception"])
    assert mach.string() == "(A:1 B:1)"
    assert mach.string_all() == "(A:1 B:1) [C:0 D:0 Exception:0]"
    mach.verify_states(["Exception", "D", "C", "B", "A"])
    assert mach.string() == "(B:1 A:1)"
    assert mach.string_all() == "(B:1 A:1) [Exception:0 D:0 C:0]"


def _lines(s: str) -> list[str]:
    return [line.rstrip() for line in s.strip("\n").splitlines()]


INSPECT_1 = """
1 A
    |Tick     1
    |Auto     true
    |Require  C
0 B
    |Tick     0
    |Multi    true
    |Add      C
1 C
    |Tick     1
    |After    D
0 D
    |Tick     0
    |Add      C B
0 Exception
    |Tick     0
    |Multi    true
"""

INSPECT_2 = """
0 Exception
    |Tick     0
    |Multi    true
1 A
    |Tick     3
    |Auto     true
    |Require  C
1 B
    |Tick     1
    |Multi    true
    |Add      C
1 C
    |Tick     3
    |After    D
1 D
    |Tick     1
    |Add      C B
"""


def test_inspect() -> None:
    mach = Machine(rels())
    mach.set(["A", "C"])
    assert _lines(mach.inspect()) == _lines(INSPECT_1)
    assert _lines(mach.inspect(["B"])) == _lines(INSPECT_1)[4:8]
    mach.remove(["C"])
    mach.add(["B"])
    mach.add(["D"])
    assert nonzero_clock(mach) == {"A": 3, "B": 1, "C": 3, "D": 1}
    mach.verify_states(["Exception", "A", "B", "C", "D"])
    assert _lines(mach.inspect()) == _lines(INSPECT_2)


def test_inspect_relation_order() -> None:
    schema = {
        "A": State(after=["D"], remove=["C"], require=["B"], add=["B"]),
        "B": State(),
        "C": State(),
        "D": State(),
    }
    mach = Machine(schema)
    lines = _lines(mach.inspect(["A"]))
    assert lines == [
        "0 A",
        "    |Tick     0",
        "    |Add      B",
        "    |Require  B",
        "    |Remove   C",
        "    |After    D",
    ]


# --- export / import (case 40) ----------------------------------------------------------------


def _exported() -> tuple[Machine, dict[str, object]]:
    m1 = Machine(norels(), id="exp1", names=["A", "B", "C", "D", "Exception"])
    m1.set(["A"])
    m1.remove1("B")
    m1.add1("A")
    m1.add1("B")
    m1.add1("C")
    return m1, dict(m1.export())


def test_export_import_same_id() -> None:
    m1, data = _exported()
    m2 = Machine(norels(), id="exp1")
    m2.import_(data)
    assert m2.string() == m1.string()
    assert m2.string() == "(A:1 B:1 C:1)"
    assert m2.clock() == m1.clock()
    assert sorted(m2.active_states()) == ["A", "B", "C"]
    assert m2.state_names() == m1.state_names()
    assert m2.machine_tick() == 1
    # a restored machine works normally
    assert m2.remove1("A") == Result.EXECUTED
    assert m2.tick("A") == 2


def test_export_is_json_serializable() -> None:
    _, data = _exported()
    data2 = json.loads(json.dumps(data))
    m2 = Machine(norels(), id="exp1")
    m2.import_(data2)
    assert m2.string() == "(A:1 B:1 C:1)"


def test_import_other_id_fails_and_keeps_state() -> None:
    _, data = _exported()
    m2 = Machine(norels(), id="other")
    m2.add1("D")
    with pytest.raises(ValueError, match=r"exp1|other"):
        m2.import_(data)
    assert m2.string() == "(D:1)"
    assert m2.machine_tick() == 0


def test_import_restores_state_order() -> None:
    m1 = Machine(norels(), id="ord", names=["D", "C", "B", "A", "Exception"])
    m1.add(["A", "C"])
    m2 = Machine(norels(), id="ord")
    m2.import_(m1.export())
    assert m2.state_names() == ["D", "C", "B", "A", "Exception"]
    assert m2.string() == "(C:1 A:1)"


def test_import_adds_machine_restored() -> None:
    schema = norels() | {"MachineRestored": State()}
    m1 = Machine(schema, id="r")
    m1.add1("A")
    m2 = Machine(schema, id="r")
    m2.import_(m1.export())
    assert m2.is_(["A", "MachineRestored"])
    assert m2.machine_tick() == 1
