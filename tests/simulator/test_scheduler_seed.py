"""The model simulation's reproducibility hook into Trio's scheduler."""

from __future__ import annotations

import pytest

from asyncmachine.simulator._runner_model import seeded_trio_scheduler, trio_scheduler_rng


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
