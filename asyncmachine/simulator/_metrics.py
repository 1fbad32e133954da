"""Discovery and sync measurement shared by both backends (fed by Topic events).

Peers are numbered ``0..capacity-1``; machine ``i`` of peer ``p`` is global
machine ``p * machines + i``. Feed events in time order (the model does so
naturally; the libp2p runner merges the shards' logs by time).

- discovery: a (receiver, machine) pair is discovered while the receiver holds
  a mirror of it; ``expected`` is set by the runner from the live population.
- sync: a mutation of machine ``g`` at ``t0`` producing clock sum ``S`` is
  expected at every receiver that had discovered ``g`` at ``t0``; it converged
  there when that receiver's mirror first shows a clock sum ``>= S``
  (coalesced pushes count for every mutation they cover); latency is the
  receive time minus ``t0``.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Any


def percentile(sorted_vals: list[float], q: float) -> float:
    """Nearest-rank percentile of ascending values (0 for none)."""
    if not sorted_vals:
        return 0.0
    k = max(0, min(len(sorted_vals) - 1, math.ceil(q / 100.0 * len(sorted_vals)) - 1))
    return sorted_vals[k]


def ratio(done: int, total: int) -> float:
    """``done / total`` to 6 decimals, never rounded up to 1.0 while ``done < total``
    (20721/20722 is 0.999951, not 1.0); 1.0 when nothing was expected."""
    if total <= 0 or done >= total:
        return 1.0
    return min(math.floor(done / total * 1e6) / 1e6, 0.999999)


def latency_summary(vals_s: list[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean in milliseconds, rounded to 0.001 ms."""
    v = sorted(vals_s)
    out = {
        "p50": percentile(v, 50),
        "p90": percentile(v, 90),
        "p99": percentile(v, 99),
        "max": v[-1] if v else 0.0,
        "mean": sum(v) / len(v) if v else 0.0,
    }
    return {k: round(x * 1000.0, 3) for k, x in out.items()}


@dataclass(slots=True)
class Sample:
    """One row of the time series."""

    t: float
    alive: int
    discovered: int
    expected: int
    sync_done: int
    sync_expected: int
    messages: int
    bytes: int
    received: int = 0
    """Messages that reached peers so far: on the model every copy on a link (duplicates
    too), on libp2p every message a peer's transport got (gossipsub drops duplicates)."""


