"""Simulation reports: the JSON document (schema in ``_schema.py``), CSV, console table."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._config import SimConfig
from ._metrics import Recorder, latency_summary, percentile, ratio
from ._network_watch import network_rows
from ._resources import Usage
from ._run_meta import run_metadata
from ._schema import SCHEMA_VERSION
from ._traffic import LinkTraffic, bandwidth, control, costs, traffic_rows


def cdf_points(vals_s: list[float], points: int = 100) -> list[list[float]]:
    """``[latency ms, fraction]`` at every percent of ``vals_s`` (seconds)."""
    v = sorted(vals_s)
    if not v:
        return []
    return [
        [round(percentile(v, q) * 1000.0, 3), q / 100.0]
        for q in (i * 100.0 / points for i in range(1, points + 1))
    ]


def _spread(vals: Sequence[int]) -> dict[str, float]:
    v = sorted(vals)
    if not v:
        return {"mean": 0.0, "p50": 0.0, "max": 0.0}
    return {
        "mean": round(sum(v) / len(v), 3),
        "p50": float(percentile([float(x) for x in v], 50)),
        "max": float(v[-1]),
    }


def quiet_row(d: Mapping[str, Any], virtual: bool, unit: str) -> str:
    """When discovery traffic ended (model: the last discovery message; libp2p: nothing
    published or delivered since, before the workload)."""
    q = d.get("quiet_s")
    if q is None:
        return "none" if virtual else "not before the warmup ended"
    return f"{q:.3f} {unit}" if virtual else f"{q:.1f} {unit}"


def dup_row(dups: int, per_mirror: float | None) -> str:
    return str(dups) if per_mirror is None else f"{dups} ({per_mirror:.2f} per mirror)"


def build_report(
    cfg: SimConfig,
    rec: Recorder,
    *,
    traffic: Sequence[LinkTraffic] | None,
    topic_metrics: Sequence[dict[str, Any]],
    counters: Sequence[Mapping[str, int]] | None = None,
    usage: Sequence[Usage],
    virtual_s: float,
    extra: dict[str, Any] | None = None,
    gossipsub: dict[str, Any] | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """Assemble the JSON report (see ``REPORT_SCHEMA``); ``counters``: the libp2p peers'
    transport counters (control messages, forwards); ``partial``: Ctrl-C ended the run
    early, the numbers cover it up to then."""
    sent = [int(m["msgs_sent"]) for m in topic_metrics]
    sent_bytes = [int(m["bytes_sent"]) for m in topic_metrics]
    rejected: dict[str, int] = {}
    by_type: dict[str, int] = {}
    for m in topic_metrics:
        for k, v in m["rejected"].items():
            rejected[k] = rejected.get(k, 0) + int(v)
        for k, v in m.get("sent_by_type", {}).items():
            by_type[k] = by_type.get(k, 0) + int(v)
    link = None
    if traffic is not None:
        link = {
            "hops": sum(t.sent for t in traffic),
            "hop_bytes": sum(t.bytes_sent for t in traffic),
            "received": sum(t.received for t in traffic),
            "duplicates": sum(t.duplicates for t in traffic),
            "lost": sum(t.lost for t in traffic),
            "repaired": sum(t.repaired for t in traffic),
            "hops_per_peer": _spread([t.sent for t in traffic]),
        }
    sync = rec.sync()
    sync["latency_cdf"] = cdf_points(rec.latencies)
    sync["per_peer"] = rec.per_peer_latency()
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "backend": cfg.backend,
        "peers": cfg.peers,
        "machines_per_peer": cfg.machines,
        "seed": cfg.seed,
        "config": cfg.to_dict(),
        "virtual_time": cfg.backend == "model",
        "partial": partial,
        "duration_s": round(virtual_s, 6),
        "discovery": rec.discovery(),
        "sync": sync,
        "traffic": {
            "messages": sum(sent),
            "bytes": sum(sent_bytes),
            "duplicates": sum(int(m["duplicates"]) for m in topic_metrics),
            "deliveries": sum(int(m["msgs_received"]) for m in topic_metrics),
            "by_type": dict(sorted(by_type.items())),
            "per_peer": {
                "messages": _spread(sent),
                "bytes": _spread(sent_bytes),
                "messages_list": sent,
                "bytes_list": sent_bytes,
                "received_bytes_list": [int(m.get("bytes_received", 0)) for m in topic_metrics],
            },
            "link": link,
            "control": control(traffic, counters),
            "rejected": dict(sorted(rejected.items())),
        },
        "bandwidth": bandwidth(topic_metrics, traffic, counters),
        "resources": {
            "cpu_s": round(sum(u.cpu_s for u in usage), 3),
            "max_rss_mb": max((u.max_rss_mb for u in usage), default=0.0),
            "wall_s": max((u.wall_s for u in usage), default=0.0),
            "procs": [
                {"cpu_s": u.cpu_s, "max_rss_mb": u.max_rss_mb, "wall_s": u.wall_s} for u in usage
            ],
        },
        "gossipsub": gossipsub,
        "timeseries": [
            {
                "t": s.t,
                "alive": s.alive,
                "discovery_ratio": ratio(s.discovered, s.expected) if s.expected else 0.0,
                "sync_ratio": ratio(s.sync_done, s.sync_expected),
                "messages": s.messages,
                "bytes": s.bytes,
                "received": s.received,
            }
            for s in rec.samples
        ],
        "run": run_metadata(),
    }
    doc["cost"] = costs(doc["traffic"])
    disc = doc["discovery"]
    pairs = disc["expected_pairs"]
    dups = doc["traffic"]["duplicates"]
    disc["duplicates_per_mirror"] = round(dups / pairs, 3) if pairs else None
    disc["quiet_s"] = None  # set by the runner
    if extra:
        doc.update(extra)
    return doc


def deterministic_view(doc: dict[str, Any]) -> dict[str, Any]:
    """The report without machine- and time-dependent fields (resources, run metadata),
    for comparisons."""
    out = dict(doc)
    out.pop("resources", None)
    out.pop("run", None)
    return out


def write_json(doc: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def write_csv(doc: dict[str, Any], path: Path) -> None:
    """The time series: one row per sample."""
    cols = ["t", "alive", "discovery_ratio", "sync_ratio", "messages", "bytes", "received"]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for row in doc["timeseries"]:
            w.writerow([row[c] for c in cols])


def percent(done: int, total: int) -> str:
    """``done / total`` as a percentage with 2 decimals, floored: a miss never shows as
    100.00 % (20721/20722 is 99.99 %)."""
    if total <= 0 or done >= total:
        return "100.00 %"
    return f"{min(math.floor(done / total * 10000) / 100, 99.99):.2f} %"


def summary_rows(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(metric, value) pairs for the console table."""
    d, s, tr, r = doc["discovery"], doc["sync"], doc["traffic"], doc["resources"]
    lat = s["latency_ms"]
    unit = "virtual s" if doc.get("virtual_time") else "s"
    rows = []
    if doc.get("partial"):
        rows.append(
            ("PARTIAL", f"interrupted (Ctrl-C) at {doc['duration_s']:.1f} {unit}: the run so far")
        )
    rows += [
        (
            "scenario",
            f"{doc['backend']}: {doc['peers']} peers x {doc['machines_per_peer']} "
            f"machines, seed {doc['seed']}, {doc['duration_s']:.1f} {unit}",
        ),
        (
            "discovery complete",
            f"{percent(d['pairs'], d['expected_pairs'])} "
            f"({d['pairs']}/{d['expected_pairs']} mirrors)",
        ),
        ("time to full discovery", "never" if d["time_s"] is None else f"{d['time_s']:.3f} {unit}"),
        ("network quiet at", quiet_row(d, doc.get("virtual_time", False), unit)),
        ("mutations", str(s["mutations"])),
        (
            "mirrors converged",
            f"{percent(s['deliveries'], s['expected'])} ({s['deliveries']}/{s['expected']})",
        ),
        (
            "sync latency ms p50/p90/p99/max",
            f"{lat['p50']:.1f} / {lat['p90']:.1f} / {lat['p99']:.1f} / {lat['max']:.1f}",
        ),
        ("per-peer sync p99 ms p50/p90/max", per_peer_row(s.get("per_peer"))),
        ("messages / bytes published", f"{tr['messages']} / {tr['bytes']}"),
        (
            "per peer msgs mean/max",
            f"{tr['per_peer']['messages']['mean']:.1f} / {tr['per_peer']['messages']['max']:.0f}",
        ),
        ("duplicate records", dup_row(tr["duplicates"], d.get("duplicates_per_mirror"))),
    ]
    if "bandwidth" in doc:  # schema 2
        rows += traffic_rows(doc)
    if tr.get("link"):
        ln = tr["link"]
        rows.append(
            (
                "link hops / dups / lost / repaired",
                f"{ln['hops']} / {ln['duplicates']} / {ln['lost']} / {ln['repaired']}",
            )
        )
    g = doc.get("gossipsub")
    if g:
        rows.append(
            (
                "raw gossipsub latency ms p50/p99",
                f"{g['latency_ms']['p50']:.1f} / {g['latency_ms']['p99']:.1f} "
                f"({g['probes']} probes, {g['delivered_ratio'] * 100:.1f} % delivered)",
            )
        )
    rows += network_rows(doc)  # issue 11: connections and time to heal (model)
    if doc.get("workload_start_s") is not None:
        rows.append(("mutations started at", f"{doc['workload_start_s']:.1f} s"))
    rows.append(
        (
            "CPU s / max RSS MB / wall s",
            f"{r['cpu_s']:.1f} / {r['max_rss_mb']:.0f} / {r['wall_s']:.1f}",
        )
    )
    if doc.get("run"):
        rows.append(("run", run_row(doc["run"])))
    warning = saturation_warning(doc)
    if warning:
        rows.append(("warning", warning))
    return rows


