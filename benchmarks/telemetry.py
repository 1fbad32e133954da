"""Telemetry overhead: mutations/s of an exposed machine with metrics, tracing, history
or the event stream on, each as a ratio to all off, side by side in one run.

Run: ``python benchmarks/telemetry.py [--n 20000] [--runs 7] [--json out.json]``
(tracing needs the ``otel`` extra: ``pip install -e '.[otel]'``).

Each run exposes a fresh two-state machine with Enter+State handlers in an in-memory
Topic, attaches one telemetry mode and toggles it ``n`` times, yielding to Trio every
100 mutations (so the Topic's gossip and the history writer run, as in a node).
Modes, interleaved run by run so machine noise hits all alike:
- off: no telemetry;
- metrics: ``--metrics`` (a counting tracer; the server is idle, nobody scrapes);
- tracing: an :class:`OtelTracer` on an SDK TracerProvider with a batch processor and
  an exporter that drops the spans (span creation and processing, no network);
- history: ``--history`` to a temporary SQLite file (batched by a worker thread);
- events: ``--events`` to a temporary file.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import trio
from rich.console import Console
from rich.table import Table

from asyncmachine import Event, Machine, State
from asyncmachine.pubsub import MemoryNetwork, open_topic
from asyncmachine.telemetry import Telemetry, TelemetryOptions

SCHEMA = {"On": State(remove=["Off"]), "Off": State(remove=["On"])}
MODES = ("off", "metrics", "tracing", "history", "events")


class Handlers:
    def OnEnter(self, e: Event) -> bool:
        return True

    def OnState(self, e: Event) -> None:
        pass

    def OffEnter(self, e: Event) -> bool:
        return True

    def OffState(self, e: Event) -> None:
        pass


@asynccontextmanager
async def tracing(mach: Machine) -> AsyncIterator[None]:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    from asyncmachine.telemetry.otel import OtelTracer

    class Drop(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    tracer = OtelTracer(provider.get_tracer("bench"))
    mach.add_tracer(tracer)
    try:
        yield
    finally:
        mach.remove_tracer(tracer)
        provider.shutdown()


async def one_run(mode: str, n: int, tmp: Path) -> float:
    mach = Machine(SCHEMA, id="bench", handlers=Handlers(), handler_timeout=None)
    opts = {
        "metrics": TelemetryOptions(metrics="127.0.0.1:0"),
        "history": TelemetryOptions(history=tmp / f"h-{time.monotonic_ns()}.db"),
        "events": TelemetryOptions(events=str(tmp / "events.jsonl")),
    }.get(mode)
    tel = Telemetry(opts) if opts is not None else None
    net = MemoryNetwork()
    try:
        async with net.join("bench") as tr, open_topic("bench", transport=tr, expose=[mach]) as t:
            ctx: AbstractAsyncContextManager[None]
            if tel is not None:
                ctx = tel.attach(t)
            elif mode == "tracing":
                ctx = tracing(mach)
            else:
                ctx = _nothing()
            async with ctx:
                add1: Callable[[str], Any] = mach.add1
                t0 = time.perf_counter()
                for i in range(n // 2):
                    add1("On")
                    add1("Off")
                    if i % 50 == 0:
                        await trio.lowlevel.checkpoint()
                dt = time.perf_counter() - t0
    finally:
        if tel is not None:
            tel.close()
    assert mach.tick("On") == n
    return n / dt


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


async def measure(n: int, runs: int) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory() as d:
        for _ in range(runs):
            for mode in MODES:
                gc.collect()
                rates[mode].append(await one_run(mode, n, Path(d)))
    return rates


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20_000, help="mutations per run (default 20000)")
    p.add_argument("--runs", type=int, default=7, help="runs per mode; the median is shown")
    p.add_argument("--json", help="also write the results to this JSON file")
    a = p.parse_args()
    if a.n < 2 or a.runs < 1:
        p.error("--n must be >= 2 and --runs >= 1")
    rates = trio.run(measure, a.n, a.runs)
    off = statistics.median(rates["off"])
    table = Table(title=f"telemetry overhead, {a.n} mutations, median of {a.runs} runs")
    for col in ("mode", "mut/s", "ratio to off", "µs/mut"):
        table.add_column(col, justify="right")
    out: dict[str, Any] = {"n": a.n, "runs": a.runs, "modes": {}}
    for mode in MODES:
        med = statistics.median(rates[mode])
        out["modes"][mode] = {"median": med, "ratio": med / off, "runs": rates[mode]}
        table.add_row(mode, f"{med:,.0f}", f"{med / off:.2f}", f"{1e6 / med:.1f}")
    Console().print(table)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