@dataclass
class Recorder:
    """Streaming discovery/sync bookkeeping (arrays: ~12 bytes per pair)."""

    capacity: int
    machines: int
    start: float = 0.0
    expected: int = 0
    discovered: int = 0
    full_discovery_at: float | None = None
    t90_at: float | None = None
    """First time 90 % of the expected pairs were held (not sampled: the t=0 sample with
    nothing expected yet used to count as complete)."""
    sync_expected: int = 0
    latencies: list[float] = field(default_factory=list)
    receivers: array[int] = field(default_factory=lambda: array("i"))
    """The receiving peer of each of ``latencies`` (per-peer latency, worst receiver)."""
    samples: list[Sample] = field(default_factory=list)
    mutations: int = 0
    frozen: bool = False
    """Set at the end of a run: later events (teardown removals) are ignored."""

    def __post_init__(self) -> None:
        n = self.capacity * self.capacity * self.machines
        self._mm = self.capacity * self.machines
        self._ptr = array("i", bytes(4 * n))
        self._disc_at = array("d", [math.inf]) * n
        self._disc_count = array("i", bytes(4 * self._mm))
        self._muts: list[list[tuple[float, int]]] = [[] for _ in range(self._mm)]

    def set_expected(self, expected: int, now: float) -> None:
        self.expected = expected
        self._check_full(now)

    def _check_full(self, now: float) -> None:
        if not self.expected:
            return
        if self.t90_at is None and self.discovered >= 0.9 * self.expected:
            self.t90_at = now - self.start
        if self.full_discovery_at is None and self.discovered >= self.expected:
            self.full_discovery_at = now - self.start

    def on_discovered(self, receiver: int, owner: int, index: int, at: float) -> None:
        if self.frozen:
            return
        g = owner * self.machines + index
        k = receiver * self._mm + g
        if self._disc_at[k] != math.inf:
            return
        self._disc_at[k] = at
        lst = self._muts[g]
        # mutations before discovery are not expected here
        ptr = 0
        while ptr < len(lst) and lst[ptr][0] < at:
            ptr += 1
        self._ptr[k] = ptr
        self._disc_count[g] += 1
        self.discovered += 1
        self._check_full(at)

    def on_removed(self, receiver: int, owner: int, index: int) -> None:
        if self.frozen:
            return
        g = owner * self.machines + index
        k = receiver * self._mm + g
        if self._disc_at[k] == math.inf:
            return
        # changes still on their way to the removed mirror can't be judged (a mirror
        # made again later starts from the owner's clock of then)
        self.sync_expected -= len(self._muts[g]) - self._ptr[k]
        self._disc_at[k] = math.inf
        self._disc_count[g] -= 1
        self.discovered -= 1

    def on_mutation(self, owner: int, index: int, t0: float, clock_sum: int) -> None:
        if self.frozen:
            return
        g = owner * self.machines + index
        self._muts[g].append((t0, clock_sum))
        self.sync_expected += self._disc_count[g]
        self.mutations += 1

    def on_clock(self, receiver: int, owner: int, index: int, at: float, clock_sum: int) -> None:
        if self.frozen:
            return
        g = owner * self.machines + index
        k = receiver * self._mm + g
        if self._disc_at[k] == math.inf:
            return
        lst = self._muts[g]
        ptr = self._ptr[k]
        n = len(lst)
        lat = self.latencies
        while ptr < n and lst[ptr][1] <= clock_sum:
            lat.append(at - lst[ptr][0])
            self.receivers.append(receiver)
            ptr += 1
        self._ptr[k] = ptr

    # --- a peer that is gone (issue 11: node deaths; also churn leaves) -----------------

    def forget_peer(self, idx: int) -> None:
        """Peer ``idx`` left or died: drop its mirrors and the mirrors of its machines,
        with the deliveries still expected in either (a change in flight to or from a
        dead peer can never be judged; counting it kept a run with a dead peer below
        100 % forever, and its machines' mirrors held elsewhere counted as discovered
        pairs beyond the expected ones until the peer timeout)."""
        if self.frozen:
            return
        m, mm = self.machines, self._mm
        own = range(idx * m, idx * m + m)
        pairs = [(idx, g) for g in range(mm)]
        pairs += [(r, g) for r in range(self.capacity) if r != idx for g in own]
        for r, g in pairs:
            k = r * mm + g
            if self._disc_at[k] == math.inf:
                continue
            self.sync_expected -= len(self._muts[g]) - self._ptr[k]
            self._disc_at[k] = math.inf
            self._disc_count[g] -= 1
            self.discovered -= 1

    def sample(
        self,
        t: float,
        alive: int,
        messages: int,
        nbytes: int,
        received: int = 0,
    ) -> None:
        self.samples.append(
            Sample(
                round(t - self.start, 6),
                alive,
                self.discovered,
                self.expected,
                len(self.latencies),
                self.sync_expected,
                messages,
                nbytes,
                received,
            )
        )

    def pair_bytes(self) -> int:
        """Bytes of the per-pair bookkeeping (reported, excluded from per-mirror cost)."""
        return self._ptr.itemsize * len(self._ptr) + self._disc_at.itemsize * len(self._disc_at)

    def discovery(self) -> dict[str, Any]:
        t, t90 = self.full_discovery_at, self.t90_at
        return {
            "complete_ratio": ratio(self.discovered, self.expected),
            "time_s": round(t, 6) if t is not None else None,
            "t90_s": round(t90, 6) if t90 is not None else None,
            "pairs": self.discovered,
            "expected_pairs": self.expected,
        }

    def per_peer_latency(self) -> dict[str, Any]:
        """Sync latency per receiving peer: the distribution of the peers' p99s and the
        worst receiver (highest p99), in milliseconds. A peer whose mirrors lag behind
        hides in the global percentiles; gossipsub studies report it separately."""
        by_peer: dict[int, list[float]] = {}
        for r, lat in zip(self.receivers, self.latencies, strict=True):
            by_peer.setdefault(r, []).append(lat)
        p99s = {r: percentile(sorted(v), 99) for r, v in by_peer.items()}
        if not p99s:
            return {"peers": 0, "p99_ms": latency_summary([]), "worst": None}
        worst = max(p99s, key=lambda r: (p99s[r], -r))
        w = sorted(by_peer[worst])
        return {
            "peers": len(p99s),
            "p99_ms": latency_summary(list(p99s.values())),
            "worst": {
                "peer": worst,
                "deliveries": len(w),
                "p50_ms": round(percentile(w, 50) * 1000.0, 3),
                "p99_ms": round(p99s[worst] * 1000.0, 3),
                "max_ms": round(w[-1] * 1000.0, 3),
            },
        }

    def sync(self) -> dict[str, Any]:
        done = len(self.latencies)
        exp = self.sync_expected
        return {
            "mutations": self.mutations,
            "deliveries": done,
            "expected": exp,
            "converged_ratio": ratio(done, exp),
            "latency_ms": latency_summary(self.latencies),
        }
