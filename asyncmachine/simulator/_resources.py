"""CPU, memory and wall time of this process (and of child shards)."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass


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
