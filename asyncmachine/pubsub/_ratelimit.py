"""Fixed-window rate limits on Trio's monotonic clock (Go: SendMsgEnter's window).

Go's window is ``now.Second() / Multiplayer`` of the wall clock, so the same
window index one minute later does not reset the counter. Here a window
starts at the first event after the previous one ended.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping

_MIN_SWEEP = 64
"""Keys held before the first sweep of ended windows."""

_NEVER = -math.inf
"""The start of a window that never ran."""


class RateLimiter:
    """At most ``limits[kind]`` events per ``window`` seconds per key (kind, or (peer, kind)).

    One list per key holds the windows of every kind, ``[start, count]`` pairs in the
    order of ``limits`` (a node keeps this for every author it hears from: about
    60 + 16 x kinds bytes per key, not ~200 per key and kind). Keys whose windows all
    ended are swept when the keys held double since the last sweep (amortised O(1)
    per event), so a node hearing from many authors, each rarely, holds about the
    authors still in a window, not every author ever heard.
    """

    __slots__ = ("_fresh", "_slot", "_state", "_sweep_at", "limits", "max_keys", "window")

    def __init__(self, limits: Mapping[str, int], window: float, max_keys: int = 65536) -> None:
        self.limits = dict(limits)
        self.window = window
        self.max_keys = max_keys
        self._slot = {kind: 2 * i for i, kind in enumerate(self.limits)}
        self._fresh: list[float] = [_NEVER, 0] * len(self.limits)
        self._state: dict[Hashable, list[float]] = {}  # key -> [start, count] per kind
        self._sweep_at = min(_MIN_SWEEP, max_keys)

    def __len__(self) -> int:
        """Keys held (with a running window, or ended but not yet swept)."""
        return len(self._state)

    def allow(self, kind: str, now: float, key: Hashable | None = None, cost: int = 1) -> bool:
        """Count an event of weight ``cost`` (default one); False when it would go over
        the limit (not counted then)."""
        i = self._slot.get(kind)
        if i is None:
            return True
        limit = self.limits[kind]
        st = self._state.get(key)
        if st is None:
            if cost > limit:
                return False
            if len(self._state) >= self._sweep_at:
                self.gc(now)
            st = self._state[key] = self._fresh.copy()
        elif now < st[i] + self.window:
            if st[i + 1] + cost > limit:
                return False
            st[i + 1] += cost
            return True
        if cost > limit:
            return False
        st[i], st[i + 1] = now, cost
        return True

    def next_free(self, kind: str, now: float, key: Hashable | None = None) -> float:
        """When the next event of ``kind`` will be allowed."""
        i = self._slot.get(kind)
        st = self._state.get(key)
        if i is None or st is None or now >= st[i] + self.window or st[i + 1] < self.limits[kind]:
            return now
        return st[i] + self.window

    def gc(self, now: float) -> None:
        """Forget keys whose windows all ended."""
        w = self.window
        self._state = {k: v for k, v in self._state.items() if now < max(v[::2]) + w}
        self._sweep_at = min(self.max_keys, max(_MIN_SWEEP, 2 * len(self._state)))


class WorkAllowance:
    """At most ``records`` records of ``nbytes`` bytes in all per ``window`` seconds per
    key: the verifying and decoding one relaying author, or one neighbour, may cause.

    Both are charged together, all or nothing, in one window per key (a
    :class:`RateLimiter` of the two kinds would take two calls per record, and count a
    record whose bytes it then refused). Ended windows are swept as there.
    """

    __slots__ = ("_state", "_sweep_at", "max_keys", "nbytes", "records", "window")

    def __init__(self, records: int, nbytes: int, window: float, max_keys: int = 65536) -> None:
        self.records = records
        self.nbytes = nbytes
        self.window = window
        self.max_keys = max_keys
        self._state: dict[Hashable, list[float]] = {}  # key -> [start, records, bytes]
        self._sweep_at = min(_MIN_SWEEP, max_keys)

    def __len__(self) -> int:
        return len(self._state)

    def charge(self, now: float, key: Hashable, size: int) -> bool:
        """Count one record of ``size`` bytes; False (nothing counted) when either
        total would go over its limit."""
        st = self._state.get(key)
        if st is not None and now < st[0] + self.window:
            if st[1] >= self.records or st[2] + size > self.nbytes:
                return False
            st[1] += 1
            st[2] += size
            return True
        if self.records < 1 or size > self.nbytes:
            return False
        if st is None and len(self._state) >= self._sweep_at:
            self.gc(now)
        self._state[key] = [now, 1, size]
        return True

    def gc(self, now: float) -> None:
        """Forget keys whose window ended."""
        w = self.window
        self._state = {k: v for k, v in self._state.items() if now < v[0] + w}
        self._sweep_at = min(self.max_keys, max(_MIN_SWEEP, 2 * len(self._state)))


class AnswerCredit:
    """How many answer bytes each requester may still cause, and all of them together.

    A requester starts with ``allowance`` bytes (a joiner's first hello) and earns
    ``ratio`` bytes per byte it sends us, banking at most ``allowance``; all answers
    together draw on one bucket of ``burst`` bytes refilled at ``rate`` per second. So
    what anyone can make this peer send is at most ``ratio`` times what it sent, plus
    the allowance, and never more than ``rate`` per second in total (docs/security.md).
    """

    __slots__ = ("_at", "_bal", "_tokens", "allowance", "burst", "max_keys", "rate", "ratio")

    def __init__(
        self, ratio: float, allowance: int, rate: int, burst: int, max_keys: int = 4096
    ) -> None:
        self.ratio = ratio
        self.allowance = allowance
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._bal: dict[Hashable, float] = {}  # requester -> bytes left (least recent first)
        self._tokens = float(burst)
        self._at: float | None = None

    def earn(self, key: Hashable, nbytes: int) -> None:
        """``key`` sent us ``nbytes``."""
        bal = self._bal.pop(key, None)
        if bal is None:
            bal = self.allowance
            if len(self._bal) >= self.max_keys:
                del self._bal[next(iter(self._bal))]
        self._bal[key] = min(self.allowance, bal + self.ratio * nbytes)

    def spend(self, key: Hashable, nbytes: int, now: float) -> bool:
        """Answer ``key`` with ``nbytes`` more? (Charged when True.)"""
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        bal = self._bal.get(key, float(self.allowance))
        if bal < nbytes or self._tokens < nbytes:
            return False
        self._bal[key] = bal - nbytes
        self._tokens -= nbytes
        return True