def per_peer_row(pp: dict[str, Any] | None) -> str:
    """The spread of the peers' p99 sync latencies and the worst receiver."""
    w = pp["worst"] if pp else None
    if pp is None or w is None:
        return "-"
    p = pp["p99_ms"]
    return (
        f"{p['p50']:.1f} / {p['p90']:.1f} / {p['max']:.1f} (worst: peer {w['peer']}, "
        f"p99 {w['p99_ms']:.1f}, max {w['max_ms']:.1f} ms)"
    )


def run_row(run: dict[str, Any]) -> str:
    """Date, code version and commit, interpreter, py-libp2p and CPUs of a run."""
    commit = (run["commit"] or "no commit")[:10]
    return (
        f"{run['date']}, asyncmachine {run['version']} ({commit}), Python {run['python']}, "
        f"py-libp2p {run['libp2p'] or '-'}, {run['cpus']} CPUs"
    )


def write_network_graph(topic: Any, path: Path) -> None:
    """The network as ``topic``'s peer sees it (peers, their links records, machines and
    states): GraphML for a ``.graphml`` path, node-link JSON otherwise."""
    from ..graph import graph_from_topic, write_graphml, write_json

    g = graph_from_topic(topic)
    if path.suffix.lower() == ".graphml":
        write_graphml(g, path)
    else:
        write_json(g, path)


