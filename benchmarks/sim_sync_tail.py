"""Sync vs raw gossipsub latency tail of the libp2p simulator scenario, over several seeds.

Runs ``asyncmachine sim --backend libp2p`` (the project's default scenario: 20 peers x 3
machines over 2 processes, 2 mutations/s and 2 raw gossipsub probes/s network-wide, 60 s)
once per seed, as a subprocess, and prints per seed the sync and raw p50/p90/p99 (both
measured in the same run, on the same hosts) and their ratios, then the median p99 and
p50 ratios over the seeds (issue 16's target: median p99 ratio <= 1.2).

By default the workload starts with the hosts: latency counts from the first mutation,
discovery burst included (users mutate whenever they like), and each raw probe leaves a
mutating host right after its mutation (``--probe-timing paired``: both latencies sample
the same moments of the start-up burst; ``independent`` probes sample their own).
``--quiet-start`` waits for full discovery and a quiet network first (the simulator's
``--warmup 300``), the figure ``benchmarks/pubsub_sync.py`` measures.

Usage::

    .venv/bin/python benchmarks/sim_sync_tail.py                       # 20 peers, seeds 1-5
    .venv/bin/python benchmarks/sim_sync_tail.py --peers 50 --seeds 1 2 3 4 5
    .venv/bin/python benchmarks/sim_sync_tail.py --quiet-start --seeds 1 3
    .venv/bin/python benchmarks/sim_sync_tail.py --stages            # + stage breakdown

Writes (merging by scenario) benchmarks/results/sim_sync_tail.json; ``--keep DIR`` keeps
every run's report.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "sim_sync_tail.json"


def scenario_key(a: argparse.Namespace) -> str:
    """One label per scenario: results of other scenarios in the file are kept."""
    start = "quiet-start" if a.quiet_start else "from-start"
    rates = f"m{a.mutation_rate:g}/p{a.probe_rate:g} {a.probe_timing}"
    return f"{a.peers}x{a.machines} procs={a.procs} {rates} {a.duration:g}s {start}"


def sim_argv(a: argparse.Namespace, seed: int, out: Path) -> list[str]:
    argv = [
        sys.executable, "-m", "asyncmachine", "sim", "--backend", "libp2p",
        "--peers", str(a.peers), "--machines", str(a.machines), "--procs", str(a.procs),
        "--duration", f"{a.duration:g}", "--mutation-rate", f"{a.mutation_rate:g}",
        "--probe-rate", f"{a.probe_rate:g}", "--probe-timing", a.probe_timing,
        "--seed", str(seed), "--quiet", "--json", str(out),
    ]  # fmt: skip
    if a.quiet_start:
        argv += ["--warmup", "300"]
    if a.stages:
        argv.append("--stages")
    return argv


def summarize(seed: int, doc: dict[str, Any]) -> dict[str, Any]:
    s, g = doc["sync"]["latency_ms"], doc["gossipsub"]["latency_ms"]
    row: dict[str, Any] = {
        "seed": seed,
        "sync_ms": {q: s[q] for q in ("p50", "p90", "p99")},
        "raw_ms": {q: g[q] for q in ("p50", "p90", "p99")},
        "p50_ratio": round(s["p50"] / g["p50"], 3) if g["p50"] else None,
        "p99_ratio": round(s["p99"] / g["p99"], 3) if g["p99"] else None,
        "deliveries": doc["sync"]["deliveries"],
        "converged_ratio": doc["sync"]["converged_ratio"],
        "probes_delivered_ratio": doc["gossipsub"]["delivered_ratio"],
        "discovery_s": doc["discovery"]["time_s"],
        "workload_start_s": doc["workload_start_s"],
        "wall_s": doc["resources"]["wall_s"],
    }
    if "stages" in doc:
        row["stages"] = doc["stages"]
    return row


def line(r: dict[str, Any]) -> str:
    s, g = r["sync_ms"], r["raw_ms"]
    return (
        f"seed {r['seed']}: sync {s['p50']:.1f}/{s['p90']:.0f}/{s['p99']:.0f} ms  "
        f"raw {g['p50']:.1f}/{g['p90']:.0f}/{g['p99']:.0f} ms  "
        f"p99 x{r['p99_ratio']}  p50 x{r['p50_ratio']}  "
        f"(converged {100 * r['converged_ratio']:.1f} %, "
        f"probes {100 * r['probes_delivered_ratio']:.1f} %, "
        f"start {r['workload_start_s']} s, wall {r['wall_s']:.0f} s)"
    )


def run(a: argparse.Namespace) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    keep = Path(a.keep) if a.keep else None
    with tempfile.TemporaryDirectory(prefix="sim-tail-") as tmp:
        for n, seed in enumerate(a.seeds, 1):
            out = (keep or Path(tmp)) / f"p{a.peers}-s{seed}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            print(f"[{n}/{len(a.seeds)}] seed {seed} ...", end=" ", flush=True)
            t = time.monotonic()
            proc = subprocess.run(sim_argv(a, seed, out), capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"failed (rc={proc.returncode})\n{proc.stderr[-2000:]}", flush=True)
                continue
            rows.append(summarize(seed, json.loads(out.read_text())))
            print(f"{time.monotonic() - t:.0f} s", flush=True)
            print("  " + line(rows[-1]), flush=True)
    p99 = [r["p99_ratio"] for r in rows if r["p99_ratio"] is not None]
    p50 = [r["p50_ratio"] for r in rows if r["p50_ratio"] is not None]
    return {
        "command": " ".join(sim_argv(a, 0, Path("OUT.json"))[2:]).replace("--seed 0", "--seed S"),
        "seeds": rows,
        "median_p99_ratio": round(statistics.median(p99), 3) if p99 else None,
        "median_p50_ratio": round(statistics.median(p50), 3) if p50 else None,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--peers", type=int, default=20)
    p.add_argument("--machines", type=int, default=3)
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--mutation-rate", type=float, default=2.0)
    p.add_argument("--probe-rate", type=float, default=2.0)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument(
        "--probe-timing",
        choices=["paired", "independent"],
        default="paired",
        help="raw probes with the mutations (default) or at independent Poisson instants",
    )
    p.add_argument(
        "--quiet-start",
        action="store_true",
        help="start the workload on a discovered, quiet network (sim --warmup 300)",
    )
    p.add_argument("--stages", action="store_true", help="add the sim's stage breakdown")
    p.add_argument("--keep", default="", help="keep each run's report in this directory")
    p.add_argument("--json", default=str(RESULTS), help=f"results file (default {RESULTS})")
    a = p.parse_args()
    res = run(a)
    print(
        f"median ratio over {len(res['seeds'])} seeds: p99 x{res['median_p99_ratio']}, "
        f"p50 x{res['median_p50_ratio']}"
    )
    path = Path(a.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc[scenario_key(a)] = res
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")
    return 0 if res["seeds"] else 1


if __name__ == "__main__":
    sys.exit(main())
