"""Relation resolution (spec 3.1-3.3, 3.5, 3.6; acceptance cases 1, 11-15, 25, 36).

Expected active lists, clocks and call orders are the spec's [probe]/acceptance
values; where the golden traces (tests/data/machine-public.jsonl) hold the same
case (ids ``acc-*``) the values were checked against them.
"""

from __future__ import annotations

import itertools

import pytest

from asyncmachine import Machine, Result, State
from asyncmachine.machine import SchemaError
from tests.machine.mach_helpers import nonzero_clock, norels, rels, setup, split

# --- case 1: basic Set / Add / Remove ---------------------------------------------------------


def test_single_state_active() -> None:
    mach, rec = setup()
    assert mach.set(["A"]) == Result.EXECUTED
    assert mach.active_states() == ["A"]
    assert nonzero_clock(mach) == {"A": 1}
    assert rec.calls == split("AEnter AnyEnter AState AnyState")
    assert mach.queue_tick() == 2


def test_state_add_keeps_active() -> None:
    mach, rec = setup(initial=["A"])
    assert mach.add(["B"]) == Result.EXECUTED
    # active list = target order of the last tx: called + before
    assert mach.active_states() == ["B", "A"]
    assert nonzero_clock(mach) == {"A": 1, "B": 1}
    assert rec.calls == split("BEnter AA AB AnyEnter BState AnyState")


def test_state_set_replaces() -> None:
    mach, rec = setup(initial=["A"])
    assert mach.set(["B"]) == Result.EXECUTED
    assert mach.active_states() == ["B"]
    assert nonzero_clock(mach) == {"A": 2, "B": 1}
    assert rec.calls == split("AExit BEnter AB AnyEnter AEnd BState AnyState")


def test_state_remove() -> None:
    mach, rec = setup(initial=["B", "C"])
    assert mach.remove(["C"]) == Result.EXECUTED
    assert mach.active_states() == ["B"]
    assert nonzero_clock(mach) == {"B": 1, "C": 2}
    assert rec.calls == split("CExit CB AnyEnter CEnd AnyState")


def test_duplicate_called_states_are_dropped() -> None:
    mach, rec = setup()
    assert mach.add(["A", "A", "B"]) == Result.EXECUTED
    assert mach.active_states() == ["A", "B"]
    assert rec.calls == split("AEnter BEnter AnyEnter AState BState AnyState")
    rec.calls.clear()
    assert mach.remove(["B", "B"]) == Result.EXECUTED
    assert mach.active_states() == ["A"]
    assert nonzero_clock(mach) == {"A": 1, "B": 2}
    assert rec.calls == split("BExit BA AnyEnter BEnd AnyState")


def test_toggle_twice() -> None:
    """Case 43 (Toggle1 twice -> on/off) and Toggle = Remove only if *all* active."""
    mach = Machine(norels())
    assert mach.toggle1("A") == Result.EXECUTED
    assert mach.is1("A")
    assert mach.toggle1("A") == Result.EXECUTED
    assert not mach.is1("A")
    assert mach.toggle(["A"]) == Result.EXECUTED
    assert mach.is1("A")
    assert mach.toggle(["A"]) == Result.EXECUTED
    assert not mach.is1("A")
    # partially active -> Add
    mach.add1("A")
    mach.toggle(["A", "B"])
    assert mach.is_(["A", "B"])
    # all active -> Remove
    mach.toggle(["A", "B"])
    assert mach.not_(["A", "B"])
    assert nonzero_clock(mach) == {"A": 6, "B": 2}


# --- case 11, 12: Remove relation -------------------------------------------------------------


def test_remove_relation_deactivates() -> None:
    schema = norels() | {"C": State(remove=["D"])}
    mach, rec = setup(schema, ["D"])
    assert mach.add(["C"]) == Result.EXECUTED
    assert mach.active_states() == ["C"]
    assert nonzero_clock(mach) == {"C": 1, "D": 2}
    assert rec.calls == split("DExit CEnter DC AnyEnter DEnd CState AnyState")


