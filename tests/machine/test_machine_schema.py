"""Schemas: names, parsing, composition, pkg/states schemas (spec 1; cases 2, 3, 33, 34, 39, 46)."""

from __future__ import annotations

from typing import Any

import pytest

from asyncmachine import Machine, Result, State
from asyncmachine.machine import (
    BASIC_SCHEMA,
    CONNECTED_SCHEMA,
    DISPOSED_SCHEMA,
    SchemaError,
    StateMissingError,
    merge_schemas,
)
from tests.machine.mach_helpers import make_recorder, nonzero_clock, norels, setup, split


def rel_names(rels: Any) -> list[str]:
    """Relation kinds as lower-case strings, whatever the representation."""
    out = []
    for r in rels:
        if isinstance(r, str):
            out.append(r.lower())
        else:
            out.append(str(getattr(r, "value", None) or r.name).lower())
    return out


# --- names and the Exception state (1.2, case 2) ----------------------------------------------


def test_expose_all_state_names() -> None:
    mach = Machine(norels())
    assert mach.state_names() == ["A", "B", "C", "D", "Exception"]


def test_state_names_byte_wise_sorted() -> None:
    mach = Machine({"Zed": State(), "alpha": State(), "Beta": State()})
    assert mach.state_names() == ["Beta", "Exception", "Zed", "alpha"]


def test_exception_added_as_multi() -> None:
    mach = Machine({"A": State()})
    assert mach.schema()["Exception"].multi is True
    mach.add_err(ValueError("1"))
    mach.add_err(ValueError("2"))
    assert mach.tick("Exception") == 3


def test_user_exception_kept_as_is() -> None:
    mach = Machine({"A": State(), "Exception": State()})
    assert mach.schema()["Exception"].multi is False
    mach.add_err(ValueError("1"))
    mach.add_err(ValueError("2"))
    assert mach.tick("Exception") == 1


def test_plain_dict_states_accepted() -> None:
    mach = Machine({"A": {"require": ["B"]}, "B": {}, "C": {"auto": True, "multi": True}})
    st = mach.schema()["A"]
    assert isinstance(st, State)
    assert tuple(st.require) == ("B",)
    assert mach.schema()["C"].auto and mach.schema()["C"].multi
    assert mach.add1("A") == Result.CANCELED
    assert mach.add(["A", "B"]) == Result.EXECUTED
    # C is Auto: activated by the auto tx after the accepted Add
    assert mach.is1("C")


# --- parsing (1.3, case 46) -------------------------------------------------------------------


def test_parse_struct() -> None:
    """TestParseStruct: A{Remove:[A,B,C], Add:[C], After:[A]} -> A{Remove:[B], Add:[C]}."""
    schema = {
        "A": State(remove=["A", "B", "C"], add=["C"], after=["A"]),
        "B": State(),
        "C": State(),
    }
    mach = Machine(schema)
    a = mach.schema()["A"]
    assert tuple(a.remove) == ("B",)
    assert tuple(a.add) == ("C",)
    assert tuple(a.after) == ()
    # the input is not modified
    assert tuple(schema["A"].remove) == ("A", "B", "C")


@pytest.mark.parametrize(
    ("rel", "target"), [("add", "Z"), ("remove", "Y"), ("after", "X"), ("require", "W")]
)
def test_unknown_relation_target_is_a_schema_error(rel: str, target: str) -> None:
    """Deviation from Go (README): Go drops unknown Add/Remove/After targets silently
    and never satisfies an unknown Require; a typo there is a SchemaError naming it."""
    schema = {"A": State(**{rel: [target, "B"]}), "B": State()}
    with pytest.raises(SchemaError, match=f"'A': {rel} relation to unknown state '{target}'"):
        Machine(schema)


