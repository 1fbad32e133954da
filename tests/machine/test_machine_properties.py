"""Property tests over random schemas and random mutation sequences (hypothesis).

Invariants checked after every step:
- ticks never decrease, the clock sum is monotonic;
- a tick is odd exactly when the state is in ``active_states()`` (no duplicates);
- top-level results are only EXECUTED (0) or CANCELED (1) (quirk B.20), the queue is drained;
- without Add relations: no active state Removes another active state, and every
  active state's Require is active (with Add relations quirk B.3 breaks both);
- export -> import into a machine with the same id preserves ``string()`` and the clock;
- the machine is deterministic: the same schema and steps give the same clocks and calls.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncmachine import Machine, Result, State
from tests.machine.mach_helpers import setup

PROFILE = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NAMES = "ABCDEF"
Scenario = tuple[dict[str, State], list[tuple[str, list[str]]], set[str]]
OPS = ("add", "remove", "set", "toggle")


@st.composite
def schemas(draw: st.DrawFn, with_add: bool = True) -> dict[str, State]:
    n = draw(st.integers(min_value=2, max_value=5))
    names = list(NAMES[:n])
    out: dict[str, State] = {}
    for s in names:
        others = [o for o in names if o != s]

        def rel(max_size: int = 2, others: list[str] = others) -> list[str]:
            return draw(st.lists(st.sampled_from(others), unique=True, max_size=max_size))

        out[s] = State(
            auto=draw(st.booleans()) and draw(st.booleans()),
            multi=draw(st.booleans()) and draw(st.booleans()),
            require=rel(),
            add=rel() if with_add else [],
            remove=rel(),
            after=rel(),
        )
    return out


@st.composite
def scenarios(draw: st.DrawFn, with_add: bool = True) -> Scenario:
    schema = draw(schemas(with_add))
    names = sorted(schema)
    steps = draw(
        st.lists(
            st.tuples(
                st.sampled_from(OPS),
                st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True),
            ),
            min_size=1,
            max_size=12,
        )
    )
    candidates = (
        [s + "Enter" for s in names]
        + [s + "Exit" for s in names]
        + [a + b for a in names for b in names]
        + ["AnyEnter"]
    )
    reject = draw(st.sets(st.sampled_from(candidates), max_size=3))
    return schema, steps, reject


def run_step(mach: Machine, op: str, states: list[str]) -> Result:
    fn = getattr(mach, op)
    res: Result = fn(states)
    return res


def check_basic(mach: Machine, prev_clock: dict[str, int], res: Any) -> dict[str, int]:
    assert isinstance(res, int)
    assert int(res) in (0, 1), f"top-level result {res!r}"
    assert mach.queue_len() == 0
    clock = mach.clock()
    active = mach.active_states()
    assert len(active) == len(set(active)), active
    for name, tick in clock.items():
        assert tick >= prev_clock.get(name, 0), (name, prev_clock, clock)
        assert (tick % 2 == 1) == (name in active), (name, tick, active)
        assert mach.is1(name) == (tick % 2 == 1)
    assert sum(clock.values()) >= sum(prev_clock.values())
    return clock


@PROFILE
@given(scenarios())
def test_clock_invariants(scenario: Scenario) -> None:
    schema, steps, reject = scenario
    mach, _rec = setup(schema, reject=reject, id="prop")
    clock = mach.clock()
    qt = mach.queue_tick()
    for op, states in steps:
        res = run_step(mach, op, states)
        clock = check_basic(mach, clock, res)
        assert mach.queue_tick() >= qt + 1
        qt = mach.queue_tick()


@settings(PROFILE, max_examples=250)
@given(scenarios(with_add=False))
def test_relation_invariants_without_add(
    scenario: Scenario,
) -> None:
    schema, steps, reject = scenario
    mach, _rec = setup(schema, reject=reject, id="prop")
    parsed = mach.schema()
    clock = mach.clock()
    for op, states in steps:
        res = run_step(mach, op, states)
        clock = check_basic(mach, clock, res)
        active = set(mach.active_states())
        for s in active:
            st_ = parsed[s]
            blocked = active & set(st_.remove)
            assert not blocked, f"{s} active with {blocked} it removes; step {op} {states}"
            missing = set(st_.require) - active
            assert not missing, f"{s} active without required {missing}; step {op} {states}"


@settings(PROFILE, max_examples=40)
@given(scenarios())
def test_export_import_round_trip(
    scenario: Scenario,
) -> None:
    schema, steps, _ = scenario
    mach = Machine(schema, id="round")
    for op, states in steps:
        run_step(mach, op, states)
    data = mach.export()
    other = Machine(schema, id="round")
    other.import_(data)
    assert other.string() == mach.string()
    assert other.string_all() == mach.string_all()
    assert other.clock() == mach.clock()
    assert set(other.active_states()) == set(mach.active_states())


@settings(PROFILE, max_examples=30)
@given(scenarios())
def test_deterministic_replay(
    scenario: Scenario,
) -> None:
    schema, steps, reject = scenario
    traces = []
    for _ in range(2):
        mach, rec = setup(schema, reject=reject)
        trace = []
        for op, states in steps:
            res = run_step(mach, op, states)
            trace.append((int(res), mach.active_states(), mach.clock(), list(rec.calls)))
            rec.calls.clear()
        traces.append(trace)
    assert traces[0] == traces[1]
