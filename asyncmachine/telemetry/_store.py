"""The SQLite history of transitions (Go: pkg/history), its writer side.

One row per clock change of a recorded machine: when (unix seconds), which machine
on which peer, the states activated and deactivated, and the whole clock after it
(``{"State": tick}``; odd ticks are active). Writes are batched and run in a worker
thread by :class:`~._recorder.Recorder`, so the event loop never waits on the disk.
Retention keeps at most ``max_rows`` rows no older than ``max_age`` seconds; SQLite
reuses the freed pages, so the file stops growing once the bound is reached.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ._options import TelemetryError

WAL_LIMIT = 1 << 20
"""Bytes the WAL file is truncated to after a checkpoint."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    machine TEXT NOT NULL,
    peer TEXT NOT NULL,
    local INTEGER NOT NULL,
    added TEXT NOT NULL,
    removed TEXT NOT NULL,
    clock TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_machine_at ON transitions (machine, at);
"""
AGE_CHECK = 10.0
"""Seconds between deletions of rows older than ``max_age`` (a scan of the table)."""
_json = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(..., separators) is slow


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One recorded clock change; ``clock`` maps every state to its tick after it."""

    at: float
    machine: str
    peer: str
    local: bool
    added: tuple[str, ...]
    removed: tuple[str, ...]
    clock: dict[str, int]

    def active(self) -> list[str]:
        return [s for s, t in self.clock.items() if t % 2]


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the database; :class:`TelemetryError` (one line) when it can't be used."""
    try:
        if readonly:
            if not path.is_file():
                raise TelemetryError(f"no history database at {str(path)!r}")
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        else:
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")  # readers (asyncmachine history) don't block
            db.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable but for a power cut
            db.execute("PRAGMA wal_autocheckpoint=256")  # the WAL file stays ~1 MB
            db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
            db.executescript(SCHEMA)
        db.execute("SELECT count(*) FROM transitions").fetchone()
    except sqlite3.Error as e:
        raise TelemetryError(f"cannot use history database {str(path)!r}: {e}") from None
    return db


class HistoryStore:
    """Appends rows and applies retention; used from one thread at a time."""

    def __init__(self, path: Path, max_rows: int, max_age: float) -> None:
        self.path = path
        self.max_rows = max_rows
        self.max_age = max_age
        self._db = connect(path)
        self._aged_at = 0.0

    def append(self, rows: Sequence[HistoryRow]) -> None:
        """Insert ``rows`` and drop what retention no longer allows, in one transaction."""
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany(
                "INSERT INTO transitions (at, machine, peer, local, added, removed, clock)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.at,
                        r.machine,
                        r.peer,
                        int(r.local),
                        _json(r.added),
                        _json(r.removed),
                        _json(r.clock),
                    )
                    for r in rows
                ],
            )
            db.execute(
                "DELETE FROM transitions WHERE id <= (SELECT max(id) FROM transitions) - ?",
                (self.max_rows,),
            )
            now = time.time()
            if now - self._aged_at >= AGE_CHECK:
                self._aged_at = now
                db.execute("DELETE FROM transitions WHERE at < ?", (now - self.max_age,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()