def test_require_remove_conflict_puts_exception_on() -> None:
    """acc-require-remove-conflict: Exception active at construction, re-added on binding."""
    schema = {"A": State(require=["B"], remove=["B"]), "B": State(), "C": State()}
    mach = Machine(schema)
    assert mach.is_err()
    assert mach.active_states() == ["Exception"]
    assert mach.tick("Exception") == 1
    assert mach.queue_tick() == 2
    err = mach.err()
    assert isinstance(err, SchemaError)
    assert "require-remove conflict for A to B" in str(err)

    rec = make_recorder(mach.state_names())
    mach.bind_handlers(rec)
    assert mach.tick("Exception") == 3
    assert mach.queue_tick() == 3
    assert rec.calls == split("ExceptionEnter ExceptionException AnyEnter ExceptionState AnyState")

    rec.calls.clear()
    assert mach.add(["B"]) == Result.EXECUTED
    assert mach.active_states() == ["Exception", "B"]
    assert rec.calls == split("BEnter ExceptionException ExceptionB AnyEnter BState AnyState")
    rec.calls.clear()
    assert mach.set(["A"]) == Result.CANCELED
    assert rec.calls == []
    assert mach.add(["C"]) == Result.EXECUTED
    assert mach.active_states() == ["C", "Exception", "B"]
    assert rec.calls == split(
        "CEnter ExceptionException BB ExceptionC ExceptionB BC BException AnyEnter CState AnyState"
    )
    assert nonzero_clock(mach) == {"B": 1, "C": 1, "Exception": 3}
    assert mach.queue_tick() == 6


def test_require_cycle_does_not_break_construction() -> None:
    mach = Machine({"A": State(require=["B"]), "B": State(require=["A"])})
    assert mach.add(["A", "B"]) == Result.EXECUTED
    assert sorted(mach.active_states()) == ["A", "B"]


# --- relations (case 3) -----------------------------------------------------------------------


def test_relations_of_and_between() -> None:
    """TestGetStateRelations / TestGetRelationsBetweenStates."""
    mach = Machine({"A": State(add=["B"], require=["B"], auto=True), "B": State()})
    assert rel_names(mach.relations_of("A")) == ["add", "require"]
    assert rel_names(mach.relations_between("A", "B")) == ["add", "require"]
    assert rel_names(mach.relations_of("B")) == []
    mach = Machine({"A": State(add=["B"], require=["C"], auto=True), "B": State(), "C": State()})
    assert rel_names(mach.relations_between("A", "B")) == ["add"]
    assert rel_names(mach.relations_between("A", "C")) == ["require"]


def test_relations_between_all_kinds() -> None:
    schema = {
        "A": State(add=["B", "C"], after=["B"]),
        "B": State(remove=["C"], add=["A"]),
        "C": State(after=["D"]),
        "D": State(require=["A"]),
    }
    mach = Machine(schema)
    assert rel_names(mach.relations_between("A", "B")) == ["add", "after"]
    assert rel_names(mach.relations_between("B", "C")) == ["remove"]
    assert rel_names(mach.relations_between("C", "D")) == ["after"]
    assert rel_names(mach.relations_between("D", "A")) == ["require"]
    assert rel_names(mach.relations_of("A")) == ["add", "after"]
    with pytest.raises(StateMissingError):
        mach.relations_between("Unknown1", "A")
    with pytest.raises(StateMissingError):
        mach.relations_between("A", "Unknown1")
    with pytest.raises(StateMissingError):
        mach.relations_of("Unknown1")


# --- verify_states / has (cases 33, 39) -------------------------------------------------------


def test_verify_states_errors() -> None:
    mach, _ = setup(initial=["A", "B"])
    before = (mach.state_names(), mach.clock())
    for names in (["A", "A", "B", "Err"], ["A", "A"], ["A", "B"]):
        with pytest.raises((SchemaError, StateMissingError)):
            mach.verify_states(names)
    assert (mach.state_names(), mach.clock()) == before


def test_verify_states_reorders_and_drops_duplicates() -> None:
    mach = Machine(norels())
    mach.add1("B")
    mach.verify_states(["Exception", "D", "D", "C", "B", "A"])
    assert mach.state_names() == ["Exception", "D", "C", "B", "A"]
    assert mach.time() == [0, 0, 0, 1, 0]
    assert mach.is1("B")


