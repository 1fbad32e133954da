"""The model simulation's reproducibility hook into Trio's scheduler."""

from __future__ import annotations

import pytest

from asyncmachine.simulator._determinism import seeded_trio_scheduler, trio_scheduler_rng


def test_this_trio_has_a_seedable_scheduler() -> None:
    # fails loudly on a Trio release that drops the RNG (then the model sim is not reproducible)
    assert trio_scheduler_rng() is not None


def test_seeding_is_scoped_to_the_run() -> None:
    r = trio_scheduler_rng()
    assert r is not None
    before = r.getstate()
    with seeded_trio_scheduler(7) as seeded:
        assert seeded
        first = r.random()
    assert r.getstate() == before  # other Trio code keeps its own randomness
    with seeded_trio_scheduler(7):
        assert r.random() == first


def test_a_trio_without_the_rng_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    from trio._core import _run

    monkeypatch.delattr(_run, "_r")
    with pytest.warns(RuntimeWarning, match="not reproducible"), seeded_trio_scheduler(1) as ok:
        assert not ok


def test_deadline_ties_break_in_registration_order() -> None:
    import trio
    import trio.testing
    from trio._core import _run

    order: list[int] = []
    registered: list[int] = []

    async def main() -> None:
        scopes = [trio.CancelScope() for _ in range(20)]  # allocated 0..19
        heap_order: list[int] = []

        async def wait(i: int) -> None:
            with scopes[i]:
                scopes[i].deadline = 1.0
                registered.append(i)
                await trio.sleep_forever()
            order.append(i)

        async with trio.open_nursery() as nursery:
            for i in reversed(range(20)):  # registered in whatever order they run
                nursery.start_soon(wait, i)
            await trio.sleep(0.5)
            heap = _run.GLOBAL_RUN_CONTEXT.runner.deadlines._heap
            ids = {id(s): i for i, s in enumerate(scopes)}
            heap_order = [
                ids[id(s)] for _, _, s in sorted(heap, key=lambda e: e[:2]) if id(s) in ids
            ]
        # not the allocation order (that is what id() tie-breaking gives)
        assert heap_order == registered

    with seeded_trio_scheduler(3):
        trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert sorted(order) == list(range(20))
