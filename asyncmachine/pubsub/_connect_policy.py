"""The connection manager's settings, counters and trimming policy (see ``_connect``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ._connect_book import AddressSource, DropReason


class Dialer(Protocol):
    """What the manager needs from a transport."""

    async def dial(self, peer_id: str, addrs: Sequence[str]) -> None:
        """Connect to ``peer_id`` at one of ``addrs``; raise on failure (any Exception)."""
        ...

    async def close(self, peer_id: str) -> None:
        """Close every connection to ``peer_id``."""
        ...

    def connected(self) -> set[str]:
        """Peers with an open connection that count against the watermarks."""
        ...


@dataclass(frozen=True, slots=True)
class ConnectSettings:
    """Tunables. ``low``/``high`` default to our GossipSub ``degree_low``/``degree_high``
    (4/12; see :func:`asyncmachine.pubsub.libp2p.open_libp2p_transport`): fewer than
    D_low connections starve the mesh, more than D_high only add gossip targets."""

    low: int = 4
    high: int = 12
    max_dials_per_second: int = 5  # a sliding 1 s window: never more, whatever arrives
    max_concurrent_dials: int = 8
    backoff_initial: float = 1.0
    backoff_max: float = 10.0  # short: a healed partition is re-dialled within seconds
    jitter: float = 0.2  # each delay is multiplied by uniform(1 - jitter, 1 + jitter)
    target: int | None = None  # random exploration below this (None: (low + high) // 2)
    explore_interval: float = 15.0  # one exploratory dial this often (±50 %) below high
    explore_max: float = 300.0  # ...doubling while those fail, up to this (or the interval)
    discover_interval: float = 1.0  # first gap between discovery rounds; doubles while
    discover_max: float = 30.0  # rounds find nothing new, up to this
    grace: float = 10.0  # a connection this young is never trimmed
    tick: float = 1.0  # the longest the loop sleeps without a reason to wake

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high:
            raise ValueError(f"need 0 <= low <= high, got low={self.low}, high={self.high}")
        if self.target is not None and not self.low <= self.target <= self.high:
            raise ValueError(f"need low <= target <= high, got target={self.target}")
        if self.max_dials_per_second < 1 or self.max_concurrent_dials < 1:
            raise ValueError("max_dials_per_second and max_concurrent_dials must be >= 1")
        if not 0 < self.backoff_initial <= self.backoff_max:
            raise ValueError("need 0 < backoff_initial <= backoff_max")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")
        if self.discover_max < self.discover_interval:
            raise ValueError("discover_max must be >= discover_interval")
        for name in ("explore_interval", "discover_interval", "tick"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")


@dataclass(slots=True)
class ConnectCounters:
    """For status displays: ``known`` peers in the book, ``connected`` now, dials made
    and failed, connections trimmed, learned addresses dropped (by reason)."""

    known: int = 0
    connected: int = 0
    dial_attempts: int = 0
    dial_failures: int = 0
    trimmed: int = 0
    dropped: dict[DropReason, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrimCandidate:
    """What a :data:`TrimScore` sees of one connected peer."""

    peer_id: str
    degree: int | None  # the peer's reported connection count (None: unknown)
    shared: int  # of our other kept neighbours, how many it reports being connected to
    favoured: bool  # the transport prefers it (e.g. a gossipsub mesh peer)
    age: float  # seconds connected
    source: AddressSource


TrimScore = Callable[[TrimCandidate], float]
"""Higher keeps; the lowest-scoring connection above ``high`` is closed first."""


def diversity_score(c: TrimCandidate) -> float:
    """Keep favoured peers and peers only we connect to; trim hubs and redundant ones.

    A peer many of our neighbours also reach (``shared``) stays reachable through them
    after a trim; a high-degree hub is reachable from everywhere. Unknown degree counts
    as 0 (keep until we know better).
    """
    return (100.0 if c.favoured else 0.0) - 2.0 * c.shared - float(c.degree or 0)