def test_has() -> None:
    mach = Machine(norels())
    assert not mach.has(["A", "Err"])
    assert mach.has(["A", "A", "B"])
    assert mach.has(mach.state_names())
    assert mach.has1("A")
    assert not mach.has1("Err")


def test_names_option_sets_order() -> None:
    mach = Machine(norels(), names=["D", "C", "B", "A", "Exception"])
    assert mach.state_names() == ["D", "C", "B", "A", "Exception"]


@pytest.mark.parametrize(
    "names", [["A", "B"], ["A"], ["A", "B", "Exception", "Nope"], ["A", "B", "Exceptio"]]
)
def test_names_option_mismatch_errors(names: list[str]) -> None:
    """Case 33: names != schema -> error (Go NewCommon returns an error)."""
    with pytest.raises((SchemaError, StateMissingError)):
        Machine({"A": State(), "B": State()}, names=names)


# --- set_schema (case 34) ---------------------------------------------------------------------


def test_set_schema() -> None:
    mach, _ = setup(initial=["A", "C"])
    schema = dict(mach.schema())
    schema["A"] = State(multi=True)
    schema["B"] = State(remove=["C"])
    schema["D"] = State(add=["E"])
    schema["E"] = State()
    names_before = mach.state_names()
    mach.set_schema(schema, [*names_before, "E"])
    assert mach.state_names() == ["A", "B", "C", "D", "Exception", "E"]
    assert mach.clock() == {"A": 1, "B": 0, "C": 1, "D": 0, "Exception": 0, "E": 0}
    assert mach.set(["A", "B", "D"]) == Result.EXECUTED
    assert mach.active_states() == ["A", "B", "D", "E"]
    assert mach.tick("A") == 3
    assert mach.tick("C") == 2


def test_set_schema_needs_more_states() -> None:
    mach = Machine(norels())
    mach.add1("A")
    with pytest.raises(SchemaError):
        mach.set_schema({"A": State(), "B": State()})
    assert mach.state_names() == ["A", "B", "C", "D", "Exception"]
    assert mach.is1("A")


# --- composition helpers (1.4, case 46) -------------------------------------------------------


def test_state_extend_and_set() -> None:
    """Case 46: Extend -> Remove [A,C]; Set -> [C], Auto False."""
    s1 = State(auto=True, remove=["A"], require=["X"])
    ext = s1.extend(State(remove=["C", "A"], multi=True))
    assert tuple(ext.remove) == ("A", "C")
    assert ext.auto is True
    assert ext.multi is True
    assert tuple(ext.require) == ("X",)
    st = s1.set(State(remove=["C"]), auto=False, multi=False)
    assert tuple(st.remove) == ("C",)
    assert st.auto is False
    assert tuple(st.require) == ("X",)
    # originals untouched
    assert tuple(s1.remove) == ("A",)


def test_merge_schemas_whole_state_override() -> None:
    s1 = {"A": State(add=["B"]), "B": State()}
    s2 = {"A": State(multi=True), "C": State()}
    merged = merge_schemas(s1, s2)
    assert set(merged) == {"A", "B", "C"}
    assert merged["A"].multi is True
    assert tuple(merged["A"].add) == ()
    assert tuple(s1["A"].add) == ("B",)


# --- pkg/states schemas (1.5) -----------------------------------------------------------------


def test_basic_schema_definition() -> None:
    b = BASIC_SCHEMA
    assert set(b) == {
        "Exception",
        "ErrNetwork",
        "ErrHandlerTimeout",
        "Start",
        "Ready",
        "Healthcheck",
        "Heartbeat",
    }
    assert b["Exception"].multi
    for err in ("ErrNetwork", "ErrHandlerTimeout"):
        assert b[err].multi
        assert tuple(b[err].add) == ("Exception",)
        assert tuple(b[err].require) == ("Exception",)
    assert tuple(b["Ready"].require) == ("Start",)
    assert b["Healthcheck"].multi
    assert not b["Heartbeat"].multi


