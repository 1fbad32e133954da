"""Mutations per second: a two-state toggle, asyncmachine vs the `transitions` library.

Run: ``python benchmarks/machine_toggle.py [--n 50000] [--runs 7] [--json out.json]``
(needs the ``bench`` extra: ``pip install -e '.[bench]'``).

Each case flips between two mutually exclusive states ``n`` times; every run
builds a fresh machine, and the table shows the median of ``runs`` runs:
- asyncmachine, no handlers: ``add1("On")`` / ``add1("Off")`` with ``On``/``Off``
  removing each other;
- asyncmachine, with handlers: the same with ``OnEnter``/``OnState``/``OffEnter``/
  ``OffState`` methods bound;
- transitions: ``Machine(states=["off", "on"])`` with ``to_on()`` / ``to_off()``,
  without and with ``on_enter`` callbacks (its closest equivalent of Enter+State).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from asyncmachine import Event, Machine, State

SCHEMA = {"On": State(remove=["Off"]), "Off": State(remove=["On"])}


class Handlers:
    """Trivial negotiation + final handlers on both states."""

    def __init__(self) -> None:
        self.count = 0

    def OnEnter(self, e: Event) -> bool:
        return True

    def OnState(self, e: Event) -> None:
        self.count += 1

    def OffEnter(self, e: Event) -> bool:
        return True

    def OffState(self, e: Event) -> None:
        self.count += 1


def am_toggle(n: int, handlers: bool) -> float:
    mach = Machine(SCHEMA, handlers=Handlers() if handlers else None, handler_timeout=None)
    add1 = mach.add1
    t0 = time.perf_counter()
    for _ in range(n // 2):
        add1("On")
        add1("Off")
    dt = time.perf_counter() - t0
    assert mach.tick("On") == n and mach.is1("Off")
    return n / dt


def transitions_toggle(n: int, handlers: bool) -> float:
    from transitions import Machine as TMachine

    class Model:
        count = 0

        def bump(self) -> None:
            self.count += 1

    model = Model()
    states: list[Any] = (
        [{"name": "off", "on_enter": "bump"}, {"name": "on", "on_enter": "bump"}]
        if handlers
        else ["off", "on"]
    )
    TMachine(model=model, states=states, initial="off", auto_transitions=True)
    to_on: Callable[[], Any] = model.to_on  # type: ignore[attr-defined]
    to_off: Callable[[], Any] = model.to_off  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    for _ in range(n // 2):
        to_on()
        to_off()
    dt = time.perf_counter() - t0
    assert model.state == "off"  # type: ignore[attr-defined]
    return n / dt


def median_rates(n: int, handlers: bool, runs: int) -> tuple[float, float]:
    """Medians of asyncmachine and transitions, runs interleaved (same machine noise)."""
    am: list[float] = []
    tr: list[float] = []
    for _ in range(runs):
        for fn, rates in ((am_toggle, am), (transitions_toggle, tr)):
            gc.collect()
            rates.append(fn(n, handlers))
    return statistics.median(am), statistics.median(tr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=50_000, help="mutations per run (default 50000)")
    p.add_argument("--runs", type=int, default=7, help="runs per case; the median is shown")
    p.add_argument("--json", help="also write the results to this JSON file")
    a = p.parse_args()
    if a.n < 2 or a.runs < 1:
        p.error("--n must be >= 2 and --runs >= 1")
    res: dict[str, float] = {}
    for handlers in (False, True):
        key = "handlers" if handlers else "plain"
        res[f"asyncmachine_{key}"], res[f"transitions_{key}"] = median_rates(a.n, handlers, a.runs)
    table = Table(title=f"two-state toggle, {a.n} mutations, median of {a.runs} runs")
    for col in ("case", "asyncmachine mut/s", "transitions mut/s", "ratio", "µs/mut (am)"):
        table.add_column(col, justify="right")
    out: dict[str, Any] = {"n": a.n, "runs": a.runs, "cases": {}}
    for key, label in (("plain", "no handlers"), ("handlers", "Enter+State handlers")):
        am, tr = res[f"asyncmachine_{key}"], res[f"transitions_{key}"]
        out["cases"][key] = {"asyncmachine": am, "transitions": tr, "ratio": am / tr}
        table.add_row(label, f"{am:,.0f}", f"{tr:,.0f}", f"{am / tr:.2f}x", f"{1e6 / am:.1f}")
    Console().print(table)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
