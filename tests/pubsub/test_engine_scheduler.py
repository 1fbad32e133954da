"""Scheduler and Work: one table of message types; due work runs in order, limits defer."""

from __future__ import annotations

from collections import Counter

import pytest
import trio
from trio.testing import MockClock

from asyncmachine.pubsub import RateLimits
from asyncmachine.pubsub._engine import Scheduler, Work
from asyncmachine.pubsub._ratelimit import RateLimiter
from asyncmachine.pubsub._wire import MsgType


def test_work_kinds_carry_their_message_type() -> None:
    assert Work.PUSH.mtype is MsgType.UPDATES and Work.PUSH.label == "updates"
    assert {w for w in Work if w.mtype is MsgType.INFO} == {
        Work.HELLO,
        Work.PULL,
        Work.ANNOUNCE,
        Work.ANSWER,
    }
    labels = {t.label for t in MsgType}
    assert {w.label for w in Work} == labels - {"bye"}  # bye is sent on exit, not as work
    rates = RateLimits()
    assert set(rates.out) == set(rates.incoming) == labels


def test_earliest_due_time_wins() -> None:
    sch = Scheduler(RateLimiter({}, 1.0), Counter())
    sch.schedule(Work.GOSSIP, 5.0)
    sch.schedule(Work.GOSSIP, 7.0)
    assert sch.due_at(Work.GOSSIP) == 5.0
    sch.schedule(Work.GOSSIP, 2.0)
    assert sch.due_at(Work.GOSSIP) == 2.0
    assert sch.due_at(Work.PUSH) is None


async def test_runs_due_work_in_time_order_and_defers_over_limit(
    autojump_clock: MockClock,
) -> None:
    deferred: Counter[str] = Counter()
    sch = Scheduler(RateLimiter({"updates": 1}, 10.0), deferred)
    ran: list[tuple[Work, float]] = []
    done = trio.Event()

    async def do(work: Work, now: float) -> None:
        ran.append((work, now))
        if len(ran) == 3:
            done.set()

    t0 = trio.current_time()
    sch.schedule(Work.GOSSIP, t0 + 2)
    sch.schedule(Work.PUSH, t0 + 1)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sch.run, do)
        await trio.sleep(1.5)
        sch.schedule(Work.PUSH, trio.current_time())  # over the limit: deferred, not lost
        with trio.fail_after(30):
            await done.wait()
        nursery.cancel_scope.cancel()
    assert [w for w, _ in ran] == [Work.PUSH, Work.GOSSIP, Work.PUSH]
    assert ran[0][1] == t0 + 1 and ran[1][1] == t0 + 2
    assert ran[2][1] == t0 + 11  # the next window of the push limit
    assert deferred["updates"] == 1


async def test_tracer_sees_each_run_with_its_due_start_and_end(autojump_clock: MockClock) -> None:
    sch = Scheduler(RateLimiter({}, 1.0), Counter())
    runs: list[tuple[Work, float, float, float]] = []
    sch.tracer = lambda work, due, started, ended: runs.append((work, due, started, ended))
    done = trio.Event()

    async def do(work: Work, now: float) -> None:
        await trio.sleep(0.5)  # publishing takes a while
        if work is Work.PUSH:
            done.set()

    t0 = trio.current_time()
    sch.schedule(Work.ANSWER, t0 + 1)
    sch.schedule(Work.PUSH, t0 + 1.2)  # due while the answer is still publishing
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sch.run, do)
        with trio.fail_after(30):
            await done.wait()
        nursery.cancel_scope.cancel()
    assert [w for w, *_ in runs] == [Work.ANSWER, Work.PUSH]
    assert [t - t0 for t in runs[0][1:]] == pytest.approx([1.0, 1.0, 1.5])
    assert [t - t0 for t in runs[1][1:]] == pytest.approx([1.2, 1.5, 2.0])  # behind the answer