def test_removing_exception_removes_err_states() -> None:
    mach = Machine(BASIC_SCHEMA)
    assert mach.add_err_state("ErrNetwork", ConnectionError("x")) == Result.EXECUTED
    assert mach.is_(["ErrNetwork", "Exception"])
    assert mach.remove1("Exception") == Result.EXECUTED
    assert mach.not_(["ErrNetwork", "Exception"])


def test_ready_requires_start() -> None:
    mach = Machine(BASIC_SCHEMA)
    assert mach.add1("Ready") == Result.CANCELED
    assert mach.add(["Start", "Ready"]) == Result.EXECUTED
    assert mach.remove1("Start") == Result.EXECUTED
    assert not mach.is1("Ready")


def test_connected_schema_flow() -> None:
    mach = Machine(merge_schemas(BASIC_SCHEMA, CONNECTED_SCHEMA))
    group = ["Connecting", "Connected", "Disconnecting", "Disconnected"]

    def active_group() -> list[str]:
        return [s for s in group if mach.is1(s)]

    assert mach.add1("Connecting") == Result.CANCELED  # needs Start
    assert mach.add1("Start") == Result.EXECUTED
    assert active_group() == ["Disconnected"]  # Auto
    assert mach.add1("Connecting") == Result.EXECUTED
    assert active_group() == ["Connecting"]
    assert mach.add1("Connected") == Result.EXECUTED
    assert active_group() == ["Connected"]
    assert mach.add1("Disconnecting") == Result.EXECUTED
    assert active_group() == ["Disconnecting"]
    assert mach.add1("Disconnected") == Result.EXECUTED
    assert active_group() == ["Disconnected"]
    # self-removal stripped by parsing
    assert "Disconnected" not in mach.schema()["Disconnected"].remove


def test_disposed_schema_relations() -> None:
    mach = Machine(merge_schemas(BASIC_SCHEMA, DISPOSED_SCHEMA))
    assert mach.schema()["RegisterDisposal"].multi
    mach.add1("Start")
    mach.add_err(RuntimeError("x"))
    assert mach.is_(["Start", "Exception"])
    assert mach.add1("Disposing") == Result.EXECUTED
    assert mach.not_(["Start", "Exception"])
    assert mach.add1("Disposed") == Result.EXECUTED
    assert mach.is1("Disposed")
    assert not mach.is1("Disposing")


def test_health_states_never_trigger_auto() -> None:
    """A single-state Add of Healthcheck/Heartbeat never triggers auto states (3.8)."""
    schema = merge_schemas(BASIC_SCHEMA, {"A": State(auto=True), "C": State(), "D": State()})
    mach, rec = setup(schema, reject=["AEnter"])
    mach.add1("C")
    assert rec.count("AEnter") == 1  # auto tx tried A, AEnter rejected it
    mach.add1("Heartbeat")
    assert mach.is1("Heartbeat")
    assert rec.count("AEnter") == 1
    mach.add1("Healthcheck")
    mach.add1("Healthcheck")
    assert mach.tick("Healthcheck") == 3
    assert rec.count("AEnter") == 1
    # an Add that doesn't change machine time doesn't trigger auto either
    mach.add1("C")
    assert rec.count("AEnter") == 1
    mach.add(["Heartbeat", "D"])
    assert rec.count("AEnter") == 2
    assert not mach.is1("A")


# --- options (case 43) ------------------------------------------------------------------------


def test_opts_id_parent_tags() -> None:
    parent = Machine(norels(), id="parent")
    child = Machine({"X": State()}, id="child", parent=parent, tags=["a", "b", "a"])
    assert child.id == "child"
    assert child.parent_id == "parent"
    assert list(child.tags) == ["a", "b"]
    assert parent.parent_id in ("", None)
    anon = Machine(norels())
    assert isinstance(anon.id, str) and len(anon.id) > 5
    assert Machine(norels()).id != anon.id
