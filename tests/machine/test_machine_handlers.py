"""Handler phases, order, negotiation, events and transitions (spec 3.4, 3.7, 3.10, 6).

Acceptance cases 4-9, 17, 22-24, 26, 28, 41 and the [probe] call orders.
"""

from __future__ import annotations

import time
import types
from typing import Any

import pytest

from asyncmachine import Machine, Result, State
from tests.machine.mach_helpers import make_recorder, nonzero_clock, norels, setup, split

# --- call orders (cases 4-9, 24 and the [probe] orders of 3.4) --------------------------------

ORDER_CASES: list[tuple[str, dict[str, State], list[str], str, list[str], str, list[str]]] = [
    # id, schema, initial, op, states, expected calls, expected active list
    (
        "single-to-single",
        norels(),
        ["A"],
        "set",
        ["B"],
        "AExit BEnter AB AnyEnter AEnd BState AnyState",
        ["B"],
    ),
    (
        "multi-to-single",
        norels(),
        ["A", "B"],
        "set",
        ["C"],
        "AExit BExit CEnter AC BC AnyEnter AEnd BEnd CState AnyState",
        ["C"],
    ),
    (
        "single-to-multi",
        norels(),
        ["A"],
        "set",
        ["B", "C"],
        "AExit BEnter CEnter AB AC AnyEnter AEnd BState CState AnyState",
        ["B", "C"],
    ),
    (
        "multi-to-multi",
        norels(),
        ["A", "B"],
        "set",
        ["D", "C"],
        "AExit BExit DEnter CEnter AD AC BD BC AnyEnter AEnd BEnd DState CState AnyState",
        ["D", "C"],
    ),
    (
        "transition-to-active",
        norels(),
        ["A", "B"],
        "set",
        ["A"],
        "BExit AA BA AnyEnter BEnd AnyState",
        ["A"],
    ),
    (
        "after-relation",
        norels() | {"A": State(after=["B"]), "C": State(after=["D"])},
        ["A", "B"],
        "set",
        ["C", "D"],
        "BExit AExit DEnter CEnter BD BC AD AC AnyEnter BEnd AEnd DState CState AnyState",
        ["D", "C"],
    ),
    (
        "add-to-active",
        norels(),
        ["A", "B"],
        "add",
        ["C"],
        "CEnter AA BB AC AB BC BA AnyEnter CState AnyState",
        ["C", "A", "B"],
    ),
    (
        "remove-inactive",
        norels(),
        ["A", "B", "C"],
        "remove",
        ["D"],
        "AB AC BA BC CA CB AnyEnter AnyState",
        ["A", "B", "C"],
    ),
    (
        "remove-one",
        norels(),
        ["A", "B"],
        "remove",
        ["A"],
        "AExit AB AnyEnter AEnd AnyState",
        ["B"],
    ),
    (
        "self-handlers-order",
        norels(),
        ["A"],
        "set",
        ["A", "B"],
        "BEnter AA AB AnyEnter BState AnyState",
        ["A", "B"],
    ),
    (
        "state-state",
        norels(),
        ["A"],
        "add",
        ["B"],
        "BEnter AA AB AnyEnter BState AnyState",
        ["B", "A"],
    ),
    (
        "multi-reenter",
        norels() | {"A": State(multi=True)},
        ["A", "B"],
        "add",
        ["A"],
        "AEnter AA BB AB BA AnyEnter AState AnyState",
        ["A", "B"],
    ),
    (
        "multi-reenter-set",
        norels() | {"A": State(multi=True)},
        ["A", "B"],
        "set",
        ["A", "B"],
        "AEnter AA BB AB BA AnyEnter AState AnyState",
        ["A", "B"],
    ),
]


