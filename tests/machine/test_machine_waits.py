"""Trio waits, state scopes and async work (spec 5; cases 27, 29, 32, 37, 42, 44).

No fixed sleeps: tasks are coordinated with trio.Event, checkpoints and
``trio.testing.wait_all_tasks_blocked``; every wait is bounded by
``trio.fail_after``. A cancelled wait must leave no subscription behind
(``mach._subs_count()``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing

from asyncmachine import Machine, Result, State
from asyncmachine.machine import MachineDisposedError, ReadOnlyMachine
from tests.helpers import TIMEOUT
from tests.machine.mach_helpers import norels, setup


class Waits:
    """Start waits in background tasks and see which have returned."""

    def __init__(self, nursery: trio.Nursery) -> None:
        self.nursery = nursery
        self.done: dict[str, trio.Event] = {}
        self.errors: dict[str, BaseException] = {}

    async def start(self, name: str, fn: Callable[[], Awaitable[Any]]) -> trio.Event:
        ev = trio.Event()
        self.done[name] = ev

        async def run() -> None:
            try:
                await fn()
            except Exception as e:  # recorded, asserted by tests
                self.errors[name] = e
            ev.set()

        self.nursery.start_soon(run)
        await trio.testing.wait_all_tasks_blocked()
        return ev

    def is_done(self, name: str) -> bool:
        return self.done[name].is_set()

    async def wait(self, *names: str) -> None:
        with trio.fail_after(TIMEOUT):
            for n in names or tuple(self.done):
                await self.done[n].wait()


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


# --- When / WhenNot (case 27) -----------------------------------------------------------------


async def test_when1_released_by_add_from_another_task() -> None:
    mach = Machine(norels())
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("a", lambda: mach.when1("A"))
        assert not w.is_done("a")
        assert mach._subs_count() == 1

        async def adder() -> None:
            await trio.lowlevel.checkpoint()
            assert mach.add1("A") == Result.EXECUTED

        n.start_soon(adder)
        await w.wait("a")
    assert not w.errors
    assert mach._subs_count() == 0


async def test_when_all_states() -> None:
    mach = Machine(norels())
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("ab", lambda: mach.when(["A", "B"]))
        mach.add1("A")
        await settle()
        assert not w.is_done("ab")
        mach.remove1("A")
        mach.add1("B")
        await settle()
        assert not w.is_done("ab")
        mach.add1("A")
        await w.wait("ab")
    assert mach._subs_count() == 0


async def test_two_waiters_both_released() -> None:
    mach = Machine(norels())
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("1", lambda: mach.when(["A", "B"]))
        await w.start("2", lambda: mach.when(["A", "B"]))
        mach.add(["A", "B"])
        await w.wait("1", "2")
    assert mach._subs_count() == 0


async def test_already_satisfied_waits_return_at_once() -> None:
    mach = Machine(norels())
    mach.add(["A", "B"])
    with trio.fail_after(TIMEOUT):
        await mach.when1("A")
        await mach.when(["A", "B"])
        await mach.when_not1("C")
        await mach.when_not(["C", "D"])
        await mach.when_time(["A", "B"], [1, 1])
        await mach.when_time1("A", 1)
        await mach.when_queue(1)
        await mach.when_queue(mach.queue_tick())
        await mach.when_queue_ends()
    assert mach._subs_count() == 0


async def test_when_not() -> None:
    mach, _ = setup(initial=["A", "B"])
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("1", lambda: mach.when_not(["A", "B"]))
        await w.start("2", lambda: mach.when_not(["A", "B"]))
        await w.start("a", lambda: mach.when_not1("A"))
        mach.remove1("A")
        await w.wait("a")
        assert not w.is_done("1")
        mach.remove(["B"])
        await w.wait("1", "2")
    assert mach._subs_count() == 0


async def test_when_err() -> None:
    mach = Machine(norels())
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("err", mach.when_err)
        mach.add1("A")
        await settle()
        assert not w.is_done("err")
        mach.add_err(ValueError("x"))
        await w.wait("err")


async def test_canceled_tx_releases_nothing() -> None:
    """Subscriptions are evaluated after accepted transitions only."""
    mach, _ = setup(reject=["AEnter"])
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("a", lambda: mach.when1("A"))
        assert mach.add1("A") == Result.CANCELED
        await settle()
        assert not w.is_done("a")
        n.cancel_scope.cancel()
    assert mach._subs_count() == 0


# --- WhenTime / WhenTicks ---------------------------------------------------------------------


async def test_when_time() -> None:
    """TestWhenTime: (A:1 B:1), WhenTime([A B], [5 2]) not closed at (3,3), closed at A:5."""
    mach = Machine(norels())
    mach.set(["A", "B"])
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("5-2", lambda: mach.when_time(["A", "B"], [5, 2]))
        await w.start("9-2", lambda: mach.when_time(["A", "B"], [9, 2]))
        mach.remove(["A", "B"])
        mach.add(["A", "B"])
        assert mach.time(["A", "B"]) == [3, 3]
        await settle()
        assert not w.is_done("5-2")
        mach.remove1("A")
        mach.add1("A")
        await w.wait("5-2")
        assert not w.is_done("9-2")
        for _ in range(2):
            mach.remove1("A")
            mach.add1("A")
        await w.wait("9-2")
    assert mach._subs_count() == 0


async def test_when_ticks_and_time1() -> None:
    mach = Machine(norels())
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("ticks", lambda: mach.when_ticks("A", 2))
        await w.start("time1", lambda: mach.when_time1("B", 1))
        mach.add1("A")
        await settle()
        assert not w.is_done("ticks")
        mach.remove1("A")
        await w.wait("ticks")
        assert not w.is_done("time1")
        mach.add1("B")
        await w.wait("time1")


async def test_when_time_bad_lengths() -> None:
    """Spec: WhenTime([A,B],[1]) -> AddErr + closed channel. Python: a ValueError naming it."""
    mach = Machine(norels())
    with pytest.raises(ValueError):
        await mach.when_time(["A", "B"], [1])
    with pytest.raises(ValueError):
        await mach.when_time([], [])
    assert mach._subs_count() == 0


# --- WhenArgs ---------------------------------------------------------------------------------


async def test_when_args_multi_state() -> None:
    """TestWhenArgs (B Multi): {foo: foo} no, {foo: bar} yes."""
    schema = norels() | {"B": State(multi=True)}
    mach = Machine(schema)
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("args", lambda: mach.when_args("B", {"foo": "bar"}))
        mach.add1("B", {"foo": "foo"})
        await settle()
        assert not w.is_done("args")
        mach.add1("B", {"foo": "bar"})
        await w.wait("args")
    assert mach._subs_count() == 0


async def test_when_args_only_on_activation() -> None:
    """[probe] not on Add of an already-active non-Multi state, never immediately."""
    mach = Machine(norels())
    mach.add1("A", {"x": 1})
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("args", lambda: mach.when_args("A", {"x": 1}))
        assert not w.is_done("args")  # not immediately, although A is active with x=1
        mach.add1("A", {"x": 1})
        await settle()
        assert not w.is_done("args")
        mach.remove1("A", {"x": 1})
        await settle()
        assert not w.is_done("args")
        mach.add1("A", {"x": 1, "y": 2})  # superset matches
        await w.wait("args")
    assert mach._subs_count() == 0


# --- WhenQuery --------------------------------------------------------------------------------


async def test_when_query() -> None:
    """TestWhenQuery: A > 4*B matches at A:5 B:1; evaluated after accepted txs only."""
    schema = norels() | {"A": State(multi=True)}
    mach, _ = setup(schema, reject=["DEnter"])
    mach.add1("B")
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("q", lambda: mach.when_query(lambda c: c["A"] > 4 * c["B"]))
        mach.add1("A")
        mach.add1("A")
        await settle()
        assert not w.is_done("q")
        mach.add1("A")
        assert mach.clock(["A", "B"]) == {"A": 5, "B": 1}
        await w.wait("q")
        # already true: not evaluated at registration, nor after a canceled tx
        await w.start("q2", lambda: mach.when_query(lambda c: c["A"] > 4 * c["B"]))
        assert not w.is_done("q2")
        assert mach.add1("D") == Result.CANCELED
        await settle()
        assert not w.is_done("q2")
        mach.add1("C")
        await w.wait("q2")
    assert mach._subs_count() == 0


# --- WhenQueue / WhenQueueEnds (case 37) ------------------------------------------------------


async def test_when_queue_ignores_canceled_tx() -> None:
    """[probe] a canceled target mutation leaves WhenQueue open until a later accepted tx."""
    schema = norels() | {"D": State(require=["C"])}
    mach = Machine(schema)
    assert mach.queue_tick() == 1
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("q2", lambda: mach.when_queue(2))
        assert mach.add1("D") == Result.CANCELED
        assert mach.queue_tick() == 2
        await settle()
        assert not w.is_done("q2")
        assert mach.add1("A") == Result.EXECUTED
        await w.wait("q2")
    assert mach._subs_count() == 0


async def test_when_queue_future_tick() -> None:
    mach = Machine(norels())
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("q3", lambda: mach.when_queue(3))
        mach.add1("A")
        await settle()
        assert not w.is_done("q3")
        mach.add1("B")
        await w.wait("q3")


async def test_when_queue_of_handler_mutation() -> None:
    """Case 37: WhenQueue(Add1(D) tick) closes with (A B C D) active."""
    ticks: list[Result] = []

    def act(e: Any) -> None:
        m = e.machine
        m.add1("B")
        m.add1("C")
        ticks.append(m.add1("D"))

    mach, _ = setup(actions={"AState": [act]})
    mach.add1("A")
    assert ticks == [5]
    with trio.fail_after(TIMEOUT):
        await mach.when_queue(ticks[0])
    assert mach.is_(["A", "B", "C", "D"])


async def test_when_queue_ends_when_idle() -> None:
    """Go takes WhenQueueEnds mid-tx from another goroutine; in Python the queue runs
    synchronously in the caller's task, so no other task can observe it running.
    An idle machine's wait returns at once."""
    mach = Machine(norels())
    with trio.fail_after(TIMEOUT):
        await mach.when_queue_ends()
    mach.add1("A")
    with trio.fail_after(TIMEOUT):
        await mach.when_queue_ends()
    assert mach._subs_count() == 0


