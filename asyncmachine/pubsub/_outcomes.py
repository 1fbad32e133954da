"""What happened to a received record: its freshness, then what taking it did.

Go compares versions inline in each handler (MsgInfo, MsgUpdates) and drops
quietly; here every step names its result so it can be counted and tested.
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class Freshness(enum.Enum):
    """A record's header against what the registry holds (before any signature check)."""

    NEW = "new"
    """Newer than what is held (or an unknown peer): verify and apply it."""
    DUP = "dup"
    """The very version held: a duplicate."""
    STALE = "stale"
    """Older than what is held, or than a tombstone: a replay."""
    DEPARTED = "departed"
    """Of a session that said bye."""


class Take(enum.Enum):
    """What taking one record did."""

    APPLIED = "applied"
    DUP = "dup"
    PENDING = "pending"
    """Kept until the owner's (newer) info record arrives."""
    REJECTED = "rejected"
    """Dropped; :attr:`Outcome.reason` says why (a ``metrics.rejected`` key)."""


class Outcome(NamedTuple):
    """A :class:`Take` and, when rejected, the reason."""

    take: Take
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Applied or already held: the sender's copy is as good as ours."""
        return self.take is Take.APPLIED or self.take is Take.DUP


APPLIED = Outcome(Take.APPLIED)
DUP = Outcome(Take.DUP)
PENDING = Outcome(Take.PENDING)


def rejected(reason: str) -> Outcome:
    return Outcome(Take.REJECTED, reason)
