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

# Measured peak RSS (this module's formula, fitted to `asyncmachine sim --machines M
# --peers N --duration 2` on CPython 3.11, 2-core VM; docs/simulator.md "Memory"):
PROCESS_BYTES = 56 * MIB
"""An interpreter with the simulator, Trio and py-libp2p imported."""
PEER_PAIR_BYTES = 950
"""Per (peer, known peer): remote peer and registry entries, rendezvous ring, rate limits,
the model's per-message seen bytes."""
MIRROR_BYTES = 520
"""Per (peer, remote machine) mirror, on top of its peer pair."""
RECORDER_PAIR_BYTES = 12
"""The recorder's per-(receiver, machine) slots over every peer that ever existed."""
LIBP2P_HOST_BYTES = 15 * MIB
"""One py-libp2p host with its Topic (830 MB peak for 50 hosts in one shard)."""


def estimate_memory(cfg: SimConfig) -> int:
    """Peak bytes a run of ``cfg`` needs, summed over its processes.

    Every peer mirrors every other peer's machines, so memory grows with N²:
    N(N-1) peer pairs, N(N-1)M mirrors, and the recorder's capacity²·M slots (capacity
    counts the peers churn adds). On libp2p each shard adds its hosts; the parent
    merges the shards' event logs into its own recorder.
    """
    n, m = cfg.peers, cfg.machines
    joins = math.ceil(cfg.churn * (cfg.duration + cfg.settle) / 60.0) + 1 if cfg.churn else 0
    capacity = n + joins
    pairs = n * (n - 1)
    recorder = RECORDER_PAIR_BYTES * capacity * capacity * m
    topics = pairs * (PEER_PAIR_BYTES + m * MIRROR_BYTES)
    if cfg.backend == "model":
        return PROCESS_BYTES + recorder + topics
    shards = cfg.procs * PROCESS_BYTES + n * LIBP2P_HOST_BYTES + topics
    return shards + PROCESS_BYTES + recorder


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
