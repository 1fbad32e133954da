"""The debugger's UI as a person sees it (Textual's pilot), fed by real Topics on a
MemoryNetwork through the same Trio guest the command uses."""

from __future__ import annotations

import asyncio

import trio
from textual.widgets import DataTable

from asyncmachine.dbg import DbgApp, DbgModel, MachineView
from tests.dbg.dbg_helpers import log_text, observed_network, table_cell
from tests.helpers import TIMEOUT
from tests.pubsub.helpers import worker


def test_states_show_the_new_tick_and_the_filter_narrows_the_log() -> None:
    asyncio.run(_states_and_filter())


async def _states_and_filter() -> None:
    a, b = worker("alpha"), worker("beta", tags=["kind:w"])
    model = DbgModel()
    app = DbgApp(model, machine="beta")
    async with observed_network([[a], [b]], model) as side, app.run_test(size=(200, 50)) as pilot:
        await app.wait_drawn(lambda: table_cell(app, "states", "Foo", "tick") == "0", TIMEOUT)
        assert table_cell(app, "states", "Foo", "require") == "Bar"
        title = str(app.query_one("#states").border_title)
        assert title.startswith("states of beta @") and title.endswith("tags kind:w"), title
        assert table_cell(app, "peers", next(iter(model.peers)), "conn") == "yes"

        def mutate(_: trio.Nursery) -> None:
            b.add(["Foo", "Bar"])
            a.add(["Bar"])

        side.call(mutate)
        await app.wait_drawn(lambda: table_cell(app, "states", "Foo", "tick") == "1", TIMEOUT)
        assert table_cell(app, "states", "Foo", "on") == "●"
        await app.wait_drawn(
            lambda: any("alpha" in s and "+Bar:1" in s for s in log_text(app)), TIMEOUT
        )
        assert any("beta" in s and "+Bar:1 +Foo:1" in s for s in log_text(app))

        await pilot.press("slash", *"alp", "enter")
        await app.wait_drawn(lambda: app.log_filter == "alp" and app.up_to_date, TIMEOUT)
        lines = log_text(app)
        assert lines and all("alpha" in s for s in lines), lines

        await pilot.press("escape", "f")  # the selected machine's log: beta
        await app.wait_drawn(lambda: app.log_filter == "beta" and app.up_to_date, TIMEOUT)
        lines = log_text(app)
        assert lines and all("beta" in s for s in lines), lines

        # select alpha with the arrows (rows are in discovery order: either may be first)
        machines = app.query_one("#machines", DataTable)
        alpha_row = machines.get_row_index(f"0/{a_peer(model, 'alpha')}")
        await pilot.press("escape", "up" if alpha_row < machines.cursor_row else "down")
        await app.wait_drawn(lambda: app.selected == (a_peer(model, "alpha"), 0), TIMEOUT)
        assert table_cell(app, "states", "Bar", "tick") == "1"
        assert table_cell(app, "states", "Foo", "tick") == "0"
        await pilot.press("q")
    assert app.return_code == 0


def a_peer(model: DbgModel, machine_id: str) -> str:
    return next(m.peer_id for m in model.machines.values() if m.id == machine_id)


def test_a_machine_replaced_under_the_same_key_shows_its_own_states() -> None:
    """A peer's new session can replace a machine at the same index with another schema
    between two redraws: the states pane is rebuilt, not updated cell by cell."""

    async def main() -> None:
        model = DbgModel()
        app = DbgApp(model)
        async with app.run_test(size=(200, 50)):
            model.machine_added(MachineView("p1", 0, "m", ("A", "B"), {}, (1, 0)))
            await app.wait_drawn(lambda: table_cell(app, "states", "A", "on") == "●", TIMEOUT)
            model.clock_updated("p1", 0, (1, 1))  # a newer version of the old machine
            model.machine_removed("p1", 0, "new_session")
            model.machine_added(MachineView("p1", 0, "m", ("C",), {}, (3,)))
            await app.wait_drawn(lambda: app.up_to_date, TIMEOUT)
            assert table_cell(app, "states", "C", "tick") == "3"
            assert table_cell(app, "states", "A", "tick") == ""

    asyncio.run(main())
