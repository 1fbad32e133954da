"""Heartbeat decisions: keepalives, peer timeouts, links records (Go: HeartbeatState).

Every message reaches all N peers, so keepalives and mesh-only links records
are spaced by the number of known peers: they stay a small share of the traffic.
"""

from __future__ import annotations

import math
import random

from .._registry import Registry
from .._settings import TopicSettings

Links = tuple[tuple[str, ...], tuple[str, ...]]


class Liveness:
    """Keepalive/timeout periods and the links-record pacing of one peer."""

    def __init__(self, settings: TopicSettings, registry: Registry) -> None:
        self._s = settings
        self._reg = registry
        self._last_links: Links | None = None  # the links last scheduled for a record
        self._links_at = -math.inf

    def periods(self) -> tuple[float, float]:
        """(keepalive, peer timeout), growing with the number of known peers."""
        s = self._s
        keepalive = max(
            s.keepalive, min(s.keepalive_max, len(self._reg.peers) * s.keepalive_per_peer)
        )
        return keepalive, max(s.peer_timeout, 3 * keepalive)

    def gossip_due(
        self, now: float, last_publish: float, keepalive: float, rng: random.Random
    ) -> bool:
        """Gossip with probability 1/N (network-wide about one per heartbeat), or when
        this peer has been quiet for ``keepalive``."""
        n = len(self._reg.peers)
        return bool(n) and (
            rng.random() < 1.0 / n or now - last_publish >= keepalive * (0.75 + 0.25 * rng.random())
        )

    def refresh_due(self, clocks_age_ms: int, keepalive: float, rng: random.Random) -> bool:
        """Re-sign own clocks (the keepalive)? When the last clocks record is about a
        keepalive old: its stamp is the sign of life others time this peer out by, also
        those that only get the record relayed later."""
        return bool(self._reg.peers) and clocks_age_ms >= 1000 * keepalive * (
            0.75 + 0.25 * rng.random()
        )

    def links_refresh(self) -> float:
        """Minimum time between links records that only report a changed mesh."""
        return max(self._s.links_refresh, len(self._reg.peers) * self._s.links_refresh_per_peer)

    def links_due(self, now: float, links: Links) -> bool:
        """Send a links record? When the connections changed (at most once per
        ``links_interval``, longer in big networks), or when only the gossip mesh
        changed (it churns on its own: at most once per :meth:`links_refresh`)."""
        last = self._last_links
        if links == last:
            return False
        if last is None or links[0] != last[0]:
            wait = max(
                self._s.links_interval, len(self._reg.peers) * self._s.links_interval_per_peer
            )
        else:
            wait = self.links_refresh()
        if now < self._links_at + wait:
            return False
        self._last_links = links
        self._links_at = now
        return True
