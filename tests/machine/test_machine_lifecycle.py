"""Lifecycle edges: ``async with mach``, guarded tracers, BaseExceptions in handlers, a full queue.

None of these have a Go test: they are where Python (Trio's structured concurrency,
BaseException) differs from Go (goroutines, panics).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio
import trio.testing

from asyncmachine import Machine, Result, State
from asyncmachine.machine import SchemaError, TracerBase, Transition
from tests.machine.mach_helpers import norels, setup

TIMEOUT = 10.0


class Boom(Exception):
    pass


class RaisingTracer(TracerBase):
    """Raises from the hooks named in ``hooks``."""

    def __init__(self, *hooks: str) -> None:
        self.hooks = set(hooks)
        self.ends = 0

    def _maybe(self, hook: str) -> None:
        if hook in self.hooks:
            raise Boom(hook)

    def machine_dispose(self, mach: Machine, /) -> None:
        self._maybe("machine_dispose")

    def transition_start(self, tx: Transition, /) -> None:
        self._maybe("transition_start")

    def transition_end(self, tx: Transition, /) -> None:
        self.ends += 1
        self._maybe("transition_end")

    def handler_start(self, tx: Transition, binding_id: str, handler: str, /) -> None:
        self._maybe("handler_start")

    def queue_end(self, mach: Machine, /) -> None:
        self._maybe("queue_end")


# --- async with mach --------------------------------------------------------------------------


async def test_raising_dispose_tracer_does_not_corrupt_the_nursery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A raising machine_dispose tracer used to leave the nursery open: Trio aborted."""
    mach = Machine(norels(), tracers=[RaisingTracer("machine_dispose")])
    cancelled = trio.Event()

    async def forked() -> None:
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    with trio.fail_after(TIMEOUT):
        async with mach:
            mach.fork(forked)
            await trio.testing.wait_all_tasks_blocked()
    assert cancelled.is_set()  # leaving the block cancelled the forked work
    assert mach.is_disposed()
    assert "tracer" in caplog.text and "machine_dispose" in caplog.text
    # the surrounding Trio run is intact: more async work still runs
    await trio.lowlevel.checkpoint()


async def test_body_error_still_disposes_and_cancels_forked_work() -> None:
    mach = Machine(norels())
    cancelled = trio.Event()

    async def forked() -> None:
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    with pytest.raises(ExceptionGroup) as info:
        async with mach:
            mach.fork(forked)
            await trio.testing.wait_all_tasks_blocked()
            raise Boom("body")
    assert info.group_contains(Boom)
    assert cancelled.is_set()
    assert mach.is_disposed()


async def test_dispose_cancels_forked_work_not_the_bound_nursery() -> None:
    """With bind_nursery, dispose used to cancel the whole shared nursery."""
    mach = Machine(norels())
    forked_cancelled = trio.Event()
    sibling_done = trio.Event()

    async def forked() -> None:
        try:
            await trio.sleep_forever()
        finally:
            forked_cancelled.set()

    async def sibling() -> None:
        await forked_cancelled.wait()
        await trio.lowlevel.checkpoint()
        sibling_done.set()

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as n:
            mach.bind_nursery(n)
            mach.fork(forked)
            n.start_soon(sibling)
            await trio.testing.wait_all_tasks_blocked()
            mach.dispose()
    assert forked_cancelled.is_set()
    assert sibling_done.is_set()


async def test_dispose_inside_async_with_cancels_forked_work_only() -> None:
    mach = Machine(norels())
    cancelled = trio.Event()

    async def forked() -> None:
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    with trio.fail_after(TIMEOUT):
        async with mach:
            mach.fork(forked)
            await trio.testing.wait_all_tasks_blocked()
            mach.dispose()
            await cancelled.wait()  # the block itself is not cancelled
            await trio.lowlevel.checkpoint()
    assert mach.is_disposed()


async def test_async_with_twice_at_once_fails_clearly() -> None:
    mach = Machine(norels())
    async with mach:
        with pytest.raises(RuntimeError, match="already running"):
            await mach.__aenter__()
    # after exit, fork on the disposed machine is a no-op, not an error
    mach.fork(trio.lowlevel.checkpoint)


# --- tracers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hook", ["transition_start", "transition_end", "handler_start", "queue_end"]
)
def test_raising_tracer_is_logged_and_ignored(hook: str, caplog: pytest.LogCaptureFixture) -> None:
    tracer = RaisingTracer(hook)

    class H:
        def AState(self, e: Any) -> None:
            pass

    mach = Machine(norels(), handlers=H(), tracers=[tracer])
    assert mach.add1("A") == Result.EXECUTED
    assert mach.is1("A")
    assert not mach.is_err()
    assert tracer.ends == 1
    assert f"{hook}" in caplog.text
    assert mach.add1("B") == Result.EXECUTED


def test_tracer_base_hooks_not_overridden_are_not_called() -> None:
    class Only(TracerBase):
        def __init__(self) -> None:
            self.n = 0

        def transition_end(self, tx: Transition, /) -> None:
            self.n += 1

    t = Only()
    mach = Machine(norels(), tracers=[t])
    assert mach._tracers.hooks.keys() == {"transition_end"}
    mach.add1("A")
    assert t.n == 1
    assert mach.tracers == [t]
    mach.remove_tracer(t)
    assert not mach._tracers.hooks
    mach.add1("B")
    assert t.n == 1


