"""Mutation results and types (Go: Result, MutationType)."""

from __future__ import annotations

import enum


class Result(int):
    """The result of a mutation (Go: Result).

    ``EXECUTED`` (0), ``CANCELED`` (1), ``QUEUED`` (2); any value >= 2 is the
    queue tick at which the queued mutation will run.
    """

    EXECUTED: Result
    CANCELED: Result
    QUEUED: Result

    __slots__ = ()

    @property
    def is_queued(self) -> bool:
        """True for a queued mutation (Go: IsQueued)."""
        return self > 1

    @property
    def queue_tick(self) -> int:
        """The queue tick of a queued mutation, else 0."""
        return int(self) if self > 1 else 0

    def __str__(self) -> str:
        return "executed" if self == 0 else "canceled" if self == 1 else "queued"

    def __repr__(self) -> str:
        if self > 2:
            return f"Result.QUEUED(tick={int(self)})"
        return f"Result.{str(self).upper()}"


Result.EXECUTED = Result(0)
Result.CANCELED = Result(1)
Result.QUEUED = Result(2)


class MutationType(enum.Enum):
    """What a mutation does (Go: MutationType)."""

    ADD = "add"
    REMOVE = "remove"
    SET = "set"
    EVAL = "eval"

    def __str__(self) -> str:
        return self.value
