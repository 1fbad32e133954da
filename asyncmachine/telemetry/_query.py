"""Questions to a history database (Go: pkg/history): when was a state last active,
the clock of a machine at a time, the transitions between two times."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ._store import HistoryRow, connect

_COLS = "at, machine, peer, local, added, removed, clock"
Raw = tuple[float, str, str, int, str, str, str]


def _row(r: Raw) -> HistoryRow:
    at, machine, peer, local, added, removed, clock = r
    return HistoryRow(
        at,
        machine,
        peer,
        bool(local),
        tuple(json.loads(added)),
        tuple(json.loads(removed)),
        json.loads(clock),
    )


def _path(state: str) -> str:
    return '$."' + state.replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class Activity:
    """The latest activation of a state that the history holds."""

    activated_at: float
    """When it became active (the oldest retained row of that activation)."""
    deactivated_at: float | None
    """When it became inactive again; None while it still is active."""
    tick: int


class History:
    """A read-only view of a node's ``--history`` database."""

    def __init__(self, path: str | Path) -> None:
        self._db = connect(Path(path), readonly=True)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def machines(self) -> list[str]:
        """Recorded machine ids."""
        return [r[0] for r in self._db.execute("SELECT DISTINCT machine FROM transitions")]

    def last_active(self, machine: str, state: str) -> Activity | None:
        """When ``state`` of ``machine`` was last active (None: never, as far as kept)."""
        p = _path(state)
        found = self._db.execute(
            "SELECT id, json_extract(clock, ?) AS t FROM transitions"
            " WHERE machine = ? AND t % 2 = 1 ORDER BY id DESC LIMIT 1",
            (p, machine),
        ).fetchone()
        if found is None:
            return None
        row_id, tick = found
        (start,) = self._db.execute(
            "SELECT min(at) FROM transitions WHERE machine = ? AND json_extract(clock, ?) = ?",
            (machine, p, tick),
        ).fetchone()
        (end,) = self._db.execute(
            "SELECT min(at) FROM transitions"
            " WHERE machine = ? AND id > ? AND json_extract(clock, ?) > ?",
            (machine, row_id, p, tick),
        ).fetchone()
        return Activity(start, end, tick)

    def clock_at(self, machine: str, at: float) -> dict[str, int] | None:
        """``machine``'s clock at time ``at``: the latest row no later than it."""
        r = self._db.execute(
            "SELECT clock FROM transitions WHERE machine = ? AND at <= ?"
            " ORDER BY at DESC, id DESC LIMIT 1",
            (machine, at),
        ).fetchone()
        return None if r is None else dict(json.loads(r[0]))

    def between(
        self, start: float, end: float, *, machine: str | None = None, state: str | None = None
    ) -> list[HistoryRow]:
        """Rows with ``start <= at <= end``, oldest first; only ``machine``'s, only those
        activating or deactivating ``state``, when given."""
        sql = f"SELECT {_COLS} FROM transitions WHERE at >= ? AND at <= ?"
        params: list[object] = [start, end]
        if machine is not None:
            sql += " AND machine = ?"
            params.append(machine)
        rows = [_row(r) for r in self._db.execute(sql + " ORDER BY id", params)]
        if state is not None:
            rows = [r for r in rows if state in r.added or state in r.removed]
        return rows

    def count(self) -> int:
        n: int = self._db.execute("SELECT count(*) FROM transitions").fetchone()[0]
        return n


__all__ = ["Activity", "History"]
