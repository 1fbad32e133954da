"""Data kept per remote peer and machine, and what the registry needs from a mirror.

Go: ``NetworkMachine`` / the entries of the Topic's ``netMachs`` and ``info`` maps.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..machine import CompiledSchema
from ._wire import DigestEntry, LinksBody, MachineInfo, Record

_ZEROS: dict[int, tuple[int, ...]] = {}  # one per state count: bounded by WireLimits.max_states


def zeros(n: int) -> tuple[int, ...]:
    """A shared all-zero clock of ``n`` ticks (saves a tuple per mirror)."""
    z = _ZEROS.get(n)
    if z is None:
        z = _ZEROS[n] = (0,) * n
    return z


class MirrorLike(Protocol):
    """What the registry needs from a mirror (ReadOnlyMachine)."""

    id: str
    tags: list[str]
    parent_id: str

    def update_clock(self, ticks: Sequence[int]) -> bool: ...

    def dispose(self) -> None: ...


MirrorFactory = Callable[[CompiledSchema, MachineInfo], MirrorLike]


@dataclass(slots=True)
class RemoteMachine:
    """A remote machine: where it lives, what it is, and its local mirror.

    ``clock`` is the decoded tuple of the last applied clocks record; a
    ``ReadOnlyMachine`` mirror keeps the same tuple (no copy per mirror).
    """

    peer_id: str
    index: int
    info: MachineInfo
    mirror: MirrorLike
    clock: tuple[int, ...] = ()


@dataclass(slots=True)
class RemotePeer:
    """A peer known from a valid, signed info record."""

    peer_id: str
    epoch: int
    info_seq: int
    info_rec: Record
    discovered_at: float
    last_heard: float
    clock_seq: int = -1
    clock_rec: Record | None = None
    machines: list[RemoteMachine] = field(default_factory=list)
    key: int = 0
    """Ring key of the peer id (for views and hello ``known`` lists)."""
    links_rec: Record | None = None
    links: LinksBody | None = None
    """The peer's own report of its connections and mesh peers (a links record)."""
    addrs: tuple[str, ...] = ()
    """The peer's listen addresses, from its signed info record."""

    def digest(self) -> DigestEntry:
        return DigestEntry(self.peer_id, self.epoch, self.info_seq, max(self.clock_seq, 0))


class Revival(enum.Enum):
    """What lifts a tombstone before its TTL, besides records of a newer version."""

    NEVER = "never"
    """It left (bye) or was evicted over budget."""
    BY_ITSELF = "by_itself"
    """It was dropped as silent: a message it authors itself (transport-authenticated)
    lifts the tombstone; its last records relayed by others do not (peers time a dead
    peer out at different moments, and would hand it back to each other)."""
    BY_RECORDS = "by_records"
    """It was judged unreachable (perhaps only cut off): a message it authors lifts the
    tombstone, and its latest records relayed by others are taken again (a healed
    partition: pulls and answers carry them)."""


@dataclass(slots=True)
class Tombstone:
    """A peer that left (bye) or went silent; older records must not revive it."""

    epoch: int
    info_seq: int
    clock_seq: int
    bye: bool
    at: float
    revival: Revival = Revival.NEVER
