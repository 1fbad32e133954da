"""Reproducible Trio runs for the model simulation (two private Trio hooks, checked).

Trio orders tasks that become runnable together at random on purpose (so code cannot
rely on an order) and breaks ties between equal deadlines by ``id()`` of the cancel
scopes, i.e. by memory address. A model run needs both to be reproducible for ``--seed``
to mean anything; Trio offers no public way, so :func:`seeded_trio_scheduler` touches
exactly two private names, checks them, and ``tests/simulator/test_scheduler_seed.py``
fails loudly on a Trio release without them (present up to Trio 0.35, the version
tested).
"""

from __future__ import annotations

import itertools
import random
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from heapq import heappush
from importlib.metadata import version
from typing import Any


def trio_scheduler_rng() -> random.Random | None:
    """Trio's scheduler RNG (``trio._core._run._r``), or None on a Trio without it.

    Why a private name: Trio reverses each batch of runnable tasks at random on
    purpose (so code cannot rely on an order) and has no public way to seed it;
    its only hook is the Hypothesis plugin, which registers this same
    ``random.Random`` with ``hypothesis.register_random``. The model simulation
    needs a reproducible order: without it, same-seed runs differ (checked:
    three unseeded 40-peer runs with churn and loss gave three reports).
    The alternatives were worse: a single-task scheduler of our own would not
    run the real Topic code, and giving up reproducibility would break the
    ``--seed`` contract. So we touch this attribute, check its type, and
    ``tests/simulator/test_scheduler_seed.py`` fails loudly on a Trio release that
    drops it.
    """
    from trio._core import _run

    r = getattr(_run, "_r", None)
    return r if isinstance(r, random.Random) else None


def trio_deadlines_add() -> Callable[..., None] | None:
    """``trio._core._run.Deadlines.add`` (None on a Trio without it).

    Trio keeps deadlines in a heap of ``(deadline, id(cancel_scope), cancel_scope)``:
    scopes with equal deadlines expire, and their tasks run, in the order of their
    memory addresses. Model peers do hit equal deadlines (timers derived from delivery
    times on the model's 1 ms grid; measured: ~90 ties in a 30-peer run with a
    partition, and same-seed runs in one process gave three different reports).
    """
    from trio._core import _run

    deadlines = getattr(_run, "Deadlines", None)
    add = getattr(deadlines, "add", None)
    heap = getattr(getattr(deadlines, "__attrs_attrs__", None), "_heap", None)
    return add if callable(add) and heap is not None else None


def _add_in_order(counter: Iterator[int]) -> Callable[[Any, float, Any], None]:
    """A ``Deadlines.add`` breaking ties by registration order instead of ``id()``."""

    def add(self: Any, deadline: float, cancel_scope: Any) -> None:
        heappush(self._heap, (deadline, next(counter), cancel_scope))
        self._active += 1

    return add


@contextmanager
def seeded_trio_scheduler(seed: int) -> Iterator[bool]:
    """For one ``trio.run``: seed Trio's run-queue order and break deadline ties in
    the order the deadlines were set (both restored afterwards, so other Trio code in
    the process keeps its own behaviour). Yields False, and warns, when this Trio
    lacks either hook (the run is then not reproducible)."""
    from trio._core import _run

    r, add = trio_scheduler_rng(), trio_deadlines_add()
    if r is None or add is None:
        warnings.warn(
            f"trio {version('trio')} has no seedable scheduler RNG or deadline heap: "
            "model simulations are not reproducible on it",
            RuntimeWarning,
            stacklevel=3,
        )
        yield False
        return
    state = r.getstate()
    r.seed(seed)
    _run.Deadlines.add = _add_in_order(itertools.count())  # type: ignore[method-assign,assignment]
    try:
        yield True
    finally:
        _run.Deadlines.add = add  # type: ignore[method-assign]
        r.setstate(state)
