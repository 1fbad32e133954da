"""PNG plots of one or more reports (matplotlib, Agg backend, imported lazily)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _label(doc: dict[str, Any]) -> str:
    return f"{doc['backend']} {doc['peers']}x{doc['machines_per_peer']}"


def write_plots(docs: Sequence[dict[str, Any]], out: Path, prefix: str = "") -> list[Path]:
    """Latency CDF, convergence over time and traffic per peer; returns the files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []

    fig, ax = plt.subplots(figsize=(6, 4))
    for d in docs:
        cdf = d["sync"].get("latency_cdf") or []
        if cdf:
            ax.plot([p[0] for p in cdf], [p[1] for p in cdf], label=_label(d))
    ax.set_xlabel("mutation -> mirror latency (ms)")
    ax.set_ylabel("fraction of mirror updates")
    ax.set_title("state-sync latency CDF")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(out / f"{prefix}latency_cdf.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for d in docs:
        ts = d["timeseries"]
        ax.plot(
            [r["t"] for r in ts], [r["discovery_ratio"] for r in ts], label=f"{_label(d)} discovery"
        )
        ax.plot(
            [r["t"] for r in ts],
            [r["sync_ratio"] for r in ts],
            linestyle="--",
            label=f"{_label(d)} sync",
        )
    ax.set_xlabel("time (s; virtual on the model backend)")
    ax.set_ylabel("fraction")
    ax.set_ylim(0, 1.05)
    ax.set_title("discovery and sync convergence")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    paths.append(out / f"{prefix}convergence.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for d in docs:
        per = sorted(d["traffic"]["per_peer"]["bytes_list"], reverse=True)
        ax.plot(range(len(per)), [b / 1024 for b in per], label=_label(d))
    ax.set_xlabel("peer (sorted)")
    ax.set_ylabel("KiB published")
    ax.set_title("traffic per peer")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(out / f"{prefix}traffic_per_peer.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)
    return paths