# --- cancellation leaves no subscription (case 32) --------------------------------------------

WAIT_KINDS: list[tuple[str, Callable[[Machine], Awaitable[Any]]]] = [
    ("when1", lambda m: m.when1("C")),
    ("when", lambda m: m.when(["C", "D"])),
    ("when_not1", lambda m: m.when_not1("A")),
    ("when_not", lambda m: m.when_not(["A", "B"])),
    ("when_time", lambda m: m.when_time(["A", "B"], [3, 3])),
    ("when_time1", lambda m: m.when_time1("B", 3)),
    ("when_ticks", lambda m: m.when_ticks("A", 2)),
    ("when_args", lambda m: m.when_args("B", {"foo": "bar"})),
    ("when_err", lambda m: m.when_err()),
    ("when_query", lambda m: m.when_query(lambda c: False)),
    ("when_queue", lambda m: m.when_queue(100)),
    ("when_next_active", lambda m: m.when_next_active("C")),
]


@pytest.mark.parametrize("wait", [k[1] for k in WAIT_KINDS], ids=[k[0] for k in WAIT_KINDS])
async def test_cancelled_wait_leaves_no_subscription(
    wait: Callable[[Machine], Awaitable[Any]],
) -> None:
    mach = Machine(norels())
    mach.set(["A", "B"])
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("w", lambda: wait(mach))
        assert not w.is_done("w")
        assert mach._subs_count() == 1
        n.cancel_scope.cancel()
    assert mach._subs_count() == 0
    # mutations after the cancellation don't trip over stale subscriptions
    assert mach.add(["C", "D"]) == Result.EXECUTED
    assert mach._subs_count() == 0


