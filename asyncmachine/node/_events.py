"""What a Node reports: peers and machines coming and going, diffed state changes."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass


class NodeEventKind(enum.Enum):
    PEER_JOINED = "peer+"
    """A peer's signed info arrived (it is in the topic, maybe without machines)."""
    PEER_LEFT = "peer-"
    """A peer said bye, went silent or restarted (``reason``)."""
    MACHINE_ADDED = "machine+"
    """A remote machine's mirror was created."""
    MACHINE_REMOVED = "machine-"
    """A remote machine's mirror was disposed (``reason``)."""
    STATE_CHANGED = "change"
    """A local or remote machine's clock moved (``change``)."""


@dataclass(frozen=True, slots=True)
class StateChange:
    """States activated (``added``), deactivated (``removed``) and ticked without a net
    change (``ticked``: multi re-activations, quick on/off) in one clock change."""

    at: float
    machine_id: str
    peer_id: str
    local: bool
    added: tuple[str, ...]
    removed: tuple[str, ...]
    ticked: tuple[str, ...]
    active: tuple[str, ...]

    def summary(self) -> str:
        """E.g. ``+Foo -Bar ^Tick``."""
        parts = [
            *("+" + s for s in self.added),
            *("-" + s for s in self.removed),
            *("^" + s for s in self.ticked),
        ]
        return " ".join(parts) or "(no change)"


@dataclass(frozen=True, slots=True)
class NodeEvent:
    """Something a status view shows; ``at`` is Trio's clock."""

    kind: NodeEventKind
    peer_id: str
    at: float
    machine_id: str = ""
    reason: str = ""
    change: StateChange | None = None


NodeObserver = Callable[[NodeEvent], None]


def diff_times(
    names: Sequence[str], before: Sequence[int], after: Sequence[int]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(activated, deactivated, ticked) state names between two time vectors; ticked
    states moved without changing activity (multi re-activation, or a quick on/off)."""
    added: list[str] = []
    removed: list[str] = []
    ticked: list[str] = []
    for name, a, b in zip(names, before, after, strict=False):
        if a == b:
            continue
        if b % 2 and not a % 2:
            added.append(name)
        elif a % 2 and not b % 2:
            removed.append(name)
        else:  # re-activated (multi), or on and off again between two updates
            ticked.append(name)
    return tuple(added), tuple(removed), tuple(ticked)


__all__ = ["NodeEvent", "NodeEventKind", "NodeObserver", "StateChange", "diff_times"]