def test_remove_relation_simultaneous_cancels() -> None:
    schema = norels() | {"C": State(remove=["D"])}
    mach, rec = setup(schema, ["D"])
    assert mach.set(["C", "D"]) == Result.CANCELED
    assert mach.active_states() == ["D"]
    assert nonzero_clock(mach) == {"D": 1}
    assert rec.calls == []
    assert mach.queue_tick() == 3


@pytest.mark.parametrize("op", ["set", "add"])
def test_remove_relation_cross_blocking(op: str) -> None:
    schema = norels() | {"C": State(remove=["D"]), "D": State(remove=["C"])}
    mach, rec = setup(schema, ["D"])
    fn = getattr(mach, op)
    assert fn(["C"]) == Result.EXECUTED
    assert mach.active_states() == ["C"]
    assert rec.calls == split("DExit CEnter DC AnyEnter DEnd CState AnyState")
    rec.calls.clear()
    assert fn(["D"]) == Result.EXECUTED
    assert mach.active_states() == ["D"]
    assert nonzero_clock(mach) == {"C": 2, "D": 3}
    assert rec.calls == split("CExit DEnter CD AnyEnter CEnd DState AnyState")


def test_one_sided_remove_blocks_called_state() -> None:
    schema = norels() | {"B": State(remove=["A"])}
    mach, rec = setup(schema, ["B"])
    assert mach.add1("A") == Result.CANCELED
    assert mach.active_states() == ["B"]
    assert rec.calls == []


def test_two_called_states_first_listed_survives_then_canceled() -> None:
    """Between two called states the first listed survives; the tx is canceled."""
    schema = norels() | {"A": State(remove=["B"]), "B": State(remove=["A"])}
    mach, _ = setup(schema)
    assert mach.add(["A", "B"]) == Result.CANCELED
    assert mach.active_states() == []
    assert mach.can_add(["A", "B"]) == Result.CANCELED


# --- case 13: Add relation --------------------------------------------------------------------


def test_add_relation() -> None:
    schema = norels() | {"A": State(remove=["D"]), "C": State(add=["D"])}
    mach, rec = setup(schema)
    assert mach.set(["C"]) == Result.EXECUTED
    assert mach.active_states() == ["C", "D"]
    assert rec.calls == split("CEnter DEnter AnyEnter CState DState AnyState")
    rec.calls.clear()
    # D is skipped when blocked at the same time
    assert mach.set(["A", "C"]) == Result.EXECUTED
    assert mach.active_states() == ["A", "C"]
    assert nonzero_clock(mach) == {"A": 1, "C": 1, "D": 2}
    assert rec.calls == split("DExit AEnter CC CA DA DC AnyEnter DEnd AState AnyState")


def test_add_relation_reaches_two_levels_only() -> None:
    """[probe] / quirk B.2: A{Add:B} B{Add:C} C{Add:D}: Add1(A) -> (A B C)."""
    schema = {"A": State(add=["B"]), "B": State(add=["C"]), "C": State(add=["D"]), "D": State()}
    mach, rec = setup(schema)
    assert mach.add1("A") == Result.EXECUTED
    assert mach.active_states() == ["C", "A", "B"]
    assert not mach.is1("D")
    assert nonzero_clock(mach) == {"A": 1, "B": 1, "C": 1}
    assert rec.calls == split("CEnter AEnter BEnter AnyEnter CState AState BState AnyState")


def test_add_implied_state_blocked_by_remove_is_skipped() -> None:
    schema = norels() | {"A": State(add=["B"]), "C": State(remove=["B"])}
    mach, rec = setup(schema, ["C"])
    assert mach.add1("A") == Result.EXECUTED
    assert mach.active_states() == ["A", "C"]
    assert rec.calls == split("AEnter CC CA AnyEnter AState AnyState")


def test_active_non_multi_state_does_not_reapply_add() -> None:
    schema = {"A": State(add=["B"]), "B": State(), "C": State()}
    mach, rec = setup(schema)
    mach.add(["A"])
    assert mach.active_states() == ["A", "B"]
    mach.remove(["B"])
    rec.calls.clear()
    assert mach.add(["A"]) == Result.EXECUTED
    assert mach.active_states() == ["A"]
    assert nonzero_clock(mach) == {"A": 1, "B": 2}
    assert rec.calls == split("AA AnyEnter AnyState")