async def test_cancelled_before_waiting_leaves_no_subscription() -> None:
    mach = Machine(norels())
    with trio.CancelScope() as cs:
        cs.cancel()
        await mach.when1("A")
    assert cs.cancelled_caught
    with trio.move_on_after(0):
        await mach.when_args("A", {"x": 1})
    assert mach._subs_count() == 0


async def test_many_cancelled_waits_then_ticks() -> None:
    """WhenCtx: cancelled waits + ticks empty the indexes."""
    mach = Machine(norels())
    mach.set(["A", "B"])
    async with trio.open_nursery() as n:
        w = Waits(n)
        for name, fn in WAIT_KINDS:
            await w.start(name, lambda fn=fn: fn(mach))  # type: ignore[misc]
        assert mach._subs_count() == len(WAIT_KINDS)
        n.cancel_scope.cancel()
    for _ in range(3):
        mach.toggle(["A", "B"])
    assert mach._subs_count() == 0


# --- dispose (case 44) ------------------------------------------------------------------------


async def test_dispose_fails_every_pending_wait() -> None:
    """Disposed while waiting: every wait raises MachineDisposedError, when_disposed returns."""
    mach = Machine(norels())
    mach.set(["A"])
    async with trio.open_nursery() as n:
        w = Waits(n)
        for name, fn in WAIT_KINDS:
            await w.start(name, lambda fn=fn: fn(mach))  # type: ignore[misc]
        await w.start("disposed", mach.when_disposed)
        assert not any(ev.is_set() for ev in w.done.values())
        mach.dispose()
        await w.wait()
    assert sorted(w.errors) == sorted(name for name, _ in WAIT_KINDS)
    for err in w.errors.values():
        assert isinstance(err, MachineDisposedError)
        assert isinstance(err, trio.ClosedResourceError)
        assert err.mach_id == mach.id
    assert mach._subs_count() == 0
    assert mach.is_disposed()


