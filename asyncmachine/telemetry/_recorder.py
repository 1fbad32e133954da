"""Feeds the history database from the event loop without blocking it.

Rows are buffered in memory and written in batches by a worker thread
(``trio.to_thread``); when the disk falls behind, the buffer keeps the newest
``max_pending`` rows and counts the dropped ones.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import deque

import trio

from ._store import HistoryRow, HistoryStore

log = logging.getLogger(__name__)


class Recorder:
    """Buffers :class:`HistoryRow` s of the chosen machines for :class:`HistoryStore`."""

    def __init__(
        self,
        store: HistoryStore,
        machines: tuple[str, ...] = (),
        max_pending: int = 10_000,
        interval: float = 0.25,
    ) -> None:
        self.store = store
        self.machines = machines
        """Id prefixes of recorded machines; empty: all."""
        self.interval = interval
        self.dropped = 0
        """Rows lost: the buffer overflowed or a write failed."""
        self._reported = 0
        self._pending: deque[HistoryRow] = deque(maxlen=max_pending)

    def wants(self, machine_id: str) -> bool:
        return not self.machines or machine_id.startswith(self.machines)

    def record(self, row: HistoryRow) -> None:
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        self._pending.append(row)

    async def run(self) -> None:
        """Write a batch every ``interval`` seconds; the last one on cancellation."""
        try:
            while True:
                await trio.sleep(self.interval)
                await self.flush()
        finally:
            with trio.CancelScope(shield=True):
                await self.flush()

    async def flush(self) -> None:
        if self.dropped > self._reported:
            log.warning("--history %s: %d rows dropped", self.store.path, self.dropped)
            self._reported = self.dropped
        if not self._pending:
            return
        batch = list(self._pending)
        self._pending.clear()
        try:
            await trio.to_thread.run_sync(self.store.append, batch)
        except sqlite3.Error as e:
            self.dropped += len(batch)
            self._reported = self.dropped
            log.error(
                "--history %s: write failed, %d rows lost: %s", self.store.path, len(batch), e
            )