@pytest.mark.parametrize(
    ("schema", "initial", "op", "states", "calls", "active"),
    [c[1:] for c in ORDER_CASES],
    ids=[c[0] for c in ORDER_CASES],
)
def test_handler_call_order(
    schema: dict[str, State],
    initial: list[str],
    op: str,
    states: list[str],
    calls: str,
    active: list[str],
) -> None:
    mach, rec = setup(schema, initial)
    assert getattr(mach, op)(states) == Result.EXECUTED
    assert rec.calls == split(calls)
    assert mach.active_states() == active


def test_each_handler_called_once_single_to_single() -> None:
    """Case 4: every handler exactly once."""
    mach, rec = setup(initial=["A", "B"])
    mach.set(["C"])
    assert all(rec.count(c) == 1 for c in rec.calls)
    assert "AExit" in rec.calls and "AEnd" in rec.calls


# --- negotiation: rejections (cases 17, 22, 24) -----------------------------------------------

REJECT_CASES: list[tuple[str, str, list[str], str, list[str], str, list[str]]] = [
    # id, rejecting handler, initial, op, states, expected calls, active after
    ("enter-set", "DEnter", ["A"], "set", ["D"], "AExit DEnter", ["A"]),
    ("enter-add", "DEnter", ["A"], "add", ["D"], "DEnter", ["A"]),
    ("exit-remove", "AExit", ["A"], "remove", ["A"], "AExit", ["A"]),
    ("exit-set", "BExit", ["A", "B"], "set", ["C"], "AExit BExit", ["A", "B"]),
    ("state-state", "AB", ["A"], "add", ["B"], "BEnter AA AB", ["A"]),
    ("self", "AA", ["A"], "set", ["A", "B"], "BEnter AA", ["A"]),
    ("any-enter-add", "AnyEnter", [], "add", ["A"], "AEnter AnyEnter", []),
    ("any-enter-remove", "AnyEnter", [], "remove", ["A"], "AnyEnter", []),
    # Remove tx: no self handlers; pairs before [A B] x target [A B]
    ("pair-in-remove", "BA", ["A", "B"], "remove", ["C"], "AB BA", ["A", "B"]),
]


@pytest.mark.parametrize(
    ("reject", "initial", "op", "states", "calls", "active"),
    [c[1:] for c in REJECT_CASES],
    ids=[c[0] for c in REJECT_CASES],
)
def test_negotiation_rejection_cancels(
    reject: str, initial: list[str], op: str, states: list[str], calls: str, active: list[str]
) -> None:
    mach = Machine(norels())
    mach.set(initial)
    before = mach.clock()
    rec = make_recorder(mach.state_names(), reject=[reject])
    mach.bind_handlers(rec)
    assert getattr(mach, op)(states) == Result.CANCELED
    assert rec.calls == split(calls)
    assert mach.active_states() == active
    assert mach.clock() == before


def test_any_enter_false_cancels_every_tx() -> None:
    mach, rec = setup(reject=["AnyEnter"])
    assert mach.add(["A"]) == Result.CANCELED
    assert mach.set(["B"]) == Result.CANCELED
    assert mach.remove(["A"]) == Result.CANCELED
    assert rec.calls == split("AEnter AnyEnter BEnter AnyEnter AnyEnter")
    assert mach.queue_tick() == 4
    assert nonzero_clock(mach) == {}


def test_exit_rejection_then_add_works() -> None:
    mach, rec = setup(initial=["A", "B"], reject=["BExit"])
    assert mach.set(["C"]) == Result.CANCELED
    assert rec.calls == split("AExit BExit")
    rec.calls.clear()
    assert mach.add(["C"]) == Result.EXECUTED
    assert mach.active_states() == ["C", "A", "B"]
    assert rec.calls == split("CEnter AA BB AC AB BC BA AnyEnter CState AnyState")


def test_self_handlers_for_all_no_change_states() -> None:
    """Case 24 ForAllNoChangeStates: (A) Add(B), Add(A) -> AA x2, BB x1."""
    mach, rec = setup(initial=["A"])
    mach.add(["B"])
    mach.add(["A"])
    assert rec.count("AA") == 2
    assert rec.count("BB") == 1


