"""Which missing peers to request, and when (Go: ReqMissingPeers / ReqMissingUpdates).

A peer found missing is requested after ``request_delay`` (others may answer
meanwhile), at most every ``request_interval`` (counting requests seen from
others too, as Go's ``reqInfo`` map), and given up after ``request_attempts``
unanswered tries until seen again. Info is not requested while new peers are still
being discovered here (one within ``hello_retry``): hellos and their answers are
streaming in, and the wanted record is most likely among them.
"""

from __future__ import annotations

import math

from .._registry import Registry
from .._settings import TopicSettings


class Requests:
    """Request pacing and attempts, per requested peer; the missing sets are the registry's."""

    def __init__(self, settings: TopicSettings, registry: Registry) -> None:
        self._s = settings
        self._reg = registry
        self._seen_info: dict[str, float] = {}  # peer -> last request for it seen/sent
        self._seen_clocks: dict[str, float] = {}
        self._asked: dict[tuple[str, str, bool], float] = {}  # (requester, peer, clocks)
        self._clocks_since: dict[str, float] = {}  # peer -> first seen missing clocks
        self._attempts: dict[str, int] = {}  # unanswered requests per peer
        self._gave_up: dict[str, float] = {}  # peer -> when requests for it stopped
        self._last_info = -math.inf  # when this peer last sent a request
        self._last_clocks = -math.inf

    def note_seen(self, peer: str, now: float, clocks: bool, author: str = "") -> bool:
        """A request for ``peer`` was seen (ours or another's): ours wait for it.
        True when ``author`` repeats its own recent request (its answer didn't arrive).

        Only the same requester's repeat counts: in a big network many peers miss the
        same record and ask for it within seconds, and the first answer, broadcast,
        serves them all (100 peers: owners answering every second requester for a
        record sent 475 answers of their own during discovery)."""
        seen = self._seen_clocks if clocks else self._seen_info
        seen[peer] = now
        key = (author, peer, clocks)
        prev = self._asked.pop(key, None)
        self._asked[key] = now
        return prev is not None and now - prev < self._repeat_window()

    def _repeat_window(self) -> float:
        """How long a requester's request counts as outstanding: 4 of its own request
        intervals (which grow with the network, :meth:`next_ids`)."""
        return 4 * self._s.request_interval * max(1.0, len(self._reg.peers) / 8)

    def answered(self, owner: str) -> None:
        """A record of ``owner`` was applied: its requests were answered."""
        self._attempts.pop(owner, None)

    def next_ids(self, now: float, clocks: bool, in_flight: float = 0.0) -> tuple[list[str], float]:
        """Peers to request now, and when to look again (``inf``: nothing left).

        Own requests are paced by network size: every request and its answer reach
        all N peers, and one request serves everyone missing the same records. A peer
        found missing is requested after ``request_delay``, and requested (by anyone)
        again after ``request_interval``; either wait is ``in_flight`` (twice the recent
        transit time of info messages) if that is longer: the record, or the answer,
        may still be on its way. (On a saturated network every keepalive a gossip digest showed
        before it arrived here was requested at once, and answered to everyone.)
        """
        s, reg = self._s, self._reg
        missing = reg.missing_clocks if clocks else reg.missing_info
        if clocks:
            for p in missing:
                self._clocks_since.setdefault(p, now)
        since = self._clocks_since if clocks else reg.missing_info
        seen = self._seen_clocks if clocks else self._seen_info
        gap = s.request_interval * max(1.0, len(reg.peers) / 8)
        last = self._last_clocks if clocks else self._last_info
        if now < last + gap:
            return [], last + gap
        paused_at = reg.discovery_paused_at(s.hello_retry)
        if not clocks and now < paused_at:
            return [], paused_at
        ids: list[str] = []
        next_at = math.inf
        for p in list(missing):
            given_up = self._gave_up.get(p)
            if self._attempts.get(p, 0) >= s.request_attempts or (
                given_up is not None and now - given_up < s.peer_timeout
            ):
                # nobody answers for it (e.g. a subscriber that is not an asyncmachine peer):
                # leave it to its own hello/bye/gossip for a while
                reg.forget_missing(p, clocks)
                if self._attempts.pop(p, None) is not None:
                    self._gave_up[p] = now
                continue
            ready_at = max(
                since.get(p, -math.inf) + max(s.request_delay, in_flight),
                seen.get(p, -math.inf) + max(s.request_interval, in_flight),
            )
            if ready_at <= now and len(ids) < s.max_request_ids:
                ids.append(p)
            else:
                next_at = min(next_at, max(ready_at, now + s.request_delay))
        for p in ids:
            seen[p] = now
            self._attempts[p] = self._attempts.get(p, 0) + 1
        if ids:
            if clocks:
                self._last_clocks = now
            else:
                self._last_info = now
        return ids, next_at

    def gc(self, now: float) -> None:
        """Forget old request times, expired give-ups and attempts for peers no longer
        missing (heartbeat)."""
        s = self._s
        if len(self._seen_info) > 4 * s.limits.max_ids:
            cutoff = now - s.request_interval
            self._seen_info = {p: t for p, t in self._seen_info.items() if t > cutoff}
            self._seen_clocks = {p: t for p, t in self._seen_clocks.items() if t > cutoff}
        if self._asked:
            cutoff = now - self._repeat_window()
            self._asked = {k: t for k, t in self._asked.items() if t > cutoff}
        if self._gave_up:
            self._gave_up = {p: t for p, t in self._gave_up.items() if now - t < s.peer_timeout}
        if self._attempts:
            self._attempts = {p: k for p, k in self._attempts.items() if self._reg.is_missing(p)}
        if self._clocks_since:
            held = self._reg.missing_clocks
            self._clocks_since = {p: t for p, t in self._clocks_since.items() if p in held}
