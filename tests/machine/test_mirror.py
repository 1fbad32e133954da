"""ReadOnlyMachine: the read API over a clock set by its owner, and what a mirror costs."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
import trio
import trio.testing

from asyncmachine.machine import CompiledSchema, MachineDisposedError, ReadOnlyMachine, Result
from tests.helpers import TIMEOUT
from tests.machine.mach_helpers import norels

# state order: A B C D Exception


def mirror(**kw: object) -> ReadOnlyMachine:
    return ReadOnlyMachine(CompiledSchema(norels()), id="m1", **kw)  # type: ignore[arg-type]


def test_reads_follow_update_clock() -> None:
    m = mirror(parent_id="p")
    assert m.time() == [0] * 5 and m.string() == "()"
    assert m.update_clock((1, 2, 3, 0, 0)) is True
    assert m.update_clock((1, 2, 3, 0, 0)) is False  # nothing changed
    assert m.is_(["A", "C"]) and m.is1("A") and not m.is1("B") and not m.is1("Nope")
    assert m.not_(["B", "D"]) and m.not1("B") and m.any1("B", "C") and m.any_(["B"], ["A"])
    assert (m.tick("A"), m.tick("B"), m.tick("Nope")) == (1, 2, 0)
    assert m.time(["C", "A"]) == [3, 1] and m.clock(["B"]) == {"B": 2}
    assert m.active_states() == ["A", "C"] and m.active_states(["C"]) == ["C"]
    assert m.is_clock({"A": 1, "C": 3}) and m.was_time([1, 1], ["A", "C"])
    assert m.string() == "(A:1 C:3)"
    assert m.string_all() == "(A:1 C:3) [B:2 D:0 Exception:0]"
    assert m.inspect(["A"]) == "1 A\n    |Tick     1\n"
    exp = m.export()
    assert exp["time"] == [1, 2, 3, 0, 0]
    assert exp["state_names"] == ["A", "B", "C", "D", "Exception"]
    assert m.parent_id == "p" and m.machine_tick() == 0 and m.err() is None
    with pytest.raises(ValueError, match="clock has 2 ticks"):
        m.update_clock((1, 2))


def test_update_clock_takes_any_int_sequence() -> None:
    m = mirror()
    m.update_clock([1, True, 0, 0, 0])  # a list, with a bool: stored as an int tuple
    assert m.time() == [1, 1, 0, 0, 0] and type(m.time()[1]) is int
    assert m.update_clock((1, 1, 0, 0, 0)) is False


def test_mutations_are_refused() -> None:
    m = mirror()
    assert m.add1("A") is Result.CANCELED and m.remove(["A"]) is Result.CANCELED
    assert m.toggle1("A") is Result.CANCELED and m.add_err(ValueError()) is Result.CANCELED
    assert m.time() == [0] * 5 and m.queue_len() == 0


def test_tags_are_a_copy_and_deduplicated() -> None:
    m = mirror(tags=("x", "y", "x"))
    assert m.tags == ["x", "y"]
    m.tags.append("z")  # a copy: the mirror's tags come from its owner
    assert m.tags == ["x", "y"]
    m.tags = ["w"]
    assert m.tags == ["w"]


async def test_waits_resolve_on_clock_updates() -> None:
    m = mirror()
    done: list[str] = []

    async def wait(name: str, fn: object) -> None:
        await fn()  # type: ignore[operator]
        done.append(name)

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as n:
            n.start_soon(wait, "when", lambda: m.when(["A", "B"]))
            n.start_soon(wait, "time", lambda: m.when_time1("C", 3))
            n.start_soon(wait, "query", lambda: m.when_query(lambda c: c["D"] == 2))
            await trio.testing.wait_all_tasks_blocked()
            scope = m.state_scope("A")
            m.update_clock((1, 0, 1, 0, 0))
            await trio.testing.wait_all_tasks_blocked()
            assert done == [] and scope.cancel_called  # A's tick moved
            m.update_clock((1, 1, 3, 2, 0))
        await m.when_not1("Exception")
    assert sorted(done) == ["query", "time", "when"] and m._subs_count() == 0


async def test_dispose_fails_waits_and_runs_callbacks() -> None:
    m = mirror()
    gone: list[str] = []
    m.on_dispose(gone.append)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as n:
            n.start_soon(m.when_disposed)
            await trio.testing.wait_all_tasks_blocked()
            m.dispose()
        with pytest.raises(MachineDisposedError):
            await m.when1("A")
        await m.when_disposed()
    assert gone == ["m1"] and m.update_clock((1, 0, 0, 0, 0)) is False


def test_a_mirror_is_a_few_pointers() -> None:
    """No per-mirror containers until used: the clock tuple is shared with the caller,
    the tags tuple with the decoded info, schema data with the compiled schema."""
    cs = CompiledSchema(norels())
    clocks = [(i, 0, 1, 0, 0) for i in range(2000)]
    tags = ("kind:x",)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    held = [ReadOnlyMachine(cs, id="m", tags=tags) for _ in range(2000)]
    for m, c in zip(held, clocks, strict=True):
        m.update_clock(c)
    per = (tracemalloc.get_traced_memory()[0] - base) / len(held)
    tracemalloc.stop()
    assert per <= 120, per  # 96 bytes on CPython 3.11 (was ~430)
    assert held[5]._ticks is clocks[5] and held[5]._subs is None
    assert not hasattr(held[5], "__dict__")
