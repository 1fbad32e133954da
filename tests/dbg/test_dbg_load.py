"""The debugger keeps up with 20 peers x 3 machines mutating every second (issue 14)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import trio

from asyncmachine import Machine
from asyncmachine.dbg import DbgApp, DbgModel, LogKind
from tests.dbg.dbg_helpers import log_text, observed_network
from tests.helpers import TIMEOUT
from tests.pubsub.helpers import worker

PEERS, MACHINES, ROUNDS = 20, 3, 4


def test_twenty_peers_three_machines_every_second_nothing_lost() -> None:
    rate, per_redraw = asyncio.run(_load())
    print(f"redraws/s under load: {rate:.1f}, clock events per redraw: {per_redraw:.1f}")


async def _load() -> tuple[float, float]:
    exposes = [[worker(f"w{p}-{m}") for m in range(MACHINES)] for p in range(PEERS)]
    sources = [m for ms in exposes for m in ms]
    model = DbgModel()
    app = DbgApp(model, fps=10, log_lines=100)

    def synced() -> bool:
        """Every source's clock is on screen (in the model, and every entry drawn)."""
        shown = {m.id: m.clock for m in model.machines.values()}
        caught_up = app.logged_lines == model.logged
        return caught_up and all(shown.get(m.id) == tuple(m.time()) for m in sources)

    async with observed_network(exposes, model) as side, app.run_test(size=(200, 50)):
        await app.wait_drawn(lambda: len(model.machines) == PEERS * MACHINES, TIMEOUT)
        before_events, before_redraws = side.clock_events, app.redraws
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()

        def start(nursery: trio.Nursery) -> None:
            nursery.start_soon(_mutate, sources, finished)

        started = loop.time()
        side.call(start)
        await asyncio.wait_for(finished, TIMEOUT)
        await app.wait_drawn(synced, TIMEOUT)
        redraws = app.redraws - before_redraws
        rate = redraws / (loop.time() - started)

        changes = sum(1 for e in model.log if e.kind is LogKind.CHANGE)
        assert side.clock_events - before_events >= PEERS * MACHINES  # (coalescing may merge)
        assert changes == side.clock_events  # every clock event is in the model's log
        assert app.logged_lines == model.logged  # and every entry was drawn
        assert len(model.log) <= model.max_log
        assert len(log_text(app)) <= 100  # the pane keeps its last log_lines
        assert rate <= 11  # batched: at most fps redraws a second
    return rate, (side.clock_events - before_events) / redraws


async def _mutate(machines: Sequence[Machine], finished: asyncio.Future[None]) -> None:
    """Each machine toggles Bar once a second, the machines spread over the second."""
    for _ in range(ROUNDS):
        for m in machines:
            m.toggle(["Bar"])
            await trio.sleep(1 / len(machines))
    finished.set_result(None)
