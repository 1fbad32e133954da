"""What the debugger knows: peers, machines with their schemas and clocks, and a bounded log.

Plain synchronous data, fed by :mod:`._follow` from a Topic's events and read by the UI at
its own pace (Go's am-dbg keeps the same split between its telemetry client and the TUI).
Every change bumps :attr:`DbgModel.version`, so a view redraws only when something changed,
and every log entry gets a sequence number, so a view appends only what it has not shown.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice

from asyncmachine.machine import State

MachineKey = tuple[str, int]
"""A remote machine's address: (owner peer id, index in the owner's info record)."""


def short_peer(peer_id: str) -> str:
    """The last 6 characters of a peer id, as ``asyncmachine node`` prints them."""
    return peer_id[-6:]


class LogKind(enum.Enum):
    """What a log entry records."""

    CHANGE = "change"  # a machine's clock changed
    MACHINE_ADDED = "machine+"
    MACHINE_REMOVED = "machine-"
    PEER_ADDED = "peer+"
    PEER_REMOVED = "peer-"


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of the log. ``activated`` / ``deactivated`` / ``ticked`` hold ``(state,
    new tick)`` pairs; ``ticked`` are states activated again (multi states) or activated
    and deactivated between two clocks, so their activity looks unchanged."""

    seq: int
    wall: float
    kind: LogKind
    peer_id: str
    machine_id: str = ""
    activated: tuple[tuple[str, int], ...] = ()
    deactivated: tuple[tuple[str, int], ...] = ()
    ticked: tuple[tuple[str, int], ...] = ()
    reason: str = ""

    def text(self) -> str:
        """The entry as one line, e.g. ``12:00:01.250 change demo-AAAAAA @AAAAAA +Bar:1``."""
        stamp = time.strftime("%H:%M:%S", time.localtime(self.wall))
        stamp += f".{int(self.wall * 1000) % 1000:03d}"
        who = f"{self.machine_id} @{short_peer(self.peer_id)}" if self.machine_id else self.peer_id
        parts = [stamp, self.kind.value, who]
        parts += [f"+{s}:{t}" for s, t in self.activated]
        parts += [f"-{s}:{t}" for s, t in self.deactivated]
        parts += [f"~{s}:{t}" for s, t in self.ticked]
        if self.reason:
            parts.append(f"({self.reason})")
        return " ".join(parts)

    def matches(self, needle: str) -> bool:
        """Whether a (lower-case) filter matches: the machine id, or the peer id of peer
        entries; the empty filter matches everything."""
        if not needle:
            return True
        return needle in (self.machine_id or self.peer_id).lower()


@dataclass(slots=True)
class PeerView:
    """A remote peer: ``connected`` (the transport sees it subscribed to the topic) and
    ``discovered`` (its signed info record arrived)."""

    peer_id: str
    connected: bool = False
    discovered: bool = False


@dataclass(slots=True)
class MachineView:
    """A remote machine: its schema (state order and relations) and its latest clock."""

    peer_id: str
    index: int
    id: str
    names: tuple[str, ...]
    schema: Mapping[str, State]
    clock: tuple[int, ...]
    tags: tuple[str, ...] = ()
    parent: str = ""
    version: int = 0
    """Bumped on every clock change (views redraw a machine's states only then)."""

    @property
    def key(self) -> MachineKey:
        return (self.peer_id, self.index)

    def active(self) -> list[str]:
        return [n for n, t in zip(self.names, self.clock, strict=True) if t % 2]

    def tick_sum(self) -> int:
        """Go: ``Time(nil).Sum()``: how much happened in this machine."""
        return sum(self.clock)


