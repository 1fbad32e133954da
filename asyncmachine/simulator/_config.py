"""A validated simulation scenario (what ``asyncmachine sim`` flags build)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Backend = Literal["model", "libp2p"]
Topology = Literal["managed", "random", "line", "full"]
ProbeTiming = Literal["paired", "independent"]

BACKENDS: tuple[str, ...] = ("model", "libp2p")
TOPOLOGIES: tuple[str, ...] = ("managed", "random", "line", "full")
PROBE_TIMINGS: tuple[str, ...] = ("paired", "independent")


class ConfigError(ValueError):
    """A scenario value is out of range; the message names the flag."""


def default_procs() -> int:
    """Number of usable cores (the libp2p backend's default shard count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class SimConfig:
    """One scenario. Times are seconds (virtual seconds on the model backend).

    ``mutation_rate`` is mutations per second over the whole network (Poisson),
    ``churn`` is peers leaving (and as many new ones joining) per minute,
    ``loss`` is the per-link drop probability, ``latency_ms``/``jitter_ms`` the
    one-way per-link delay (model backend; libp2p runs on real loopback TCP).
    On libp2p, mutations and raw gossipsub probes (``probe_rate`` per second over the
    network) start as soon as every host started its Topic (``warmup`` 0, the default:
    users mutate whenever they like, so latency counts from the first mutation, discovery
    burst included); with ``warmup`` > 0 they start once discovery is complete and the
    network is quiet, or ``warmup`` seconds after the peers started (the quiet-network
    benchmark). The model backend mutates from the start (its discovery takes virtual
    milliseconds). ``probe_timing`` ``paired`` (default): a probe leaves the mutating host
    with a mutation (each mutation with probability ``probe_rate / mutation_rate``; just
    before the update's push or 5 ms after the mutation, at random), so raw and sync
    latency sample the same moments of a network whose load changes (its start);
    ``independent``: probes at their own Poisson instants.

    ``topology`` ``managed``: peers start knowing only peer 0 (the bootstrap peer) and
    connection managers with watermarks ``conn_low``/``conn_high`` build the graph; the
    other kinds are fixed graphs. Scenarios (model): ``kill_bootstrap_at`` kills peer 0
    abruptly at that time (no bye); ``partition`` seconds long, from ``partition_at``
    (default a quarter of ``duration``), two random halves cannot reach each other.
    """

    backend: Backend = "model"
    peers: int = 20
    machines: int = 3
    seed: int = 1
    duration: float = 60.0
    settle: float = 30.0
    mutation_rate: float = 2.0
    topology: Topology = "managed"
    degree: int = 4
    churn: float = 0.0
    loss: float = 0.0
    latency_ms: float = 20.0
    jitter_ms: float = 5.0
    mesh_degree: int = 6
    heartbeat: float = 1.0
    procs: int = field(default_factory=default_procs)
    sample_interval: float = 1.0
    probe_rate: float = 2.0
    probe_timing: ProbeTiming = "paired"
    warmup: float = 0.0
    conn_low: int = 4
    conn_high: int = 12
    kill_bootstrap_at: float | None = None
    stages: bool = False
    """libp2p: log every outgoing work run and mirror clock change, and add the stage
    breakdown of the slowest updates to the report (see ``_stages``)."""
    partition: float = 0.0
    partition_at: float | None = None

    def __post_init__(self) -> None:
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ConfigError(msg)

        need(self.backend in BACKENDS, f"--backend must be one of {', '.join(BACKENDS)}")
        need(self.topology in TOPOLOGIES, f"--topology must be one of {', '.join(TOPOLOGIES)}")
        need(2 <= self.peers <= 100_000, f"--peers must be 2..100000, got {self.peers}")
        need(1 <= self.machines <= 64, f"--machines must be 1..64, got {self.machines}")
        need(self.duration > 0, f"--duration must be > 0, got {self.duration}")
        need(self.settle >= 0, f"--settle must be >= 0, got {self.settle}")
        need(self.mutation_rate >= 0, f"--mutation-rate must be >= 0, got {self.mutation_rate}")
        need(1 <= self.degree <= 1000, f"--degree must be 1..1000, got {self.degree}")
        need(self.churn >= 0, f"--churn must be >= 0, got {self.churn}")
        need(0 <= self.loss < 1, f"--loss must be in [0, 1), got {self.loss}")
        need(self.latency_ms >= 0, f"--latency must be >= 0 ms, got {self.latency_ms}")
        need(self.jitter_ms >= 0, f"--jitter must be >= 0 ms, got {self.jitter_ms}")
        need(1 <= self.mesh_degree <= 64, f"--mesh-degree must be 1..64, got {self.mesh_degree}")
        need(self.heartbeat > 0, f"--heartbeat must be > 0, got {self.heartbeat}")
        need(1 <= self.procs <= 256, f"--procs must be 1..256, got {self.procs}")
        need(self.sample_interval > 0, "--sample-interval must be > 0")
        need(self.probe_rate >= 0, f"--probe-rate must be >= 0, got {self.probe_rate}")
        need(self.warmup >= 0, f"--warmup must be >= 0, got {self.warmup}")
        need(
            1 <= self.conn_low <= self.conn_high <= 1000,
            f"--connections needs 1 <= LOW <= HIGH <= 1000, got {self.conn_low}:{self.conn_high}",
        )
        self._check_scenarios(need)
        if self.backend == "libp2p":
            need(self.peers <= 500, "--peers must be <= 500 on the libp2p backend")
            need(self.procs <= self.peers, "--procs must be <= --peers")
            need(self.churn == 0, "--churn is only supported on the model backend")
            need(
                self.probe_timing in PROBE_TIMINGS,
                f"--probe-timing must be one of {', '.join(PROBE_TIMINGS)}",
            )
            need(
                self.probe_timing == "independent" or self.probe_rate <= self.mutation_rate,
                f"--probe-timing paired sends probes with mutations: --probe-rate "
                f"({self.probe_rate:g}) must be <= --mutation-rate ({self.mutation_rate:g})",
            )
            need(self.loss == 0, "--loss is only supported on the model backend")
            need(
                (self.conn_low, self.conn_high) == (4, 12),
                "--connections is only supported on the model backend",
            )
        else:
            need(not self.stages, "--stages is only supported on the libp2p backend")

    def _check_scenarios(self, need: Callable[[bool, str], None]) -> None:
        kill, start = self.kill_bootstrap_at, self.partition_start
        scenario = kill is not None or self.partition > 0
        need(
            not scenario or self.backend == "model",
            "--kill-bootstrap and --partition are only supported on the model backend",
        )
        if kill is not None:
            need(self.peers >= 3, "--kill-bootstrap needs --peers >= 3")
            need(
                0 <= kill < self.duration,
                f"--kill-bootstrap AT must be in [0, --duration), got {kill}",
            )
        need(self.partition >= 0, f"--partition must be >= 0, got {self.partition}")
        if start is not None:
            need(self.peers >= 4, "--partition needs --peers >= 4")
            need(start >= 0, f"--partition-at must be >= 0, got {start}")
            need(
                start + self.partition < self.duration,
                f"--partition: the halves must be joined before the mutations end "
                f"(--partition-at {start:g} + {self.partition:g} s >= --duration "
                f"{self.duration:g}); raise --duration",
            )

    @property
    def partition_start(self) -> float | None:
        """When the partition begins (None without one)."""
        if self.partition <= 0:
            return None
        return self.partition_at if self.partition_at is not None else self.duration / 4

    @property
    def churn_interval(self) -> float:
        """Seconds between churn events (inf without churn)."""
        return 60.0 / self.churn if self.churn > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SimConfig:
        return cls(**d)
