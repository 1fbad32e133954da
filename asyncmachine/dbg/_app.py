"""The debugger's terminal UI (Go: am-dbg's TUI), a Textual app over a :class:`DbgModel`.

The app never reacts to single events: a timer redraws at most ``fps`` times a second, and
only when the model's version moved, appending just the log entries it has not shown. So a
burst of hundreds of clock updates costs one redraw, and the UI keeps up with any event rate
the Topic itself can take.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Input, RichLog, Static

from asyncmachine.machine import RELATIONS

from ._model import DbgModel, LogEntry, LogKind, MachineKey, MachineView, short_peer

Row = tuple[str, ...]
PEER_COLUMNS = ("peer", "conn", "info", "machines")
MACHINE_COLUMNS = ("machine", "peer", "tick", "active")
STATE_COLUMNS = ("state", "on", "tick", *RELATIONS)
_STYLES: Mapping[LogKind, str] = {
    LogKind.CHANGE: "",
    LogKind.MACHINE_ADDED: "green",
    LogKind.MACHINE_REMOVED: "red",
    LogKind.PEER_ADDED: "green",
    LogKind.PEER_REMOVED: "red",
}


def peer_label(peer_id: str) -> str:
    """The short form of a peer id: its first and last 6 characters."""
    return peer_id if len(peer_id) <= 14 else f"{peer_id[:6]}…{peer_id[-6:]}"


class DbgApp(App[int]):
    """Peers, machines, the selected machine's states and a filterable log.

    ``machine``: the id of the machine to select once it appears (default: the first).
    ``log_lines``: lines kept on screen (the model keeps its own bounded log).
    """

    TITLE = "asyncmachine dbg"
    CSS = """
    #header { height: 1; padding: 0 1; background: $boost; }
    #top { height: 3fr; }
    #left { width: 2fr; }
    #peers { height: 1fr; border: round $primary; }
    #machines { height: 2fr; border: round $primary; }
    #states { width: 3fr; border: round $primary; }
    #filter { height: 3; }
    #log { height: 2fr; border: round $primary; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("slash", "filter", "Filter log"),
        Binding("f", "filter_machine", "Log of this machine"),
        Binding("escape", "clear_filter", "Clear filter"),
    ]

    def __init__(
        self, model: DbgModel, *, fps: float = 10.0, machine: str = "", log_lines: int = 2000
    ) -> None:
        super().__init__()
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.model = model
        self.fps = fps
        self.want_machine = machine
        self.log_lines = log_lines
        self.selected: MachineKey | None = None
        self.log_filter = ""
        self.redraws = 0
        """Redraws done (each one for one or more model changes)."""
        self.logged_lines = 0
        """Log entries written to the screen since the last filter change."""
        self._version = -1
        self._log_seq = 0
        self._relog = False
        self._rows: dict[str, dict[str, Row]] = {"peers": {}, "machines": {}}
        self._machine_rows: dict[str, MachineKey] = {}
        self._states_drawn: tuple[MachineView | None, int] = (None, -1)
        """The machine in the states pane (the object: a machine replaced under the same
        key, e.g. by a new session of its peer, may have other states) and its version."""
        self._drawn = asyncio.Event()
        self._started = time.monotonic()

    # --- layout -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        with Horizontal(id="top"):
            with Vertical(id="left"):
                yield DataTable(id="peers", cursor_type="none", zebra_stripes=True)
                yield DataTable(id="machines", cursor_type="row")
            yield DataTable(id="states", cursor_type="none", zebra_stripes=True)
        yield Input(placeholder="filter the log by machine id (/)", id="filter")
        yield RichLog(id="log", max_lines=self.log_lines, wrap=False)
        yield Footer()

    def on_mount(self) -> None:
        for name, cols in (
            ("peers", PEER_COLUMNS),
            ("machines", MACHINE_COLUMNS),
            ("states", STATE_COLUMNS),
        ):
            table = self.query_one(f"#{name}", DataTable)
            table.border_title = name
            for col in cols:
                table.add_column(col, key=col)
        self.query_one("#log", RichLog).border_title = "log"
        self.query_one("#machines", DataTable).focus()
        self.set_interval(1 / self.fps, self.redraw)
        self.redraw()

    # --- actions and events ----------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_filter_machine(self) -> None:
        m = self.model.machines.get(self.selected) if self.selected else None
        if m is not None:
            self.query_one("#filter", Input).value = m.id

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.query_one("#machines", DataTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.log_filter = event.value.strip().lower()
        self._relog = True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#machines", DataTable).focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.selected is None and self.want_machine:
            return  # the table highlights its first row itself: wait for --machine's
        if event.data_table.id == "machines" and event.row_key.value is not None:
            key = self._machine_rows.get(event.row_key.value)
            if key is not None and key != self.selected:
                self.selected = key
                self._draw_states()

    # --- drawing ----------------------------------------------------------------

    def redraw(self) -> None:
        """Bring the screen up to the model (called by the timer; cheap when unchanged)."""
        if not self.up_to_date:
            self._version = self.model.version
            self.redraws += 1
            self._draw_header()
            self._draw_peers()
            self._draw_machines()
            self._draw_states()
            self._draw_log()
        self._drawn.set()
        self._drawn = asyncio.Event()

    @property
    def up_to_date(self) -> bool:
        """Whether the screen shows the current model and filter."""
        return self._version == self.model.version and not self._relog

    async def wait_drawn(self, done: Callable[[], bool], timeout: float) -> None:
        """Wait until ``done()`` holds, checking it after every tick of the redraw timer
        (for scripts and tests); TimeoutError after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while not done():
                await self._drawn.wait()

    def _draw_header(self) -> None:
        m = self.model
        conn = sum(1 for p in m.peers.values() if p.connected)
        text = (
            f"topic {m.topic}  observer {peer_label(m.self_id)}  "
            f"peers {len(m.peers)} ({conn} connected)  machines {len(m.machines)}  "
            f"log {m.logged}"
        )
        if self.log_filter:
            text += f"  filter {self.log_filter!r}"
        self.query_one("#header", Static).update(text)

    def _draw_peers(self) -> None:
        counts = Counter(k[0] for k in self.model.machines)
        rows = {
            pid: (
                peer_label(pid),
                "yes" if p.connected else "no",
                "yes" if p.discovered else "no",
                str(counts[pid]),
            )
            for pid, p in sorted(self.model.peers.items())
        }
        self._sync("peers", rows, PEER_COLUMNS)

    def _draw_machines(self) -> None:
        rows: dict[str, Row] = {}
        keys: dict[str, MachineKey] = {}
        for key, m in self.model.machines.items():
            rk = f"{key[1]}/{key[0]}"
            keys[rk] = key
            rows[rk] = (m.id, short_peer(m.peer_id), str(m.tick_sum()), " ".join(m.active()))
        self._machine_rows = keys
        table = self._sync("machines", rows, MACHINE_COLUMNS)
        if self.selected in self.model.machines or not rows:
            return
        pick = next((rk for rk, r in rows.items() if r[0] == self.want_machine), None)
        if pick is None and not self.want_machine:
            pick = next(iter(rows))
        if pick is not None:
            self.selected = keys[pick]
            table.move_cursor(row=table.get_row_index(pick))

    def _draw_states(self) -> None:
        table = self.query_one("#states", DataTable)
        m = self.model.machines.get(self.selected) if self.selected else None
        drawn, drawn_version = self._states_drawn
        if m is None:
            if drawn is not None:
                table.clear()
                table.border_title = "states"
                self._states_drawn = (None, -1)
            return
        if drawn is m and drawn_version == m.version:
            return
        if drawn is not m:
            table.clear()
            table.border_title = machine_title(m)
            for name, row in zip(m.names, state_rows(m), strict=True):
                table.add_row(*row, key=name)
        else:
            for name, row in zip(m.names, state_rows(m), strict=True):
                table.update_cell(name, "on", row[1])
                table.update_cell(name, "tick", row[2])
        self._states_drawn = (m, m.version)

    def _draw_log(self) -> None:
        log = self.query_one("#log", RichLog)
        needle = self.log_filter
        if self._relog:
            self._relog = False
            log.clear()
            self.logged_lines = 0
            entries: Sequence[LogEntry] = list(self.model.matching(needle))[-self.log_lines :]
        else:
            entries = [e for e in self.model.entries_since(self._log_seq) if e.matches(needle)]
        self._log_seq = self.model.logged
        for e in entries:
            log.write(Text(e.text(), style=_STYLES[e.kind]))
        self.logged_lines += len(entries)

    def _sync(self, name: str, rows: Mapping[str, Row], columns: Sequence[str]) -> DataTable[str]:
        """Update a keyed table to ``rows`` cell by cell (no flicker, cursor kept)."""
        table: DataTable[str] = self.query_one(f"#{name}", DataTable)
        shown = self._rows[name]
        for key in [k for k in shown if k not in rows]:
            table.remove_row(key)
            del shown[key]
        for key, row in rows.items():
            old = shown.get(key)
            if old is None:
                table.add_row(*row, key=key)
            elif old != row:
                for col, a, b in zip(columns, old, row, strict=True):
                    if a != b:
                        table.update_cell(key, col, b)
            shown[key] = row
        return table

    @property
    def redraw_rate(self) -> float:
        """Redraws per second since the app started."""
        return self.redraws / max(1e-9, time.monotonic() - self._started)


def machine_title(m: MachineView) -> str:
    """The states pane's title: the machine, its peer, parent and tags."""
    title = f"states of {m.id} @{short_peer(m.peer_id)}"
    if m.parent:
        title += f" parent {m.parent}"
    if m.tags:
        title += f" tags {' '.join(m.tags)}"
    return title


def state_rows(m: MachineView) -> list[Row]:
    """One row per state: name, active mark, tick and the four relations."""
    rows: list[Row] = []
    for name, tick in zip(m.names, m.clock, strict=True):
        st = m.schema.get(name)
        rels = tuple(" ".join(getattr(st, r)) if st is not None else "" for r in RELATIONS)
        rows.append((name, "●" if tick % 2 else "", str(tick), *rels))
    return rows


__all__ = ["DbgApp", "machine_title", "peer_label", "state_rows"]
