"""Are all live mirrors up to date right now? An incremental count, for time to heal.

The :class:`~asyncmachine.simulator._metrics.Recorder` measures each mutation's
latency; healing needs a different question, asked after every event: does every
live peer hold every other live peer's machines, each at its owner's current clock?
:class:`MirrorTracker` keeps the number of (live receiver, live remote machine) pairs
where the answer is no (``stale``) up to date in O(1) per clock event, O(N) per
mutation and O(N·M) per peer joining or dying, and calls :attr:`on_converged` when it
drops to zero.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence

_NONE = -1
"""Mirror slot value while the receiver holds no mirror of the machine."""


class MirrorTracker:
    """Mirror clock sums per (receiver, machine) against owner clock sums.

    Machine ``i`` of peer ``p`` is global machine ``p * machines + i`` (as in the
    Recorder). Clock sums only grow, so a mirror is up to date when its sum is at
    least its owner's.
    """

    def __init__(self, capacity: int, machines: int) -> None:
        self.machines = machines
        self._mm = capacity * machines
        self.live = bytearray(capacity)
        self.n_live = 0
        self._owner = array("q", bytes(8 * self._mm))
        self._mirror = array("i", [_NONE]) * (capacity * self._mm)
        self.stale = 0
        self.on_converged: Callable[[float], None] | None = None
        """Called with the time whenever ``stale`` drops to zero."""

    def _contribution(self, idx: int) -> int:
        """Stale pairs with ``idx`` as receiver or owner (other side live)."""
        m, mm, n = self.machines, self._mm, 0
        owner, mirror = self._owner, self._mirror
        mine = range(idx * m, idx * m + m)
        row = idx * mm
        for p, live in enumerate(self.live):
            if not live or p == idx:
                continue
            for g in mine:
                n += mirror[p * mm + g] < owner[g]
            for g in range(p * m, p * m + m):
                n += mirror[row + g] < owner[g]
        return n

    def _changed(self, before: int, now: float) -> None:
        if before and not self.stale and self.on_converged is not None:
            self.on_converged(now)

    def add_peer(self, idx: int, clock_sums: Sequence[int]) -> None:
        """New peer ``idx`` (indices are never reused) is alive with machines at
        ``clock_sums``: it holds no mirror yet and nobody holds one of its machines,
        so every pair between it and the ``n`` live peers is stale (O(1))."""
        if self.live[idx]:
            raise ValueError(f"peer {idx} is already live")
        for i, s in enumerate(clock_sums):
            self._owner[idx * self.machines + i] = s
        self.stale += 2 * self.n_live * self.machines
        self.live[idx] = 1
        self.n_live += 1

    def remove_peer(self, idx: int, now: float) -> None:
        """Peer ``idx`` left or died: it and its machines no longer count."""
        if not self.live[idx]:
            return
        before = self.stale
        self.stale -= self._contribution(idx)
        self.live[idx] = 0
        self.n_live -= 1
        self._changed(before, now)

    def _counts(self, r: int, owner: int) -> bool:
        return r != owner and bool(self.live[r]) and bool(self.live[owner])

    def _set(self, r: int, owner: int, index: int, value: int, now: float) -> None:
        g = owner * self.machines + index
        k = r * self._mm + g
        if not self._counts(r, owner):
            self._mirror[k] = value
            return
        was = self._mirror[k] < self._owner[g]
        self._mirror[k] = value
        before = self.stale
        self.stale += (value < self._owner[g]) - was
        self._changed(before, now)

    def on_discovered(self, r: int, owner: int, index: int, at: float) -> None:
        k = r * self._mm + owner * self.machines + index
        if self._mirror[k] == _NONE:
            self._set(r, owner, index, 0, at)

    def on_removed(self, r: int, owner: int, index: int, at: float) -> None:
        self._set(r, owner, index, _NONE, at)

    def on_clock(self, r: int, owner: int, index: int, at: float, clock_sum: int) -> None:
        k = r * self._mm + owner * self.machines + index
        if self._mirror[k] != _NONE and clock_sum > self._mirror[k]:
            self._set(r, owner, index, clock_sum, at)

    def on_mutation(self, owner: int, index: int, clock_sum: int) -> None:
        """The owner's machine changed: mirrors that were current become stale."""
        g = owner * self.machines + index
        old, self._owner[g] = self._owner[g], clock_sum
        if not self.live[owner]:
            return
        mm, mirror = self._mm, self._mirror
        for r, live in enumerate(self.live):
            if live and r != owner and old <= mirror[r * mm + g] < clock_sum:
                self.stale += 1