def test_active_multi_state_reapplies_add_on_set() -> None:
    """[probe] A{Multi, Add:[B]}: Set([A]) keeps B (quirk B.12)."""
    schema = norels() | {"A": State(multi=True, add=["B"])}
    mach, rec = setup(schema)
    mach.set(["A"])
    assert mach.active_states() == ["A", "B"]
    rec.calls.clear()
    assert mach.set(["A"]) == Result.EXECUTED
    assert mach.active_states() == ["A", "B"]
    assert nonzero_clock(mach) == {"A": 3, "B": 1}
    assert rec.calls == split("AEnter AA BB AB BA AnyEnter AState AnyState")


def test_remove_tx_reapplies_add_of_active_multi_state() -> None:
    """Quirk B.12: A{Multi,Add:B} C{Remove:B}; (A C) Remove(C) activates B."""
    schema = {"A": State(multi=True, add=["B"]), "B": State(), "C": State(remove=["B"])}
    mach, rec = setup(schema, ["A", "C"])
    assert mach.active_states() == ["A", "C"]
    assert mach.remove(["C"]) == Result.EXECUTED
    assert mach.active_states() == ["A", "B"]
    assert nonzero_clock(mach) == {"A": 1, "B": 1, "C": 2}
    assert rec.calls == split("CExit BEnter AB CA CB AnyEnter CEnd BState AnyState")


def test_multi_is_only_honoured_for_called_states() -> None:
    schema = norels() | {"A": State(add=["B"]), "B": State(multi=True)}
    mach, rec = setup(schema)
    mach.add(["B"])
    rec.calls.clear()
    assert mach.add(["A"]) == Result.EXECUTED
    assert mach.active_states() == ["A", "B"]
    assert nonzero_clock(mach) == {"A": 1, "B": 1}
    assert rec.calls == split("AEnter BB BA AnyEnter AState AnyState")


def test_second_level_implied_state_ignores_remove_quirk() -> None:
    """Quirk B.3: states from the second Add pass skip Remove blocking.

    F{Add:[E]} E{Add:[G]} G{Remove:[E]}: Set(F) activates E and G together.
    """
    schema = {"E": State(add=["G"]), "F": State(add=["E"]), "G": State(remove=["E"])}
    mach = Machine(schema)
    assert mach.set(["F"]) == Result.EXECUTED
    assert mach.is_(["E", "F", "G"])


# --- case 14: Require -------------------------------------------------------------------------


def test_require_relation() -> None:
    schema = norels() | {"C": State(require=["D"])}
    mach, rec = setup(schema)
    assert mach.set(["C", "D"]) == Result.EXECUTED
    assert mach.active_states() == ["D", "C"]
    assert rec.calls == split("DEnter CEnter AnyEnter DState CState AnyState")


def test_require_relation_reject() -> None:
    schema = norels() | {"C": State(require=["D"])}
    mach, rec = setup(schema, ["A"])
    assert mach.set(["C", "A"]) == Result.CANCELED
    assert mach.active_states() == ["A"]
    assert nonzero_clock(mach) == {"A": 1}
    assert rec.calls == []


def test_require_deactivates_dependants() -> None:
    schema = norels() | {"B": State(require=["A"])}
    mach, rec = setup(schema, ["A", "B"])
    assert mach.remove(["A"]) == Result.EXECUTED
    assert mach.active_states() == []
    assert nonzero_clock(mach) == {"A": 2, "B": 2}
    assert rec.calls == split("AExit BExit AnyEnter AEnd BEnd AnyState")


def test_unknown_require_is_a_schema_error() -> None:
    """Deviation from Go (README): an unknown Require target is a SchemaError, not a
    requirement that is never satisfied."""
    with pytest.raises(SchemaError, match="'A': require relation to unknown state 'Nope'"):
        Machine({"A": State(require=["Nope"]), "B": State()})


# --- case 15: RemoveMultiImplied --------------------------------------------------------------


def test_remove_multi_implied() -> None:
    schema = norels() | {
        "A": State(multi=True, add=["B"], require=["C"]),
        "B": State(require=["C"]),
    }
    mach, _ = setup(schema, ["A", "B", "C"])
    assert sorted(mach.active_states()) == ["A", "B", "C"]
    assert mach.remove1("B") == Result.EXECUTED
    assert sorted(mach.active_states()) == ["A", "C"]


