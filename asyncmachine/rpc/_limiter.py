"""Per-peer token buckets on Trio's clock: a flood from one peer is refused cheaply
(answered ``rate_limited`` and counted) while everyone else keeps being served."""

from __future__ import annotations

import math
from dataclasses import dataclass

import trio


@dataclass(frozen=True, slots=True)
class RpcRates:
    """Requests per second per peer (sustained) and the burst allowed above it; at most
    ``max_inflight`` concurrent requests per peer; ``max_peers`` buckets are kept."""

    per_second: float = 500.0
    burst: float = 200.0
    max_inflight: int = 64
    max_peers: int = 4096

    def __post_init__(self) -> None:
        if not (math.isfinite(self.per_second) and self.per_second > 0):
            raise ValueError("RpcRates.per_second must be > 0")
        if not (math.isfinite(self.burst) and self.burst >= 1):
            raise ValueError("RpcRates.burst must be >= 1")
        if self.max_inflight < 1 or self.max_peers < 1:
            raise ValueError("RpcRates.max_inflight and max_peers must be >= 1")


class PeerLimiter:
    """Token bucket + in-flight count per peer."""

    def __init__(self, rates: RpcRates) -> None:
        self.rates = rates
        self._buckets: dict[str, tuple[float, float]] = {}
        self._inflight: dict[str, int] = {}

    def take(self, peer: str) -> bool:
        """Spend one token of ``peer``'s bucket and take an in-flight slot; False when
        either is exhausted (then call nothing else)."""
        now = trio.current_time()
        r = self.rates
        tokens, at = self._buckets.get(peer, (r.burst, now))
        tokens = min(r.burst, tokens + (now - at) * r.per_second)
        if tokens < 1 or self._inflight.get(peer, 0) >= r.max_inflight:
            self._buckets[peer] = (tokens, now)
            return False
        if peer not in self._buckets and len(self._buckets) >= r.max_peers:
            self._buckets.pop(next(iter(self._buckets)))
        self._buckets[peer] = (tokens - 1, now)
        self._inflight[peer] = self._inflight.get(peer, 0) + 1
        return True

    def done(self, peer: str) -> None:
        """Release the in-flight slot taken by a successful :meth:`take`."""
        n = self._inflight.get(peer, 0) - 1
        if n > 0:
            self._inflight[peer] = n
        else:
            self._inflight.pop(peer, None)


__all__ = ["PeerLimiter", "RpcRates"]
