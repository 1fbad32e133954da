"""The report's ``network`` block: connectivity over time, scenario events, time to heal.

Time to heal is measured from each healing event (``kill``: the bootstrap peer died;
``join``: a partition ended) until

- ``graph_connected_s``: the live connection graph is one component again (0 when the
  event did not split it; checked after every connection change, not sampled);
- ``mirrors_converged_s``: every live peer holds every other live peer's machines at
  their owners' clocks (:class:`~._convergence.MirrorTracker`), at the first such instant
  after a mutation made after the event, so a change made after the event reached
  every live peer; when no mutation followed the event, the first such instant.

``null`` means it did not happen before the run ended.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import trio

from ..pubsub import ConnectCounters
from ._connectivity import Connectivity, is_connected, measure, node_connectivity
from ._convergence import MirrorTracker
from ._model_net import ModelNetwork


class NetEvent(enum.Enum):
    KILL = "kill"  # a peer died abruptly (heals)
    SPLIT = "split"  # a partition began
    JOIN = "join"  # the partition ended (heals)


@dataclass(slots=True)
class Heal:
    """Healing after one event; times are seconds after ``t`` (None: not yet)."""

    event: NetEvent
    t: float
    graph_connected_s: float | None = None
    mirrors_converged_s: float | None = None
    mutated: bool = False  # a mutation happened after the event
    quiet_converged_s: float | None = None  # converged before any such mutation

    def to_dict(self) -> dict[str, Any]:
        mirrors = self.mirrors_converged_s
        if mirrors is None and not self.mutated:
            mirrors = self.quiet_converged_s
        return {
            "event": self.event.value,
            "t": round(self.t, 6),
            "graph_connected_s": _round(self.graph_connected_s),
            "mirrors_converged_s": _round(mirrors),
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


class NetworkWatch:
    """Samples the live graph and times the healing of one model run.

    ``alive`` is the runner's live-peer list (read, never changed here); ``start`` the
    run's start on Trio's clock (report times are relative to it).
    """

    def __init__(
        self,
        net: ModelNetwork,
        tracker: MirrorTracker,
        alive: list[int],
        start: float,
        exact_every: int,
    ) -> None:
        self.net = net
        self.tracker = tracker
        self.alive = alive
        self.start = start
        self.exact_every = exact_every
        self.samples: list[Connectivity] = []
        self.events: list[dict[str, Any]] = []
        self.heals: list[Heal] = []
        net.link_listeners.append(self._on_link)
        tracker.on_converged = self._on_converged

    # --- inputs from the runner ------------------------------------------------

    def sample(self, now: float) -> None:
        """One point of the connectivity series (exact connectivity every
        ``exact_every``-th sample)."""
        exact = len(self.samples) % self.exact_every == 0
        self.samples.append(measure(self.net, self.alive, now - self.start, exact))

    def event(self, kind: NetEvent, now: float, peers: int) -> None:
        """Record an event about to happen to ``peers`` peers (call it before the
        change: the exact node connectivity is of the graph just before it)."""
        self.events.append(
            {
                "kind": kind.value,
                "t": round(now - self.start, 6),
                "peers": peers,
                "node_connectivity_before": node_connectivity(self.net, self.alive),
            }
        )

    def heal_from(self, kind: NetEvent, now: float) -> None:
        """Start timing the healing after ``kind`` (call it after the change)."""
        h = Heal(kind, now - self.start)
        if is_connected(self.net, self.alive):
            h.graph_connected_s = 0.0
        if self.tracker.stale == 0:
            h.quiet_converged_s = 0.0
        self.heals.append(h)

    def on_mutation(self) -> None:
        for h in self.heals:
            h.mutated = True

    def pending(self) -> bool:
        """Some healing is still being waited for."""
        return any(
            h.graph_connected_s is None or (h.mirrors_converged_s is None and h.mutated)
            for h in self.heals
        )

    # --- listeners ---------------------------------------------------------------

    def _on_link(self, p: int, q: int, up: bool) -> None:
        waiting = [h for h in self.heals if h.graph_connected_s is None]
        if up and waiting and is_connected(self.net, self.alive):
            now = self._now()
            for h in waiting:
                h.graph_connected_s = now - h.t

    def _on_converged(self, at: float) -> None:
        t = at - self.start
        for h in self.heals:
            if h.mutated and h.mirrors_converged_s is None:
                h.mirrors_converged_s = max(0.0, t - h.t)
            elif not h.mutated and h.quiet_converged_s is None:
                h.quiet_converged_s = max(0.0, t - h.t)

    def _now(self) -> float:
        return trio.current_time() - self.start

    # --- the report ---------------------------------------------------------------

    def report(
        self, managed: bool, watermarks: tuple[int, int], counters: ConnectCounters | None
    ) -> dict[str, Any]:
        """The ``network`` block of the JSON report (schema: ``NETWORK_SCHEMA``)."""
        dials = None
        if counters is not None:
            dials = {
                "attempts": counters.dial_attempts,
                "failures": counters.dial_failures,
                "trimmed": counters.trimmed,
            }
        return {
            "connections": "managed" if managed else "static",
            "watermarks": list(watermarks) if managed else None,
            "dials": dials,
            "events": self.events,
            "heal": [h.to_dict() for h in self.heals],
            "exact_connectivity_every": self.exact_every,
            "connectivity": [s.to_dict() for s in self.samples],
        }


def exact_every(peers: int) -> int:
    """Samples between exact node connectivity computations: about every N/10 samples
    (at most ~10 exact computations per 100 samples, whatever N)."""
    return max(1, math.ceil(peers / 10))


def network_rows(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Console rows of the ``network`` block (connections and time to heal)."""
    net = doc.get("network")
    if not net:
        return []
    rows: list[tuple[str, str]] = []
    series: Sequence[dict[str, Any]] = net["connectivity"]
    if series:
        last = series[-1]
        kappas = [s["node_connectivity"] for s in series if s["node_connectivity"] is not None]
        rows.append(
            (
                "connections (end)",
                f"{net['connections']}: {last['links']} links, min degree "
                f"{last['min_degree']}, {last['components']} component(s), "
                f"node connectivity {kappas[-1] if kappas else '?'}",
            )
        )
    if net["dials"]:
        d = net["dials"]
        rows.append(
            ("dials / failed / trimmed", f"{d['attempts']} / {d['failures']} / {d['trimmed']}")
        )
    for h in net["heal"]:
        g, m = h["graph_connected_s"], h["mirrors_converged_s"]
        rows.append(
            (
                f"time to heal ({h['event']} at {h['t']:.1f} s)",
                f"graph {'never' if g is None else f'{g:.2f} s'}, "
                f"mirrors {'never' if m is None else f'{m:.2f} s'}",
            )
        )
    return rows
