"""CPU, memory and wall time of this process (and of child shards), and the memory a
run will need (checked before it starts)."""

from __future__ import annotations

import math
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from ._config import SimConfig


@dataclass(slots=True)
class Usage:
    cpu_s: float
    max_rss_mb: float
    wall_s: float


class Meter:
    """Measures this process from construction to :meth:`stop`."""

    def __init__(self) -> None:
        self._cpu0 = time.process_time()
        self._wall0 = time.perf_counter()

    def stop(self) -> Usage:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return Usage(
            cpu_s=round(time.process_time() - self._cpu0, 3),
            max_rss_mb=round(ru.ru_maxrss / 1024.0, 1),
            wall_s=round(time.perf_counter() - self._wall0, 3),
        )


MIB = 1024 * 1024

# Peak RSS fitted to measured runs (2-core VM, CPython 3.11; docs/simulator.md, "Memory"):
# model `--peers 50..1000 --machines 1..8`, libp2p `--procs 2 --peers 4..100`.
PROCESS_BYTES = 56 * MIB
"""An interpreter with the simulator and Trio imported."""
PEER_PAIR_BYTES = 950
"""Model, per (peer, known peer): remote peer and registry entries, rendezvous ring,
rate limits, the network's per-message seen bytes."""
MIRROR_BYTES = 520
"""Model, per (peer, remote machine) mirror, on top of its peer pair."""
RECORDER_PAIR_BYTES = 12
"""The recorder's per-(receiver, machine) slots over every peer that ever existed."""
SHARD_BYTES = 92 * MIB
"""A libp2p shard process with py-libp2p imported."""
LIBP2P_HOST_BYTES = 1 * MIB
"""One py-libp2p host with its Topic, before it knows other peers."""
LIBP2P_PEER_PAIR_BYTES = 140 * 1024
"""libp2p, per (host, known peer), mirrors included: py-libp2p's per-peer state dominates
(100 peers over 2 shards: 830 MB peak in the larger shard)."""


def estimate_memory(cfg: SimConfig) -> int:
    """Peak bytes a run of ``cfg`` needs, summed over its processes.

    Every peer mirrors every other peer's machines, so memory grows with N²: N(N-1)
    peer pairs, N(N-1)M mirrors, and the recorder's capacity²·M slots (capacity counts
    the peers churn adds). On libp2p the shards hold the hosts and the parent merges
    their event logs into its own recorder.
    """
    n, m = cfg.peers, cfg.machines
    joins = math.ceil(cfg.churn * (cfg.duration + cfg.settle) / 60.0) + 1 if cfg.churn else 0
    capacity = n + joins
    pairs = n * (n - 1)
    parent = PROCESS_BYTES + RECORDER_PAIR_BYTES * capacity * capacity * m
    if cfg.backend == "model":
        return parent + pairs * (PEER_PAIR_BYTES + m * MIRROR_BYTES)
    shards = cfg.procs * SHARD_BYTES + n * LIBP2P_HOST_BYTES + pairs * LIBP2P_PEER_PAIR_BYTES
    return parent + shards


@dataclass(frozen=True, slots=True)
class HostMemory:
    """``/proc/meminfo``: what the kernel could give a new process, and the total."""

    available: int
    total: int


def host_memory(meminfo: Path = Path("/proc/meminfo")) -> HostMemory | None:
    """MemAvailable and MemTotal in bytes (None where /proc/meminfo is missing)."""
    try:
        text = meminfo.read_text()
    except OSError:
        return None
    vals: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            vals[key] = int(parts[0]) * 1024  # kB
    if "MemTotal" not in vals:
        return None
    return HostMemory(vals.get("MemAvailable", vals["MemTotal"]), vals["MemTotal"])
