"""Awaiting discovery: Topic.when_machine / wait_machines (memory network and libp2p)."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from trio.testing import MockClock

from asyncmachine.machine import ReadOnlyMachine
from asyncmachine.pubsub import MachineFilter, MemoryNetwork, Topic, open_topic

from .helpers import FAST, memory_topics, worker
from .test_topic_libp2p import TIMEOUT, peers


async def test_when_machine_right_after_joining(autojump_clock: MockClock) -> None:
    w = worker("w1", tags=["kind:w"])
    async with memory_topics(MemoryNetwork(), [[w], []]) as (a, b):
        assert b.list_machines() == []  # what the old docs examples printed
        with trio.fail_after(30):
            mirror = await b.when_machine(id="w1")
        assert isinstance(mirror, ReadOnlyMachine) and mirror.id == "w1"
        assert b.list_machines(peer_id=a.peer_id) == [mirror]
        w.add1("Bar")
        with trio.fail_after(30):
            await mirror.when1("Bar")


async def test_wait_machines_waits_for_n_matches(autojump_clock: MockClock) -> None:
    net = MemoryNetwork()
    async with memory_topics(net, [[worker("x1", tags=["k"])], []]) as (a, b):
        got: list[ReadOnlyMachine] = []

        async def wait() -> None:
            got.extend(await b.wait_machines(2, tags=["k"]))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait)
            with trio.fail_after(30):
                await b.when_machine(id="x1")
            await trio.testing.wait_all_tasks_blocked()
            assert got == []  # one of two: still waiting
            a.expose(worker("x2", tags=["k", "more"]))
            a.expose(worker("y", tags=["other"]))
        assert sorted(m.id for m in got) == ["x1", "x2"]
        # already there: no waiting; a MachineFilter works as well as keywords
        (m,) = await b.wait_machines(1, MachineFilter(tags=["more"]))
        assert m.id == "x2"


async def test_cancelled_wait_leaves_nothing_behind(autojump_clock: MockClock) -> None:
    async with memory_topics(MemoryNetwork(), [[], []]) as (_a, b):
        with trio.move_on_after(5) as cs:
            await b.when_machine(id="never")
        assert cs.cancelled_caught
        assert len(b._waits) == 0
        assert b.list_machines() == []


async def test_stop_while_waiting_raises(autojump_clock: MockClock) -> None:
    errors: list[BaseException] = []

    async def wait(topic: Topic) -> None:
        try:
            await topic.wait_machines(3, id_partial="w")
        except trio.ClosedResourceError as e:
            errors.append(e)

    net = MemoryNetwork()
    async with (
        trio.open_nursery() as nursery,
        net.join("t") as tr,
        open_topic("t", transport=tr, settings=FAST) as topic,
    ):
        nursery.start_soon(wait, topic)
        await trio.testing.wait_all_tasks_blocked()
    # the topic's exit woke the waiter with an error, not an empty answer
    assert len(errors) == 1 and "stopped while waiting for 3" in str(errors[0])
    assert "id_partial='w'" in str(errors[0])
    with pytest.raises(trio.ClosedResourceError):
        await topic.when_machine(id="w1")


async def test_bad_arguments(autojump_clock: MockClock) -> None:
    async with memory_topics(MemoryNetwork(), [[]]) as (t,):
        for n in (0, -1, 1.5, True):
            with pytest.raises(ValueError, match="n must be an int"):
                await t.wait_machines(n)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="id_regex"):
            await t.when_machine(id_regex="(")
        with pytest.raises(TypeError, match="unknown machine filter idd"):
            t.list_machines(idd="x")  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="not both"):
            t.list_machines(MachineFilter(id="x"), id="y")


async def test_when_machine_on_libp2p() -> None:
    ma = worker("lp-1", tags=["kind:lp"])
    async with peers([[ma], []], name="am-waits") as (a, b):
        with trio.fail_after(TIMEOUT):
            mirror = await b.when_machine(peer_id=a.peer_id, tags=["kind:lp"])
            assert mirror.id == "lp-1"
            ma.add1("Bar")
            await mirror.when1("Bar")
            (again,) = await b.wait_machines(1, id="lp-1")
        assert again is mirror
