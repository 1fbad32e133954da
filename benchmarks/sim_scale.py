"""Scale measurements of the model backend: per-mirror memory, per-delivery CPU.

    .venv/bin/python benchmarks/sim_scale.py --peers 50 100 --duration 5

For each N it runs the default scenario under tracemalloc (peak traced bytes)
and prints one JSON line: wall/CPU seconds, mirrors, deliveries (messages
received by Topics), CPU per delivery, and the marginal bytes per mirror
between consecutive sizes (includes per-peer overhead, so an upper bound).
"""

from __future__ import annotations

import argparse
import json
import tracemalloc
from collections.abc import Callable

from asyncmachine.simulator import SimConfig
from asyncmachine.simulator._runner_model import run_model


def _breakdown(cfg: SimConfig) -> Callable[[float, float, str], None]:
    """A progress callback that prints traced bytes per mirror by file, once."""
    done = [False]
    mirrors = cfg.peers * (cfg.peers - 1) * cfg.machines

    def progress(now: float, _total: float, _phase: str) -> None:
        # the last sample before the mutations end: everything discovered by then
        if done[0] or now < cfg.duration - 1.5 * cfg.sample_interval:
            return
        done[0] = True
        snap = tracemalloc.take_snapshot()
        stats = snap.statistics("filename")
        total = sum(st.size for st in stats)
        rows = {
            st.traceback[0].filename.split("site-packages/")[-1].split("/work/main/")[-1]: round(
                st.size / mirrors, 1
            )
            for st in stats[:12]
        }
        print(
            json.dumps(
                {
                    "peers": cfg.peers,
                    "mirrors": mirrors,
                    "traced_bytes_per_mirror": round(total / mirrors, 1),
                    "by_file": rows,
                }
            ),
            flush=True,
        )

    return progress


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--peers", type=int, nargs="+", default=[50, 100])
    p.add_argument("--machines", type=int, default=3)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--no-trace", action="store_true", help="skip tracemalloc (faster)")
    p.add_argument(
        "--breakdown",
        action="store_true",
        help="print traced bytes per mirror by source file near the end",
    )
    a = p.parse_args()
    prev: tuple[int, int] | None = None
    for n in a.peers:
        if not a.no_trace:
            tracemalloc.start()
        cfg = SimConfig(peers=n, machines=a.machines, duration=a.duration, settle=600.0)
        d = run_model(cfg, _breakdown(cfg) if a.breakdown and not a.no_trace else None)
        peak = tracemalloc.get_traced_memory()[1] if not a.no_trace else 0
        tracemalloc.stop()
        mirrors = int(d["discovery"]["expected_pairs"])
        deliveries = int(d["traffic"]["deliveries"])
        row = {
            "peers": n,
            "mirrors": mirrors,
            "deliveries": deliveries,
            "cpu_s": d["resources"]["cpu_s"],
            "wall_s": d["resources"]["wall_s"],
            "max_rss_mb": d["resources"]["max_rss_mb"],
            "cpu_ms_per_delivery": round(1000 * d["resources"]["cpu_s"] / max(1, deliveries), 4),
            "traced_peak_mb": round(peak / 2**20, 1),
            "discovery_complete": d["discovery"]["complete_ratio"],
            "sync_converged": d["sync"]["converged_ratio"],
        }
        if prev is not None and peak:
            row["bytes_per_mirror"] = round((peak - prev[1]) / max(1, mirrors - prev[0]))
        prev = (mirrors, peak)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
