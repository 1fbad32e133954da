"""``asyncmachine demo``: a small worker machine showing relations, handlers and waits."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import trio
from rich.console import Console

from asyncmachine import Event, Machine, State
from asyncmachine.machine import BASIC_SCHEMA, merge_schemas

SCHEMA = merge_schemas(
    BASIC_SCHEMA,
    {
        # Ready needs Start; Downloading and Processing exclude each other
        "Downloading": State(require=["Start"], remove=["Processing"]),
        "Downloaded": State(require=["Start"], auto=False),
        "Processing": State(require=["Downloaded"], remove=["Downloading"]),
        "Processed": State(require=["Start"], add=["Ready"]),
    },
)


class Worker:
    """Handlers: negotiation (Enter) and final (State) handlers, async work via fork."""

    def __init__(self, console: Console, delay: float) -> None:
        self.console = console
        self.delay = delay

    def StartState(self, e: Event) -> None:
        self.console.print("[green]Start[/] -> downloading")
        e.machine.add1("Downloading")

    def DownloadingState(self, e: Event) -> None:
        mach = e.machine

        async def download() -> None:
            await trio.sleep(self.delay)
            mach.add1("Downloaded")
            mach.add1("Processing")

        # cancelled if Downloading ends before the work does
        mach.fork(download, state="Downloading")

    def ProcessingEnter(self, e: Event) -> bool:
        ok = e.machine.is1("Downloaded")
        self.console.print(f"ProcessingEnter: downloaded={ok}")
        return ok

    def ProcessingState(self, e: Event) -> None:
        mach = e.machine

        async def process() -> None:
            await trio.sleep(self.delay)
            mach.add1("Processed")

        mach.fork(process, state="Processing")

    def AnyState(self, e: Event) -> None:
        tx = e.transition
        self.console.print(f"  tx {tx.mutation.type} {tx.called_states()} -> {e.machine.string()}")


MAX_DELAY = 10.0
"""Upper bound of ``--delay``: the demo should finish while someone watches."""


def _delay(text: str) -> float:
    """``--delay``: seconds of fake work per step, 0..MAX_DELAY."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if not (math.isfinite(v) and 0 <= v <= MAX_DELAY):
        raise argparse.ArgumentTypeError(f"must be 0..{MAX_DELAY:g} seconds, got {text!r}")
    return v


def ready_timeout(delay: float) -> float:
    """How long to wait for Ready: two steps of ``delay`` plus a generous margin."""
    return 10.0 + 2 * delay


async def run_demo(delay: float, console: Console) -> dict[str, Any]:
    mach = Machine(SCHEMA, id="demo-worker", handler_timeout=1.0)
    mach.bind_handlers(Worker(console, delay))
    async with mach:
        console.print(f"[bold]{mach.id}[/] states: {', '.join(mach.state_names())}")
        console.print(f"Add1(Processing) before Start: {mach.add1('Processing')} (Require)")
        mach.add1("Start")
        with trio.fail_after(ready_timeout(delay)):
            await mach.when1("Ready")
        console.print(f"[bold green]Ready[/]: {mach.string()}")
        console.print(mach.inspect(["Processed", "Ready"]), end="")
        return mach.clock()


def _run(args: argparse.Namespace) -> int:
    console = Console()
    try:
        clock = trio.run(run_demo, args.delay, console)
    except trio.TooSlowError:
        print(
            f"asyncmachine demo: failed: not Ready after {ready_timeout(args.delay):g} s",
            file=sys.stderr,
        )
        return 1
    console.print(f"final clock: {clock}")
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="run a small worker machine demo", description=__doc__)
    p.add_argument(
        "--delay",
        type=_delay,
        default=0.2,
        help=f"seconds of fake work per step, 0..{MAX_DELAY:g} (default 0.2)",
    )
    p.set_defaults(run=_run)
