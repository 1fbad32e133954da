"""``asyncmachine bench``: a matrix of scenarios and a markdown report with plots."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ._config import SimConfig
from ._plots import write_plots
from ._report import saturation_warning, write_json

MATRICES: dict[str, list[dict[str, Any]]] = {
    "default": [
        # py-libp2p costs ~1.5-2 ms CPU per RPC hop: keep the offered load within what
        # the hosts sustain on 2 cores (mutations and raw probes, each per second)
        {"backend": "libp2p", "peers": 10},
        {"backend": "libp2p", "peers": 25, "mutation_rate": 1.0, "probe_rate": 1.0},
        {"backend": "libp2p", "peers": 50, "mutation_rate": 0.5, "probe_rate": 0.5},
        {"backend": "model", "peers": 100},
        {"backend": "model", "peers": 1000, "duration": 10.0, "settle": 600.0},
    ],
    "quick": [
        {"backend": "libp2p", "peers": 6, "duration": 5.0},
        {"backend": "model", "peers": 20, "duration": 10.0},
        {"backend": "model", "peers": 50, "duration": 10.0},
    ],
    "model": [{"backend": "model", "peers": n, "duration": 20.0} for n in (10, 25, 50, 100, 200)],
}
"""Named matrices; every entry overrides :class:`SimConfig` defaults."""

_COLS = [
    "backend",
    "peers",
    "time",
    "disc %",
    "disc s",
    "sync %",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "worst peer p99 ms",
    "msgs",
    "KiB",
    "dup rec",
    "dup/deliv",
    "repair %",
    "recv KiB/peer p50/max",
    "gs p50/p99 ms",
    "CPU s",
    "RSS MB",
    "wall s",
]


def row(d: dict[str, Any]) -> list[str]:
    """One markdown table row of a report."""
    lat, g = d["sync"]["latency_ms"], d.get("gossipsub")
    t = d["discovery"]["time_s"]
    worst = d["sync"].get("per_peer", {}).get("worst")  # .get: schema-1 reports
    cost = d.get("cost", {})
    dup, rep = cost.get("duplicates_per_delivery"), cost.get("repair_share")
    recv = d.get("bandwidth", {}).get("received", {}).get("bytes")
    return [
        d["backend"],
        str(d["peers"]),
        "virtual" if d.get("virtual_time") else "wall",
        f"{d['discovery']['complete_ratio'] * 100:.1f}",
        "-" if t is None else f"{t:.2f}",
        f"{d['sync']['converged_ratio'] * 100:.1f}",
        f"{lat['p50']:.0f}",
        f"{lat['p90']:.0f}",
        f"{lat['p99']:.0f}",
        f"{lat['max']:.0f}",
        "-" if worst is None else f"{worst['p99_ms']:.0f} (peer {worst['peer']})",
        str(d["traffic"]["messages"]),
        f"{d['traffic']['bytes'] / 1024:.0f}",
        str(d["traffic"]["duplicates"]),
        "-" if dup is None else f"{dup:.3f}",
        "-" if rep is None else f"{rep * 100:.2f}",
        "-" if recv is None else f"{recv['p50'] / 1024:.1f}/{recv['max'] / 1024:.1f}",
        f"{g['latency_ms']['p50']:.0f}/{g['latency_ms']['p99']:.0f}" if g else "-",
        f"{d['resources']['cpu_s']:.1f}",
        f"{d['resources']['max_rss_mb']:.0f}",
        f"{d['resources']['wall_s']:.1f}",
    ]


def markdown(docs: list[dict[str, Any]], plots: list[Path]) -> str:
    """The bench report."""
    run = docs[0].get("run") if docs else None
    lines = [
        "# asyncmachine bench",
        "",
        "Model latencies are virtual time (link delays and protocol timers only); "
        "libp2p latencies are wall clock on loopback, including CPU: the two are never "
        "plotted on one axis. `dup/deliv`: duplicate records per record delivered (what "
        "churn costs); `repair %`: gossip repairs (IHAVE/IWANT) per first delivery on the "
        "model (what loss costs); `worst peer p99`: the receiver with the highest p99.",
        "",
    ]
    if run is not None:
        lines += [
            f"Run {run['date']}: asyncmachine {run['version']} "
            f"(commit {run['commit'] or 'unknown'}), Python {run['python']}, "
            f"py-libp2p {run['libp2p'] or '-'}, {run['platform']}, {run['cpus']} CPUs; "
            f"`{run['command']}`",
            "",
        ]
    lines += [
        "| " + " | ".join(_COLS) + " |",
        "|" + "---|" * len(_COLS),
    ]
    lines += ["| " + " | ".join(row(d)) + " |" for d in docs]
    lines += ["", "Scenarios (JSON per run next to this file):", ""]
    for i, d in enumerate(docs):
        c = d["config"]
        rates = f"--mutation-rate {c['mutation_rate']:g}"
        if c["backend"] == "libp2p":
            rates += f" --probe-rate {c['probe_rate']:g}"
        lines.append(
            f"- run {i}: `asyncmachine sim --backend {c['backend']} --peers {c['peers']} "
            f"--machines {c['machines']} --seed {c['seed']} --duration {c['duration']:g} "
            f"--settle {c['settle']:g} {rates} --procs {c['procs']}`"
        )
        warning = saturation_warning(d)
        if warning:
            lines.append(f"  - **warning**: {warning}")
    lines += [""] + [f"![{p.stem}]({p.name})" for p in plots] + [""]
    return "\n".join(lines)


def run_bench(
    matrix: str, out: Path, *, quiet: bool = False, procs: int = 2, seed: int = 1
) -> Path:
    """Run every scenario of ``matrix``; write JSON per run, plots and bench.md."""
    from . import run

    out.mkdir(parents=True, exist_ok=True)
    cfgs = [SimConfig(**{"seed": seed, "procs": procs, **e}) for e in MATRICES[matrix]]
    docs: list[dict[str, Any]] = []
    for i, cfg in enumerate(cfgs):
        if not quiet:
            print(f"[{i + 1}/{len(cfgs)}] {cfg.backend} {cfg.peers} peers ...", file=sys.stderr)
        doc = run(cfg)
        write_json(doc, out / f"run{i}-{cfg.backend}-{cfg.peers}.json")
        if doc["partial"]:  # Ctrl-C: keep the partial run's JSON, skip the rest
            raise KeyboardInterrupt
        docs.append(doc)
    plots = write_plots(docs, out)
    path = out / "bench.md"
    path.write_text(markdown(docs, plots))
    (out / "bench.json").write_text(json.dumps([row(d) for d in docs]))
    return path
