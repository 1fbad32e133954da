"""Logical clocks: ticks, time vectors and helpers (Go: Time, Clock, IsActiveTick)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Clock = dict[str, int]
"""State name -> tick (Go: Clock)."""


def is_active_tick(tick: int) -> bool:
    """Odd ticks are active (Go: IsActiveTick)."""
    return tick % 2 == 1


def next_active_in(tick: int) -> int:
    """Ticks until the next activation (Go: NextActiveIn)."""
    return 2 if tick % 2 else 1


def next_inactive_in(tick: int) -> int:
    """Ticks until the next deactivation (Go: NextInactiveIn)."""
    return 1 if tick % 2 else 2


def activations(tick: int) -> int:
    """How many times a state with this tick was activated."""
    return (tick + 1) // 2


class Time(list[int]):
    """A machine time: ticks in state order (Go: Time)."""

    __slots__ = ()

    def is_(self, idxs: Iterable[int]) -> bool:
        """All given indexes active; empty -> False (Go: Time.Is)."""
        ids = list(idxs)
        return bool(ids) and all(self[i] % 2 for i in ids)

    def is1(self, idx: int) -> bool:
        """Index active (Go: Time.Is1); out of range -> False."""
        return 0 <= idx < len(self) and self[idx] % 2 == 1

    def not_(self, idxs: Iterable[int]) -> bool:
        """No given index active; empty -> True (Go: Time.Not)."""
        return not any(self[i] % 2 for i in idxs)

    def not1(self, idx: int) -> bool:
        return not self.is1(idx)

    def any1(self, *idxs: int) -> bool:
        return any(self.is1(i) for i in idxs)

    def sum(self, idxs: Iterable[int] | None = None) -> int:
        """Sum of ticks, the machine-time checksum (Go: Time.Sum)."""
        return sum(self) if idxs is None else sum(self[i] for i in idxs)

    def add(self, other: Sequence[int]) -> Time:
        return Time(a + b for a, b in zip(self, other, strict=True))

    def diff_since(self, before: Sequence[int]) -> Time:
        """Per-index tick increase since ``before`` (Go: Time.DiffSince)."""
        return Time(a - b for a, b in zip(self, before, strict=True))

    def after(self, or_equal: bool, other: Sequence[int]) -> bool:
        """Every tick greater (or equal) than ``other``'s (Go: Time.After)."""
        if or_equal:
            return all(a >= b for a, b in zip(self, other, strict=True))
        return all(a > b for a, b in zip(self, other, strict=True))

    def before(self, or_equal: bool, other: Sequence[int]) -> bool:
        """Every tick smaller (or equal) than ``other``'s (Go: Time.Before)."""
        return Time(other).after(or_equal, self)

    def active_indexes(self) -> list[int]:
        return [i for i, t in enumerate(self) if t % 2]

    def non_zero_states(self) -> list[int]:
        return [i for i, t in enumerate(self) if t]

    def __str__(self) -> str:
        return " ".join(map(str, self))