def test_negotiation_handler_returning_true_and_none_accept() -> None:
    calls: list[str] = []

    class H:
        def AEnter(self, e: Any) -> bool:
            calls.append(e.name)
            return True

        def BEnter(self, e: Any) -> None:
            calls.append(e.name)

    mach = Machine(norels(), handlers=H())
    assert mach.add(["A", "B"]) == Result.EXECUTED
    assert calls == ["AEnter", "BEnter"]
    assert mach.is_(["A", "B"])


def test_final_handler_return_value_is_ignored() -> None:
    class H:
        def AState(self, e: Any) -> bool:
            return False

    mach = Machine(norels(), handlers=H())
    assert mach.add1("A") == Result.EXECUTED
    assert mach.is1("A")


# --- binding (3.10, cases 23, 33) -------------------------------------------------------------


def test_anon_handlers_callable_attributes() -> None:
    calls: list[str] = []
    h = types.SimpleNamespace(
        AExit=lambda e: calls.append("AExit") is None,
        AEnd=lambda e: calls.append("AEnd"),
    )
    mach = Machine(norels())
    mach.set(["A"])
    mach.bind_handlers(h)
    assert mach.remove(["A"]) == Result.EXECUTED
    assert calls == ["AExit", "AEnd"]


def test_bind_order_across_bindings() -> None:
    """[probe] h1.AEnter, h2.AEnter, h1.AState, h2.AState."""
    calls: list[str] = []

    class H:
        def __init__(self, tag: str) -> None:
            self.tag = tag

        def AEnter(self, e: Any) -> None:
            calls.append(self.tag + ".AEnter")

        def AState(self, e: Any) -> None:
            calls.append(self.tag + ".AState")

    mach = Machine(norels())
    id1 = mach.bind_handlers(H("h1"))
    id2 = mach.bind_handlers(H("h2"))
    assert id1 and id2 and id1 != id2
    mach.add1("A")
    assert calls == ["h1.AEnter", "h2.AEnter", "h1.AState", "h2.AState"]


def test_handlers_in_constructor_bind_once() -> None:
    """Case 33: handlers given to the constructor make exactly one binding."""
    rec = make_recorder(["A", "B", "C", "D"])
    mach = Machine(norels(), handlers=rec)
    mach.add1("A")
    assert rec.calls == split("AEnter AnyEnter AState AnyState")


def test_no_handlers_no_calls_needed() -> None:
    mach = Machine(norels())
    assert mach.add1("A") == Result.EXECUTED
    assert mach.is1("A")


# --- events and transitions (spec 6) ----------------------------------------------------------


def test_event_and_transition_probe() -> None:
    """[probe] in AEnter for A{Add:[B]}: Is1(A)=False, called [A], target [A B],
    before []; in AState Is1(A)=True, Enters=[A B], TimeAfter 1 1 0 0 0."""
    seen: dict[str, Any] = {}

    class H:
        def AEnter(self, e: Any) -> None:
            tx = e.transition
            seen["enter"] = {
                "name": e.name,
                "machine": e.machine,
                "is_a": e.machine.is1("A"),
                "called": list(tx.called_states()),
                "target": list(tx.target_states()),
                "time_before": list(tx.time_before),
                "args": e.args,
                "type": str(e.mutation.type),
                "mut_called": list(e.mutation.called),
                "is_auto": e.mutation.is_auto,
                "is_check": e.mutation.is_check,
                "valid": e.is_valid(),
                "accepted": tx.is_accepted,
            }

        def AState(self, e: Any) -> None:
            seen["state"] = {
                "is_a": e.machine.is1("A"),
                "enters": list(e.transition.enters),
                "exits": list(e.transition.exits),
                "time_after": list(e.transition.time_after),
            }

    schema = norels() | {"A": State(add=["B"])}
    mach = Machine(schema, handlers=H())
    assert mach.add1("A") == Result.EXECUTED
    enter = seen["enter"]
    assert enter["name"] == "AEnter"
    assert enter["machine"] is mach
    assert enter["is_a"] is False
    assert enter["called"] == ["A"]
    assert enter["target"] == ["A", "B"]
    assert enter["time_before"] == [0, 0, 0, 0, 0]
    assert enter["args"] == {}
    assert enter["type"] == "add"
    assert enter["mut_called"] == ["A"]
    assert enter["is_auto"] is False
    assert enter["is_check"] is False
    assert enter["valid"] is True
    assert enter["accepted"] is True
    state = seen["state"]
    assert state["is_a"] is True
    assert state["enters"] == ["A", "B"]
    assert state["exits"] == []
    assert state["time_after"] == [1, 1, 0, 0, 0]


