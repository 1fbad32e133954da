"""What a local machine stores beyond what it shares with a read-only mirror."""

from __future__ import annotations

from ._base import MachineBase


class LocalBase(MachineBase):
    """Slots of a local :class:`Machine` that a mirror doesn't have.

    A mirror derives its active states from its clock and has no error, tags list or
    queue (see ``Reads``); a machine keeps them here, below every part of
    :class:`Machine` that writes them.
    """

    __slots__ = ("_active", "_err", "_machine_tick", "_queue_running", "tags")

    _active: list[str]
