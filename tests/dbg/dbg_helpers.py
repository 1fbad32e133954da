"""Run memory-network topics on Trio as a guest of the test's asyncio loop (as the debugger
does), with a model following an observer topic, and run Trio code on request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

import trio

from asyncmachine import Machine
from asyncmachine.dbg import DbgApp, DbgModel, TrioGuest, follow
from asyncmachine.pubsub import EventKind, MemoryNetwork, Topic, TopicEvent
from tests.helpers import TIMEOUT
from tests.pubsub.helpers import memory_topics


class TrioSide:
    """The Trio side of a test: ``call(fn)`` runs ``fn(nursery)`` in a Trio task (so it
    may mutate machines and start tasks); ``clock_events`` counts the observer's
    ``CLOCK_UPDATED`` events."""

    def __init__(self, guest: TrioGuest) -> None:
        self.guest = guest
        self.jobs: list[Callable[[trio.Nursery], None]] = []
        self.wake: trio.Event | None = None
        self.clock_events = 0
        self.observer: Topic | None = None

    def call(self, fn: Callable[[trio.Nursery], None]) -> None:
        self.jobs.append(fn)
        self.guest.run_sync_soon(self._wake)

    def _wake(self) -> None:
        if self.wake is not None:
            self.wake.set()

    def count(self, ev: TopicEvent) -> None:
        if ev.kind is EventKind.CLOCK_UPDATED:
            self.clock_events += 1

    async def serve(self, nursery: trio.Nursery) -> None:
        while True:
            self.wake = trio.Event()
            jobs, self.jobs = self.jobs, []
            for job in jobs:
                job(nursery)
            await self.wake.wait()


@asynccontextmanager
async def observed_network(
    exposes: Sequence[Sequence[Machine]], model: DbgModel
) -> AsyncIterator[TrioSide]:
    """Topics exposing ``exposes`` plus an observer followed by ``model``, on a fresh
    MemoryNetwork in a Trio guest; yields once the observer discovered every machine."""
    guest = TrioGuest()
    side = TrioSide(guest)
    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    want = sum(len(ex) for ex in exposes)

    async def main() -> None:
        net = MemoryNetwork()
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(memory_topics(net, exposes))
            (observer,) = await stack.enter_async_context(memory_topics(net, [[]]))
            follow(observer, model)
            observer.add_observer(side.count)
            side.observer = observer
            with trio.fail_after(TIMEOUT):
                await observer.wait_machines(want)
            async with trio.open_nursery() as nursery:
                ready.set_result(None)
                await side.serve(nursery)

    done = guest.start(main)
    try:
        await asyncio.wait([ready, done], return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            done.result()
        yield side
    finally:
        guest.cancel()
        await asyncio.wait([done], timeout=TIMEOUT)
    if not done.done():
        raise AssertionError("the Trio side did not stop")
    done.result()


def table_cell(app: DbgApp, table: str, row: str, column: str) -> str:
    """A cell of one of the app's tables ("" when the row is not there)."""
    from textual.widgets import DataTable

    t = app.query_one(f"#{table}", DataTable)
    try:
        return str(t.get_cell(row, column))
    except Exception:
        return ""


def log_text(app: DbgApp) -> list[str]:
    """The log pane's lines as text."""
    from textual.widgets import RichLog

    return [strip.text.rstrip() for strip in app.query_one("#log", RichLog).lines]


__all__ = ["TrioSide", "log_text", "observed_network", "table_cell"]
