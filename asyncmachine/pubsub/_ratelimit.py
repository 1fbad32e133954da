"""Fixed-window rate limits on Trio's monotonic clock (Go: SendMsgEnter's window).

Go's window is ``now.Second() / Multiplayer`` of the wall clock, so the same
window index one minute later does not reset the counter. Here a window
starts at the first event after the previous one ended.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping


class RateLimiter:
    """At most ``limits[kind]`` events per ``window`` seconds per key (kind, or (peer, kind))."""

    __slots__ = ("_state", "limits", "max_keys", "window")

    def __init__(self, limits: Mapping[str, int], window: float, max_keys: int = 65536) -> None:
        self.limits = dict(limits)
        self.window = window
        self.max_keys = max_keys
        self._state: dict[Hashable, list[float]] = {}  # key -> [window_start, count]

    def allow(self, kind: str, now: float, key: Hashable | None = None) -> bool:
        """Count one event; False when it is over the limit (not counted then)."""
        limit = self.limits.get(kind)
        if limit is None:
            return True
        k = kind if key is None else (key, kind)
        st = self._state.get(k)
        if st is None or now >= st[0] + self.window:
            if st is None and len(self._state) >= self.max_keys:
                self.gc(now)
            self._state[k] = [now, 1.0]
            return True
        if st[1] >= limit:
            return False
        st[1] += 1
        return True

    def next_free(self, kind: str, now: float, key: Hashable | None = None) -> float:
        """When the next event of ``kind`` will be allowed."""
        st = self._state.get(kind if key is None else (key, kind))
        if st is None or now >= st[0] + self.window or st[1] < self.limits.get(kind, 1 << 30):
            return now
        return st[0] + self.window

    def gc(self, now: float) -> None:
        """Forget windows that ended."""
        self._state = {k: v for k, v in self._state.items() if now < v[0] + self.window}