def test_remove_multi_implied_ordered() -> None:
    schema = norels() | {
        "A": State(multi=True, add=["B"], require=["C"]),
        "B": State(require=["C"], after=["A"]),
    }
    mach, rec = setup(schema)
    mach.set(["A", "B", "C"])
    assert mach.active_states() == ["C", "A", "B"]
    assert rec.calls == split("CEnter AEnter BEnter AnyEnter CState AState BState AnyState")
    rec.calls.clear()
    assert mach.remove1("B") == Result.EXECUTED
    assert mach.active_states() == ["C", "A"]
    assert nonzero_clock(mach) == {"A": 1, "B": 2, "C": 1}
    assert rec.calls == split("BExit CA AC BC BA AnyEnter BEnd AnyState")


# --- case 10: Require order / sort_states -----------------------------------------------------


@pytest.mark.parametrize("perm", list(itertools.permutations("ABCD")))
def test_require_order_any_permutation(perm: tuple[str, ...]) -> None:
    """SortStates(any permutation of ABCD) = [D B C A] (here through Add)."""
    schema = {"A": State(require=["B", "C"]), "B": State(require=["D"]), "C": State(), "D": State()}
    mach, rec = setup(schema)
    assert mach.add(list(perm)) == Result.EXECUTED
    assert mach.active_states() == ["D", "B", "C", "A"]
    assert [c for c in rec.calls if c.endswith("Enter")] == split(
        "DEnter BEnter CEnter AEnter AnyEnter"
    )


def test_require_chain_order() -> None:
    schema = {"A": State(require=["B"]), "B": State(require=["C"]), "C": State()}
    mach, rec = setup(schema)
    assert mach.add(["A", "B", "C"]) == Result.EXECUTED
    assert mach.active_states() == ["C", "B", "A"]
    assert rec.calls == split("CEnter BEnter AEnter AnyEnter CState BState AState AnyState")


def test_after_beats_require_topology() -> None:
    """Foo{After:[Bar]}, Bar{Require:[Foo]}: Add(Foo, Bar) -> BarEnter FooEnter."""
    schema = {"Foo": State(after=["Bar"]), "Bar": State(require=["Foo"])}
    mach, rec = setup(schema)
    assert mach.add(["Foo", "Bar"]) == Result.EXECUTED
    assert mach.active_states() == ["Bar", "Foo"]
    assert rec.calls == split("BarEnter FooEnter AnyEnter BarState FooState AnyState")


# --- case 25: regressions ---------------------------------------------------------------------


def test_regression_remove_cross_blocked_by_implied() -> None:
    schema = {"A": State(remove=["B"]), "B": State(remove=["A"]), "Z": State(add=["B"])}
    mach, rec = setup(schema)
    assert mach.set(["Z"]) == Result.EXECUTED
    assert mach.active_states() == ["Z", "B"]
    assert rec.calls == split("ZEnter BEnter AnyEnter ZState BState AnyState")


def test_regression_wet_dry_water() -> None:
    schema = {
        "Wet": State(require=["Water"]),
        "Dry": State(remove=["Wet"]),
        "Water": State(add=["Wet"], remove=["Dry"]),
    }
    mach, rec = setup(schema)
    assert mach.set(["Dry"]) == Result.EXECUTED
    rec.calls.clear()
    assert mach.set(["Water"]) == Result.EXECUTED
    assert mach.active_states() == ["Water", "Wet"]
    assert nonzero_clock(mach) == {"Dry": 2, "Water": 1, "Wet": 1}
    assert rec.calls == split(
        "DryExit WaterEnter WetEnter DryWater DryWet AnyEnter DryEnd WaterState WetState AnyState"
    )


def test_parse_struct_behaviour() -> None:
    """A{Remove:[A,B,C], Add:[C], After:[A]} behaves as A{Remove:[B], Add:[C]}."""
    schema = {
        "A": State(remove=["A", "B", "C"], add=["C"], after=["A"]),
        "B": State(),
        "C": State(),
    }
    mach, rec = setup(schema, ["B"])
    assert mach.add(["A"]) == Result.EXECUTED
    assert mach.active_states() == ["A", "C"]
    assert nonzero_clock(mach) == {"A": 1, "B": 2, "C": 1}
    assert rec.calls == split("BExit AEnter CEnter BA BC AnyEnter BEnd AState CState AnyState")