def saturation_warning(doc: dict[str, Any]) -> str | None:
    """A hint when py-libp2p itself could not keep up (raw gossipsub probes lost or
    seconds late): the sync numbers then measure the overloaded hosts, not the protocol."""
    g = doc.get("gossipsub")
    if not g or not g.get("probes"):
        return None
    lost = g["delivered_ratio"] < 0.99
    slow = g["latency_ms"]["p50"] > 1000.0
    if not (lost or slow):
        return None
    cfg = doc.get("config", {})
    return (
        f"py-libp2p saturated (raw gossipsub: {g['delivered_ratio'] * 100:.1f} % delivered, "
        f"p50 {g['latency_ms']['p50']:.0f} ms); lower --mutation-rate "
        f"({cfg.get('mutation_rate')}) and --probe-rate ({cfg.get('probe_rate')}), "
        f"or run fewer peers per --procs"
    )


def print_report(doc: dict[str, Any], console: Any) -> None:
    """Render the rich summary table."""
    from rich.table import Table

    title = "asyncmachine sim (PARTIAL: interrupted)" if doc.get("partial") else "asyncmachine sim"
    table = Table(title=title, show_header=True)
    table.add_column("metric", style="bold")
    table.add_column("value")
    for k, v in summary_rows(doc):
        table.add_row(k, v)
    console.print(table)


__all__ = [
    "build_report",
    "cdf_points",
    "deterministic_view",
    "latency_summary",
    "print_report",
    "write_csv",
    "write_json",
    "write_network_graph",
]