@pytest.mark.parametrize("typo", ["transiton_end", "transition_ends", "handler_stat", "queueend"])
def test_misspelt_hook_is_refused(typo: str) -> None:
    cls = type("Typo", (TracerBase,), {typo: lambda self, *a: None, "helper": lambda self: None})
    mach = Machine(norels())
    with pytest.raises(TypeError, match=f"{typo} is not a tracer hook; did you mean"):
        mach.add_tracer(cls())
    assert mach.tracers == []


def test_plain_tracer_object_still_works_at_runtime() -> None:
    class Plain:
        def __init__(self) -> None:
            self.inits: list[Machine] = []

        def machine_init(self, mach: Machine) -> None:
            self.inits.append(mach)

    t = Plain()
    mach = Machine(norels(), tracers=[t])  # type: ignore[list-item]
    assert t.inits == [mach]


# --- BaseExceptions in handlers ---------------------------------------------------------------


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
@pytest.mark.parametrize("handler", ["AState", "AnyState"])
def test_base_exception_in_final_handler_rolls_back(
    exc_type: type[BaseException], handler: str
) -> None:
    """Used to escape with A left active; now A is deactivated again, then it propagates."""
    mach, rec = setup(initial=["B"])
    rec.raises[handler] = exc_type("stop")
    with pytest.raises(exc_type):
        mach.add1("A")
    assert not mach.is1("A")
    assert mach.is1("B")
    assert mach.tick("A") == 2  # activated, rolled back: ticks only move forward
    assert mach.queue_len() == 0
    assert mach.transition() is None
    assert not mach.is_err()
    # the machine keeps working
    rec.raises.clear()
    assert mach.add1("A") == Result.EXECUTED
    assert mach.tick("A") == 3


def test_base_exception_in_negotiation_changes_nothing() -> None:
    mach, _ = setup(initial=["B"], raises={"AEnter": KeyboardInterrupt()})
    before = mach.clock()
    with pytest.raises(KeyboardInterrupt):
        mach.add1("A")
    assert mach.clock() == before


def test_base_exception_drops_the_rest_of_the_queue() -> None:
    """B queues A then C; A's handler raises: B stays, A is rolled back, C never runs."""
    mach, rec = setup(
        actions={"BState": [lambda e: e.machine.add1("A"), lambda e: e.machine.add1("C")]},
        raises={"AState": SystemExit(3)},
    )
    with pytest.raises(SystemExit):
        mach.add1("B")
    assert mach.active_states() == ["B"]
    assert mach.tick("A") == 2
    assert mach.tick("C") == 0
    assert "CEnter" not in rec.calls
    assert mach.queue_len() == 0


async def test_base_exception_rollback_releases_waits() -> None:
    """A when_not on a state exited by the aborted transition is released."""
    mach, _ = setup(
        {"A": State(), "B": State(remove=["A"])}, initial=["A"], raises={"BState": SystemExit()}
    )
    released = trio.Event()

    async def wait_not_a() -> None:
        await mach.when_not1("A")
        released.set()

    async with trio.open_nursery() as n:
        n.start_soon(wait_not_a)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(SystemExit):
            mach.add1("B")
        with trio.fail_after(TIMEOUT):
            await released.wait()
    assert not mach.is1("A")
    assert not mach.is1("B")


async def test_cancelled_in_handler_leaves_no_half_applied_transition() -> None:
    caught: list[trio.Cancelled] = []
    with trio.CancelScope() as cs:
        cs.cancel()
        try:
            await trio.lowlevel.checkpoint()
        except trio.Cancelled as exc:
            caught.append(exc)
            raise
    assert cs.cancelled_caught
    mach, _ = setup(raises={"AState": caught[0]})
    with pytest.raises(trio.Cancelled):
        mach.add1("A")
    assert not mach.is1("A")
    assert mach.tick("A") == 2


# --- queue_limit ------------------------------------------------------------------------------


def test_queue_limit_drops_are_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    def burst(e: Any) -> None:
        for i in range(20):  # args: not deduplicated
            e.machine.add1("B", {"i": i})

    mach, _ = setup(actions={"AState": [burst]}, queue_limit=5)
    with caplog.at_level(logging.WARNING, logger="asyncmachine"):
        assert mach.add1("A") == Result.EXECUTED
    assert mach.queue_dropped == 15
    warnings = [r for r in caplog.records if "queue_limit" in r.getMessage()]
    assert len(warnings) == 1
    assert "15 mutations canceled" in warnings[0].getMessage()
    # a burst that fits logs nothing more
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="asyncmachine"):
        mach.add1("D")
    assert mach.queue_dropped == 15
    assert not [r for r in caplog.records if "queue_limit" in r.getMessage()]


@pytest.mark.parametrize("limit", [0, -1])
def test_queue_limit_must_be_positive(limit: int) -> None:
    with pytest.raises(ValueError, match="queue_limit"):
        Machine(norels(), queue_limit=limit)


# --- set_schema -------------------------------------------------------------------------------


def test_set_schema_refuses_the_same_states() -> None:
    """Go: the state count is the schema version; relations-only changes are refused."""
    mach = Machine(norels())
    schema = mach.schema()
    schema["A"] = State(add=["B"])
    with pytest.raises(SchemaError, match="strictly more states"):
        mach.set_schema(schema, mach.state_names())
    assert not mach.schema()["A"].add