def test_transition_time_after_estimate_during_negotiation() -> None:
    """[probe] spec 3.3/6: TimeAfter is pre-computed; in AEnter it reads 1 1 0 0 0."""
    seen: list[Any] = []

    class H:
        def AEnter(self, e: Any) -> None:
            ta = e.transition.time_after
            seen.append(None if ta is None else list(ta))

    mach = Machine(norels() | {"A": State(add=["B"])}, handlers=H())
    assert mach.add1("A") == Result.EXECUTED
    assert seen == [[1, 1, 0, 0, 0]]


def test_transition_states_before_method() -> None:
    """API contract: Transition.states_before() (Go: StatesBefore()) is a method."""
    seen: list[Any] = []

    class H:
        def BEnter(self, e: Any) -> None:
            seen.append(e.transition)

    mach = Machine(norels(), handlers=H())
    mach.add1("A")
    mach.add1("B")
    assert len(seen) == 1
    assert callable(seen[0].states_before)
    assert list(seen[0].states_before()) == ["A"]


def test_mutation_types_seen_by_handlers() -> None:
    types_seen: list[tuple[str, str]] = []

    class H:
        def AnyEnter(self, e: Any) -> None:
            types_seen.append((str(e.mutation.type), " ".join(e.mutation.called)))

    mach = Machine(norels(), handlers=H())
    mach.add(["A", "B"])
    mach.remove(["B"])
    mach.set(["C"])
    assert types_seen == [("add", "A B"), ("remove", "B"), ("set", "C")]


def test_auto_transition_flags() -> None:
    autos: list[tuple[bool, bool, list[str]]] = []

    class H:
        def BEnter(self, e: Any) -> None:
            autos.append((e.mutation.is_auto, e.transition.is_auto, list(e.mutation.called)))

    schema = norels() | {"B": State(auto=True, require=["A"])}
    mach = Machine(schema, handlers=H())
    mach.add1("A")
    assert mach.is_(["A", "B"])
    assert autos == [(True, True, ["B"])]


def test_handler_args() -> None:
    """Case 26: {foo: bar} seen in BEnter, AExit, CState."""
    seen: dict[str, Any] = {}

    def grab(e: Any) -> None:
        seen[e.name] = dict(e.args)

    mach, _ = setup(initial=["A"], actions={"BEnter": [grab], "AExit": [grab], "CState": [grab]})
    assert mach.set(["B", "C"], {"foo": "bar"}) == Result.EXECUTED
    assert seen == {"AExit": {"foo": "bar"}, "BEnter": {"foo": "bar"}, "CState": {"foo": "bar"}}


def test_ev_mutation_source() -> None:
    """Case 26 EvMutations: ev_add1(e, ...) fills Mutation.source with the machine id."""
    sources: list[Any] = []

    def ev_add(e: Any) -> Any:
        return e.machine.ev_add1(e, "B")

    def grab(e: Any) -> None:
        sources.append(e.mutation.source)

    mach, _ = setup(actions={"AState": [ev_add], "BEnter": [grab]}, id="src-mach")
    mach.add1("A")
    assert mach.is_(["A", "B"])
    assert len(sources) == 1
    assert sources[0] is not None
    assert sources[0].mach_id == "src-mach"


