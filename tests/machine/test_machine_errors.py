"""Bad input, errors and disposal (spec 1.2, 2.2; cases 2, 42, 44)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from asyncmachine import Machine, Result, State, StateMissingError
from asyncmachine.machine import EXCEPTION_ARG, SchemaError
from tests.machine.mach_helpers import norels, setup


def snapshot(mach: Machine) -> tuple[Any, ...]:
    return (
        mach.clock(),
        mach.active_states(),
        mach.queue_tick(),
        mach.queue_len(),
        mach.string_all(),
        mach.err(),
    )


# --- unknown states (1.2, case 2) -------------------------------------------------------------

UNKNOWN_CALLS: list[tuple[str, Callable[[Machine, str], Any]]] = [
    ("add", lambda m, s: m.add(["B", s])),
    ("add1", lambda m, s: m.add1(s)),
    ("remove", lambda m, s: m.remove(["A", s])),
    ("remove1", lambda m, s: m.remove1(s)),
    ("set", lambda m, s: m.set(["B", s])),
    ("toggle", lambda m, s: m.toggle([s])),
    ("toggle1", lambda m, s: m.toggle1(s)),
    ("add_err_state", lambda m, s: m.add_err_state(s, ValueError("x"))),
    ("can_add", lambda m, s: m.can_add([s])),
    ("can_add1", lambda m, s: m.can_add1(s)),
    ("can_remove", lambda m, s: m.can_remove([s])),
    ("can_remove1", lambda m, s: m.can_remove1(s)),
    ("not_", lambda m, s: m.not_(["B", s])),
    ("not1", lambda m, s: m.not1(s)),
    ("state_scope", lambda m, s: m.state_scope(s)),
]


@pytest.mark.parametrize("call", [c[1] for c in UNKNOWN_CALLS], ids=[c[0] for c in UNKNOWN_CALLS])
def test_unknown_state_raises_and_changes_nothing(call: Callable[[Machine, str], Any]) -> None:
    mach, rec = setup(initial=["A"], id="mach-err")
    before = snapshot(mach)
    with pytest.raises(StateMissingError) as info:
        call(mach, "Nope")
    assert str(info.value) == "Nope not defined in schema for mach-err"
    assert snapshot(mach) == before
    assert rec.calls == []
    # still usable
    assert mach.add1("B") == Result.EXECUTED


def test_set_unknown_state_raises() -> None:
    """Case 2 PanicWhenStateIsUnknown: Set(E) raises."""
    mach = Machine(norels(), id="m2")
    mach.set(["A"])
    with pytest.raises(StateMissingError, match="E not defined in schema for m2"):
        mach.set(["E"])
    assert mach.active_states() == ["A"]


def test_is_with_unknown_state_is_false() -> None:
    mach = Machine(norels())
    mach.add1("A")
    assert mach.is_(["A", "Nope"]) is False
    assert mach.is1("Nope") is False


WAIT_CALLS: list[tuple[str, Callable[[Machine, str], Any]]] = [
    ("when", lambda m, s: m.when(["A", s])),
    ("when1", lambda m, s: m.when1(s)),
    ("when_not", lambda m, s: m.when_not([s])),
    ("when_not1", lambda m, s: m.when_not1(s)),
    ("when_args", lambda m, s: m.when_args(s, {"a": 1})),
]


@pytest.mark.parametrize("call", [c[1] for c in WAIT_CALLS], ids=[c[0] for c in WAIT_CALLS])
async def test_unknown_state_in_waits_raises(call: Callable[[Machine, str], Any]) -> None:
    mach = Machine(norels(), id="w")
    with pytest.raises(StateMissingError, match="Nope not defined in schema for w"):
        await call(mach, "Nope")
    assert mach._subs_count() == 0


# --- wrong argument types ---------------------------------------------------------------------

STR_FOR_LIST: list[tuple[str, Callable[[Machine], Any]]] = [
    ("add", lambda m: m.add("AB")),
    ("remove", lambda m: m.remove("A")),
    ("set", lambda m: m.set("A")),
    ("toggle", lambda m: m.toggle("A")),
    ("can_add", lambda m: m.can_add("A")),
    ("can_remove", lambda m: m.can_remove("A")),
    ("is_", lambda m: m.is_("A")),
    ("not_", lambda m: m.not_("A")),
    ("has", lambda m: m.has("A")),
    ("clock", lambda m: m.clock("A")),
    ("time", lambda m: m.time("A")),
]


@pytest.mark.parametrize("call", [c[1] for c in STR_FOR_LIST], ids=[c[0] for c in STR_FOR_LIST])
def test_str_where_list_expected_is_type_error(call: Callable[[Machine], Any]) -> None:
    mach, rec = setup(initial=["A"])
    before = snapshot(mach)
    with pytest.raises(TypeError) as info:
        call(mach)
    msg = str(info.value)
    assert "str" in msg or "list" in msg
    assert snapshot(mach) == before
    assert rec.calls == []


@pytest.mark.parametrize("wait", ["when", "when_not"])
async def test_str_where_list_expected_in_waits(wait: str) -> None:
    mach = Machine(norels())
    with pytest.raises(TypeError):
        await getattr(mach, wait)("A")
    assert mach._subs_count() == 0


ARGS_CALLS: list[tuple[str, Callable[[Machine], Any]]] = [
    ("add-str", lambda m: m.add(["A"], "x")),  # type: ignore[arg-type]
    ("add1-list", lambda m: m.add1("A", ["x"])),  # type: ignore[arg-type]
    ("set-int", lambda m: m.set(["A"], 5)),  # type: ignore[arg-type]
    ("remove-tuple", lambda m: m.remove(["A"], ("k", "v"))),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("call", [c[1] for c in ARGS_CALLS], ids=[c[0] for c in ARGS_CALLS])
def test_non_dict_args_is_type_error(call: Callable[[Machine], Any]) -> None:
    mach, rec = setup(initial=["B"])
    before = snapshot(mach)
    with pytest.raises(TypeError, match="args"):
        call(mach)
    assert snapshot(mach) == before
    assert rec.calls == []


def test_non_str_state_name_is_type_error() -> None:
    mach = Machine(norels())
    with pytest.raises(TypeError):
        mach.add1(["A"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mach.add([1])  # type: ignore[list-item]
    assert mach.active_states() == []


def test_add_err_non_exception_is_type_error() -> None:
    mach = Machine(norels())
    with pytest.raises(TypeError):
        mach.add_err("boom")  # type: ignore[arg-type]
    assert not mach.is_err()


@pytest.mark.parametrize(
    ("schema", "needle"),
    [
        ({"A": 5}, "A"),
        ({"A": State(), "Bad": "state"}, "Bad"),
        ({"A": {"require": "B"}, "B": {}}, "require"),
        ({"A": {"auto": "yes"}}, "auto"),
        ({"A": {"add": [1]}}, "add"),
    ],
    ids=["int", "str", "str-relation", "non-bool-auto", "non-str-name"],
)
def test_bad_schema_values_are_type_errors(schema: dict[str, Any], needle: str) -> None:
    with pytest.raises(TypeError, match=needle):
        Machine(schema)


def test_state_with_str_relation_is_type_error() -> None:
    with pytest.raises(TypeError, match="require"):
        State(require="B")  # type: ignore[arg-type]


@pytest.mark.parametrize("schema", [["A"], "A", None, 5], ids=["list", "str", "none", "int"])
def test_schema_not_a_mapping_is_type_error(schema: Any) -> None:
    with pytest.raises(TypeError):
        Machine(schema)


def test_unknown_state_property_is_an_error_naming_it() -> None:
    with pytest.raises((TypeError, SchemaError), match="bogus"):
        Machine({"A": {"bogus": True}})


# --- AddErr (case 42, spec 2.2.4) -------------------------------------------------------------


def test_add_err_and_add_err_state() -> None:
    seen: list[Any] = []

    def grab(e: Any) -> None:
        seen.append(e.args.get(EXCEPTION_ARG))

    mach, _ = setup(actions={"ExceptionState": [grab]})
    err = ValueError("test")
    assert mach.add_err_state("B", err) == Result.EXECUTED
    assert mach.is_(["B", "Exception"])
    assert mach.err() is err
    err2 = RuntimeError("test2")
    assert mach.add_err(err2) == Result.EXECUTED
    assert mach.is1("B")
    assert mach.is_err()
    assert mach.err() is err2
    assert mach.tick("Exception") == 3
    assert len(seen) == 2
    assert seen[0] is not None and seen[0].err is err
    assert seen[1].err is err2


def test_add_err_none_is_canceled() -> None:
    mach = Machine(norels())
    before = snapshot(mach)
    assert mach.add_err(None) == Result.CANCELED
    assert mach.add_err_state("B", None) == Result.CANCELED
    assert snapshot(mach) == before


def test_add_err_keeps_user_args() -> None:
    seen: list[dict[str, Any]] = []
    mach, _ = setup(actions={"ExceptionEnter": [lambda e: seen.append(dict(e.args))]})
    mach.add_err(ValueError("x"), {"foo": 1})
    assert seen and seen[0]["foo"] == 1
    assert EXCEPTION_ARG in seen[0]


# --- dispose (case 44) ------------------------------------------------------------------------


def test_disposed_mutations_are_canceled() -> None:
    mach = Machine(norels())
    mach.set(["A"])
    called: list[str] = []
    mach.on_dispose(lambda mid: called.append(mid))
    mach.dispose()
    assert mach.is_disposed()
    assert called == [mach.id]
    err = ValueError("e")
    assert mach.set(["A"]) == Result.CANCELED
    assert mach.add1("A") == Result.CANCELED
    assert mach.add(["B"]) == Result.CANCELED
    assert mach.remove1("A") == Result.CANCELED
    assert mach.remove(["A"]) == Result.CANCELED
    assert mach.toggle1("A") == Result.CANCELED
    assert mach.toggle(["A"]) == Result.CANCELED
    assert mach.add_err_state("A", err) == Result.CANCELED
    assert mach.add_err(err) == Result.CANCELED
    assert mach.can_add1("A") == Result.CANCELED
    assert mach.can_remove1("A") == Result.CANCELED
    assert mach.eval(lambda: None, source="t") is False
    assert mach.queue_len() == 0
    assert mach.active_states() == []
    assert not mach.is1("A")
    assert not mach.is_err()
    # dispose twice is harmless
    mach.dispose()
    assert called == [mach.id]


def test_disposed_reads_are_empty() -> None:
    """Spec 2.2.1: after dispose, reads return empty / false / "" / -1."""
    mach = Machine(norels())
    mach.set(["A"])
    mach.dispose()
    assert mach.string() == ""
    assert mach.string_all() == ""
    assert mach.inspect() == ""
    assert mach.clock() == {}
    assert list(mach.time()) == []
    assert mach.index1("A") == -1
    assert not mach.has1("A")


def test_dispose_from_handler_is_deferred() -> None:
    mach, _ = setup(actions={"AState": [lambda e: e.machine.dispose()]})
    assert mach.add1("A") == Result.EXECUTED
    assert mach.is_disposed()
    assert mach.add1("B") == Result.CANCELED


def test_dispose_removes_start_first() -> None:
    mach, rec = setup({"Start": State(), "A": State()})
    mach.add1("Start")
    rec.calls.clear()
    mach.dispose()
    assert "StartExit" in rec.calls
    assert "StartEnd" in rec.calls


def test_disposed_check_comes_before_unknown_state() -> None:
    """Spec 2.2: the disposed pre-check (1) runs before the unknown-state raise (7)."""
    mach = Machine(norels())
    mach.dispose()
    assert mach.add1("Nope") == Result.CANCELED
    assert mach.remove(["Nope"]) == Result.CANCELED