@dataclass(slots=True)
class DbgModel:
    """Peers, machines and the log of one observed topic.

    ``max_log`` bounds the log (oldest entries go first); ``logged`` counts every entry
    ever appended; ``version`` grows with every change. ``clock`` gives the wall time of
    log entries (a parameter for tests).
    """

    topic: str = ""
    self_id: str = ""
    max_log: int = 10_000
    clock: Callable[[], float] = time.time
    peers: dict[str, PeerView] = field(default_factory=dict)
    machines: dict[MachineKey, MachineView] = field(default_factory=dict)
    log: deque[LogEntry] = field(init=False)
    version: int = 0
    logged: int = 0

    def __post_init__(self) -> None:
        if self.max_log < 1:
            raise ValueError(f"max_log must be >= 1, got {self.max_log}")
        self.log = deque(maxlen=self.max_log)

    # --- peers -------------------------------------------------------------

    def peer_connected(self, peer_id: str, connected: bool) -> None:
        """The transport saw the peer join (True) or leave (False) the topic."""
        p = self.peers.get(peer_id)
        if p is None:
            if not connected:
                return
            p = self.peers[peer_id] = PeerView(peer_id)
        p.connected = connected
        self._forget_if_gone(p)
        self._changed()

    def peer_discovered(self, peer_id: str) -> None:
        """The peer's info record arrived."""
        p = self.peers.setdefault(peer_id, PeerView(peer_id))
        if not p.discovered:
            p.discovered = True
            self._append(LogKind.PEER_ADDED, peer_id)
        self._changed()

    def peer_removed(self, peer_id: str, reason: str) -> None:
        """The peer said bye, timed out or started a new session."""
        p = self.peers.get(peer_id)
        if p is None:
            return
        p.discovered = False
        self._forget_if_gone(p)
        self._append(LogKind.PEER_REMOVED, peer_id, reason=reason)
        self._changed()

    def machine_count(self, peer_id: str) -> int:
        return sum(1 for k in self.machines if k[0] == peer_id)

    def _forget_if_gone(self, p: PeerView) -> None:
        if not p.connected and not p.discovered:
            del self.peers[p.peer_id]

    # --- machines --------------------------------------------------------------

    def machine_added(self, view: MachineView) -> None:
        """A mirror was created (its clock usually follows in a clock update)."""
        self.machines[view.key] = view
        self._append(LogKind.MACHINE_ADDED, view.peer_id, view.id)
        self._changed()

    def machine_removed(self, peer_id: str, index: int, reason: str) -> None:
        m = self.machines.pop((peer_id, index), None)
        if m is None:
            return
        self._append(LogKind.MACHINE_REMOVED, peer_id, m.id, reason=reason)
        self._changed()

    def clock_updated(self, peer_id: str, index: int, clock: Sequence[int]) -> None:
        """A new clock of a machine: stored and logged as the states that changed."""
        m = self.machines.get((peer_id, index))
        if m is None or len(clock) != len(m.names):
            return
        new = tuple(clock)
        if new == m.clock:
            return
        on, off, again = diff_clocks(m.names, m.clock, new)
        m.clock = new
        m.version += 1
        self._append(LogKind.CHANGE, peer_id, m.id, on, off, again)
        self._changed()

    # --- log ----------------------------------------------------------------------

    def entries_since(self, seq: int) -> list[LogEntry]:
        """Entries with a sequence number above ``seq`` that are still held, oldest first."""
        missing = min(self.logged - seq, len(self.log))
        if missing <= 0:
            return []
        return list(islice(reversed(self.log), missing))[::-1]

    def matching(self, needle: str) -> Iterator[LogEntry]:
        """Held entries that match a lower-case filter, oldest first."""
        return (e for e in self.log if e.matches(needle))

    def _append(
        self,
        kind: LogKind,
        peer_id: str,
        machine_id: str = "",
        activated: Iterable[tuple[str, int]] = (),
        deactivated: Iterable[tuple[str, int]] = (),
        ticked: Iterable[tuple[str, int]] = (),
        reason: str = "",
    ) -> None:
        self.logged += 1
        self.log.append(
            LogEntry(
                self.logged,
                self.clock(),
                kind,
                peer_id,
                machine_id,
                tuple(activated),
                tuple(deactivated),
                tuple(ticked),
                reason,
            )
        )

    def _changed(self) -> None:
        self.version += 1


Ticks = tuple[tuple[str, int], ...]


def diff_clocks(
    names: Sequence[str], old: Sequence[int], new: Sequence[int]
) -> tuple[Ticks, Ticks, Ticks]:
    """States activated, deactivated and ticked without a visible change (odd ticks are
    active), each with its new tick (Go: am-dbg's transition summary from two clocks)."""
    on: list[tuple[str, int]] = []
    off: list[tuple[str, int]] = []
    again: list[tuple[str, int]] = []
    for name, a, b in zip(names, old, new, strict=True):
        if a == b:
            continue
        if b % 2 and not a % 2:
            on.append((name, b))
        elif a % 2 and not b % 2:
            off.append((name, b))
        else:
            again.append((name, b))
    return tuple(on), tuple(off), tuple(again)


__all__ = [
    "DbgModel",
    "LogEntry",
    "LogKind",
    "MachineKey",
    "MachineView",
    "PeerView",
    "diff_clocks",
    "short_peer",
]