def test_event_is_invalid_after_transition() -> None:
    events: list[Any] = []

    class H:
        def AState(self, e: Any) -> None:
            events.append(e)
            assert e.is_valid()

    mach = Machine(norels(), handlers=H())
    mach.add1("A")
    assert len(events) == 1
    assert not events[0].is_valid()


# --- handler exceptions (case 28, spec 3.7) ---------------------------------------------------


class Boom(Exception):
    pass


def _err_matches(err: BaseException | None, exc: BaseException) -> bool:
    """The stored error is the raised one, or wraps it (cause / .err)."""
    if err is None:
        return False
    return err is exc or err.__cause__ is exc or getattr(err, "err", None) is exc


def test_partial_negotiation_panic() -> None:
    exc = Boom("BEnter panic")
    mach, rec = setup(initial=["A"], raises={"BEnter": exc})
    assert mach.add(["B"]) == Result.CANCELED
    assert sorted(mach.active_states()) == ["A", "Exception"]
    assert mach.active_states() == ["Exception", "A"]
    assert nonzero_clock(mach) == {"A": 1, "Exception": 1}
    assert _err_matches(mach.err(), exc)
    assert mach.is_err()
    # the Exception tx is prepended, runs right after the canceled one
    assert rec.calls == split(
        "BEnter ExceptionEnter AA AException AnyEnter ExceptionState AnyState"
    )


def test_partial_final_panic_rolls_back() -> None:
    exc = Boom("BState panic")
    mach, rec = setup(raises={"BState": exc})
    assert mach.add(["A", "B", "C"]) == Result.CANCELED
    assert sorted(mach.active_states()) == ["A", "Exception"]
    assert nonzero_clock(mach) == {"A": 1, "B": 2, "C": 2, "Exception": 1}
    assert _err_matches(mach.err(), exc)
    assert rec.calls == split(
        "AEnter BEnter CEnter AnyEnter AState BState "
        "ExceptionEnter AA AException AnyEnter ExceptionState AnyState"
    )


def test_end_handler_panic_rolls_nothing_back() -> None:
    exc = Boom("AEnd panic")
    mach, _ = setup(initial=["A", "B"], raises={"AEnd": exc})
    assert mach.set(["C"]) == Result.CANCELED
    # exits/enters applied; failures in End handlers roll nothing back
    assert sorted(mach.active_states()) == ["C", "Exception"]
    assert nonzero_clock(mach) == {"A": 2, "B": 2, "C": 1, "Exception": 1}


def test_handler_panic_does_not_propagate_and_queue_continues() -> None:
    """A handler-queued mutation still runs after a panic elsewhere."""
    exc = Boom("x")

    def add_c(e: Any) -> Any:
        return e.machine.add1("C")

    mach, _ = setup(actions={"AState": [add_c]}, raises={"CEnter": exc})
    assert mach.add1("A") == Result.EXECUTED
    assert mach.is1("A")
    assert not mach.is1("C")
    assert mach.is_err()


def test_panic_in_exception_tx_is_swallowed() -> None:
    """A panic inside a tx whose called states include Exception: no nested Exception loop."""
    exc = Boom("in ExceptionEnter")
    mach, rec = setup(raises={"ExceptionEnter": exc})
    res = mach.add_err(ValueError("first"))
    assert res == Result.CANCELED
    assert rec.count("ExceptionEnter") == 1
    assert mach.queue_len() == 0


# --- handler timeouts (case 41, spec 3.7) -----------------------------------------------------


