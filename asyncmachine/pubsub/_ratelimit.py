"""Fixed-window rate limits on Trio's monotonic clock (Go: SendMsgEnter's window).

Go's window is ``now.Second() / Multiplayer`` of the wall clock, so the same
window index one minute later does not reset the counter. Here a window
starts at the first event after the previous one ended.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

_MIN_SWEEP = 64
"""Windows held before the first sweep of ended ones."""


class RateLimiter:
    """At most ``limits[kind]`` events per ``window`` seconds per key (kind, or (peer, kind)).

    Windows are kept per kind, by key: ``[start, count]``, about 100 bytes each. Ended
    windows are swept when the windows held double since the last sweep (amortised
    O(1) per event), so a node hearing from many authors, each rarely, holds about
    the windows still running, not one per author ever heard.
    """

    __slots__ = ("_held", "_state", "_sweep_at", "limits", "max_keys", "window")

    def __init__(self, limits: Mapping[str, int], window: float, max_keys: int = 65536) -> None:
        self.limits = dict(limits)
        self.window = window
        self.max_keys = max_keys
        self._state: dict[str, dict[Hashable, list[float]]] = {}  # kind -> key -> window
        self._held = 0
        self._sweep_at = min(_MIN_SWEEP, max_keys)

    def __len__(self) -> int:
        """Windows held (running or ended but not yet swept)."""
        return self._held

    def allow(self, kind: str, now: float, key: Hashable | None = None, cost: int = 1) -> bool:
        """Count an event of weight ``cost`` (default one); False when it would go over
        the limit (not counted then)."""
        limit = self.limits.get(kind)
        if limit is None:
            return True
        windows = self._state.get(kind)
        if windows is None:
            windows = self._state[kind] = {}
        st = windows.get(key)
        if st is None:
            if cost > limit:
                return False
            if self._held >= self._sweep_at:
                self.gc(now)
            windows[key] = [now, cost]
            self._held += 1
            return True
        if now >= st[0] + self.window:
            if cost > limit:
                return False
            st[0], st[1] = now, cost
            return True
        if st[1] + cost > limit:
            return False
        st[1] += cost
        return True

    def next_free(self, kind: str, now: float, key: Hashable | None = None) -> float:
        """When the next event of ``kind`` will be allowed."""
        st = self._state.get(kind, {}).get(key)
        if st is None or now >= st[0] + self.window or st[1] < self.limits.get(kind, 1 << 30):
            return now
        return st[0] + self.window

    def gc(self, now: float) -> None:
        """Forget windows that ended."""
        w = self.window
        self._state = {
            kind: {k: v for k, v in windows.items() if now < v[0] + w}
            for kind, windows in self._state.items()
        }
        self._held = sum(len(windows) for windows in self._state.values())
        self._sweep_at = min(self.max_keys, max(_MIN_SWEEP, 2 * self._held))


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