# --- case 36: Inspect scenario's transitions --------------------------------------------------


def test_inspect_scenario_transitions() -> None:
    mach, rec = setup(rels(), ["A", "C"])
    assert mach.active_states() == ["C", "A"]
    assert mach.remove(["C"]) == Result.EXECUTED
    assert mach.active_states() == []
    assert nonzero_clock(mach) == {"A": 2, "C": 2}
    assert rec.calls == split("CExit AExit AnyEnter CEnd AEnd AnyState")
    rec.calls.clear()
    assert mach.add(["B"]) == Result.EXECUTED
    assert mach.active_states() == ["B", "C", "A"]
    assert nonzero_clock(mach) == {"A": 3, "B": 1, "C": 3}
    assert rec.calls == split(
        "BEnter CEnter AnyEnter BState CState AnyState "
        "AEnter BB CC BC BA CB CA AnyEnter AState AnyState"
    )
    rec.calls.clear()
    assert mach.add(["D"]) == Result.EXECUTED
    assert mach.active_states() == ["D", "B", "C", "A"]
    assert nonzero_clock(mach) == {"A": 3, "B": 1, "C": 3, "D": 1}
    assert rec.calls == split("DEnter BB CC AA BD BC BA CD CB CA AD AB AC AnyEnter DState AnyState")


# --- 3.5 / quirk B.14: adding active states ---------------------------------------------------


def test_adding_active_states_executes_without_tick_change() -> None:
    mach, rec = setup(initial=["A"])
    mach.add(["B"])
    rec.calls.clear()
    before = mach.clock()
    qt = mach.queue_tick()
    assert mach.add(["A"]) == Result.EXECUTED
    assert mach.clock() == before
    assert mach.queue_tick() == qt + 1
    assert mach.active_states() == ["A", "B"]
    # AA x1 here (x2 in total with the Add(B) tx), BB x1
    assert rec.calls == split("AA BB BA AB AnyEnter AnyState")


def test_remove_inactive_from_outside_is_a_full_tx() -> None:
    mach, rec = setup(initial=["A", "B", "C"])
    assert mach.remove1("D") == Result.EXECUTED
    assert mach.active_states() == ["A", "B", "C"]
    assert nonzero_clock(mach) == {"A": 1, "B": 1, "C": 1}
    assert rec.calls == split("AB AC BA BC CA CB AnyEnter AnyState")


def test_set_empty_list_deactivates_all() -> None:
    mach, rec = setup(initial=["A", "B"])
    assert mach.set([]) == Result.EXECUTED
    assert mach.active_states() == []
    assert nonzero_clock(mach) == {"A": 2, "B": 2}
    assert rec.calls == split("AExit BExit AnyEnter AEnd BEnd AnyState")


def test_require_rechecked_after_remove_filtering() -> None:
    """Spec 3.2: the final parse_require drops states whose requirement was removed.

    (X Y) active with X{Require:[Y]}; Add(Z) with Z{Remove:[Y]} removes Y and so X.
    """
    schema = {"X": State(require=["Y"]), "Y": State(), "Z": State(remove=["Y"])}
    mach, rec = setup(schema, ["X", "Y"])
    assert mach.add1("Z") == Result.EXECUTED
    assert rec.calls == split("YExit XExit ZEnter YZ XZ AnyEnter YEnd XEnd ZState AnyState")
    assert mach.active_states() == ["Z"]
    assert nonzero_clock(mach) == {"X": 2, "Y": 2, "Z": 1}


def test_implied_requirement_blocked_cancels() -> None:
    """X{Add:[Y], Require:[Y]} with active Z{Remove:[Y]}: the implied Y is skipped, X loses
    its requirement, the tx is canceled."""
    schema = {"X": State(add=["Y"], require=["Y"]), "Y": State(), "Z": State(remove=["Y"])}
    mach, rec = setup(schema, ["Z"])
    assert mach.add1("X") == Result.CANCELED
    assert mach.active_states() == ["Z"]
    assert rec.calls == []