def _busy(seconds: float) -> None:
    # A blocking handler is what is under test here (Go: time.Sleep in the handler);
    # the machine must notice that it overran handler_timeout.
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_handler_timeout_in_final_handler_cancels() -> None:
    mach, _ = setup(handler_timeout=0.01, actions={"AState": [lambda e: _busy(0.05)]})
    assert mach.add1("A") == Result.CANCELED
    # no Exception for timeouts; finals roll back like a panic
    assert not mach.is_err()
    assert not mach.is1("A")
    assert mach.tick("A") == 2


def test_handler_timeout_in_negotiation_cancels() -> None:
    mach, rec = setup(handler_timeout=0.01, actions={"AEnter": [lambda e: _busy(0.05)]})
    assert mach.add1("A") == Result.CANCELED
    assert not mach.is_err()
    assert mach.tick("A") == 0
    assert "AState" not in rec.calls


def test_fast_handler_is_not_timed_out() -> None:
    mach, _ = setup(handler_timeout=5.0, actions={"AState": [lambda e: _busy(0.001)]})
    assert mach.add1("A") == Result.EXECUTED
    assert mach.is1("A")


# --- tracers (spec 7) -------------------------------------------------------------------------


class RecTracer:
    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []

    def transition_init(self, tx: Any) -> None:
        self.log.append(("transition_init", tuple(tx.called_states())))

    def transition_start(self, tx: Any) -> None:
        self.log.append(("transition_start", tuple(tx.called_states())))

    def transition_end(self, tx: Any) -> None:
        self.log.append(("transition_end", tuple(tx.called_states()), tx.is_accepted))

    def handler_start(self, tx: Any, binding_id: str, name: str) -> None:
        self.log.append(("handler_start", binding_id, name))

    def handler_end(self, tx: Any, binding_id: str, name: str) -> None:
        self.log.append(("handler_end", binding_id, name))

    def queue_end(self, *args: Any) -> None:
        self.log.append(("queue_end",))

    def machine_dispose(self, *args: Any) -> None:
        self.log.append(("machine_dispose",))


def test_tracer_hooks_order() -> None:
    tracer = RecTracer()

    class H:
        def AEnter(self, e: Any) -> None:
            pass

        def AState(self, e: Any) -> None:
            pass

    mach = Machine(norels(), tracers=[tracer])
    bid = mach.bind_handlers(H())
    mach.add1("A")
    assert tracer.log == [
        ("transition_init", ("A",)),
        ("transition_start", ("A",)),
        ("handler_start", bid, "AEnter"),
        ("handler_end", bid, "AEnter"),
        ("handler_start", bid, "AState"),
        ("handler_end", bid, "AState"),
        ("transition_end", ("A",), True),
        ("queue_end",),
    ]
    tracer.log.clear()
    assert mach.add1("B") == Result.EXECUTED
    assert tracer.log[-1] == ("queue_end",)
    tracer.log.clear()
    mach.dispose()
    assert ("machine_dispose",) in tracer.log


def test_tracer_canceled_transition_end() -> None:
    tracer = RecTracer()
    mach = Machine(norels() | {"B": State(require=["C"])}, tracers=[tracer])
    assert mach.add1("B") == Result.CANCELED
    ends = [x for x in tracer.log if x[0] == "transition_end"]
    assert ends == [("transition_end", ("B",), False)]


def test_tracer_with_partial_methods() -> None:
    class Only:
        def __init__(self) -> None:
            self.n = 0

        def transition_end(self, tx: Any) -> None:
            self.n += 1

    t = Only()
    mach = Machine(norels(), tracers=[t])
    mach.add1("A")
    mach.remove1("A")
    assert t.n == 2


def test_tracer_mutation_queued_from_handler() -> None:
    queued: list[Any] = []

    class T:
        def mutation_queued(self, *args: Any) -> None:
            queued.append(args)

    mach, _ = setup(actions={"AState": [lambda e: e.machine.add1("B")]}, tracers=[T()])
    mach.add1("A")
    assert mach.is_(["A", "B"])
    assert len(queued) >= 1