async def test_satisfied_wait_returns_even_if_disposed_right_after() -> None:
    """A wait released by its condition returns normally, whatever happens next."""
    mach = Machine(norels())
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("a", lambda: mach.when1("A"))
        mach.add1("A")
        mach.dispose()
        await w.wait()
    assert w.errors == {}


@pytest.mark.parametrize(
    "wait",
    [
        *(k[1] for k in WAIT_KINDS),
        lambda m: m.when_queue_ends(),
        lambda m: m.when_not1("A"),  # satisfied by the zeroed clock, still raises
    ],
    ids=[*(k[0] for k in WAIT_KINDS), "when_queue_ends", "when_not1_inactive"],
)
async def test_waits_after_dispose_raise(wait: Callable[[Machine], Awaitable[Any]]) -> None:
    """Already disposed: the wait raises instead of returning with the condition unmet."""
    mach = Machine(norels())
    mach.set(["A", "B"])
    mach.dispose()
    with trio.fail_after(TIMEOUT), pytest.raises(MachineDisposedError):
        await wait(mach)
    assert mach._subs_count() == 0
    with trio.fail_after(TIMEOUT):
        await mach.when_disposed()


async def test_mirror_waits_raise_once_disposed() -> None:
    mirror = ReadOnlyMachine(norels(), id="mirror")
    async with trio.open_nursery() as n:
        w = Waits(n)
        await w.start("when1", lambda: mirror.when1("A"))
        mirror.dispose()
        await w.wait()
    assert isinstance(w.errors["when1"], MachineDisposedError)
    with trio.fail_after(TIMEOUT):
        with pytest.raises(MachineDisposedError):
            await mirror.when_args("A", {})
        with pytest.raises(MachineDisposedError):
            await mirror.when_not1("A")


# --- state scopes (case 29) -------------------------------------------------------------------


async def test_state_scope_cancelled_on_deactivation() -> None:
    """TestStateCtx: an active state's scope dies on Remove1."""
    mach = Machine(norels())
    mach.add1("A")
    scope = mach.state_scope("A")
    assert not scope.cancel_called
    cancelled = trio.Event()
    async with trio.open_nursery() as n:

        async def work() -> None:
            with scope:
                await trio.sleep_forever()
            cancelled.set()

        n.start_soon(work)
        await settle()
        mach.add1("B")  # other states moving don't matter
        await settle()
        assert not cancelled.is_set()
        mach.remove1("A")
        with trio.fail_after(TIMEOUT):
            await cancelled.wait()
    assert scope.cancel_called


async def test_state_scope_of_inactive_state_lives_until_activation() -> None:
    """TestStateCtxBasic (v0.19.1): inactive B's scope lives until Add1(B)."""
    mach = Machine(norels())
    scope = mach.state_scope("B")
    mach.add1("A")
    mach.remove1("A")
    assert not scope.cancel_called
    mach.add1("B")
    assert scope.cancel_called


async def test_state_scope_multi_reactivation_and_no_change() -> None:
    schema = norels() | {"A": State(multi=True)}
    mach = Machine(schema)
    mach.add(["A", "B"])
    sa = mach.state_scope("A")
    sb = mach.state_scope("B")
    mach.add1("B")  # active non-Multi: tick doesn't move
    assert not sb.cancel_called
    mach.add1("A")  # Multi re-activation: +2, new instance
    assert sa.cancel_called
    assert not sb.cancel_called
    # a fresh scope for the new activation
    sa2 = mach.state_scope("A")
    assert not sa2.cancel_called


async def test_state_scope_not_cancelled_by_canceled_tx() -> None:
    mach, _ = setup(initial=["A"], reject=["AExit"])
    scope = mach.state_scope("A")
    assert mach.remove1("A") == Result.CANCELED
    assert not scope.cancel_called


async def test_state_scope_cancelled_on_dispose() -> None:
    mach = Machine(norels())
    mach.add1("A")
    sa = mach.state_scope("A")
    sb = mach.state_scope("B")
    mach.dispose()
    assert sa.cancel_called
    assert sb.cancel_called


# --- async work: fork (case 42) ---------------------------------------------------------------


async def test_fork_exception_becomes_exception_state() -> None:
    """Go: PanicToErr(State) in a goroutine. Python: fork() runs in the machine's nursery."""
    mach = Machine(norels())

    async def boom() -> None:
        await trio.lowlevel.checkpoint()
        raise ValueError("in fork")

    async with mach:
        mach.fork(boom)
        with trio.fail_after(TIMEOUT):
            await mach.when_err()
        assert mach.is_err()
        err = mach.err()
        assert isinstance(err, ValueError)
        assert str(err) == "in fork"


async def test_fork_error_to_state() -> None:
    """Go: PanicToErrState(B) in a goroutine -> WhenErr closes, B active."""
    mach = Machine(norels())

    async def work() -> None:
        try:
            await trio.lowlevel.checkpoint()
            raise RuntimeError("x")
        except RuntimeError as e:
            mach.add_err_state("B", e)

    async with mach:
        mach.fork(work)
        with trio.fail_after(TIMEOUT):
            await mach.when_err()
        assert mach.is_(["B", "Exception"])


async def test_fork_from_handler_mutates_later() -> None:
    mach = Machine(norels())

    async def later(m: Machine) -> None:
        await trio.lowlevel.checkpoint()
        m.add1("B")

    class H:
        def AState(self, e: Any) -> None:
            e.machine.fork(later, e.machine)

    mach.bind_handlers(H())
    async with mach:
        mach.add1("A")
        assert not mach.is1("B")
        with trio.fail_after(TIMEOUT):
            await mach.when1("B")
        assert mach.is_(["A", "B"])


async def test_fork_under_state_scope_is_cancelled() -> None:
    mach = Machine(norels())
    started = trio.Event()
    finished: list[str] = []

    async def worker() -> None:
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            finished.append("cancelled")

    async with mach:
        mach.add1("A")
        mach.fork(worker, state="A")
        with trio.fail_after(TIMEOUT):
            await started.wait()
        mach.remove1("A")
        await settle()
        assert finished == ["cancelled"]
        assert not mach.is_err()


async def test_fork_without_nursery_fails_clearly() -> None:
    mach = Machine(norels())

    async def noop() -> None:
        pass

    with pytest.raises(RuntimeError, match="nursery"):
        mach.fork(noop)
