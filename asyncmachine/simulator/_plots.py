"""PNG plots of one or more reports (matplotlib, Agg backend, imported lazily).

Model runs measure virtual seconds (link delays and protocol timers only), libp2p runs
wall-clock seconds (CPU included): the two never share a time axis. Reports of both
kinds get one latency CDF and one convergence plot per kind (``..._model.png``,
``..._libp2p.png``); reports of one kind keep the plain names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]


def _label(doc: dict[str, Any]) -> str:
    return f"{doc['backend']} {doc['peers']}x{doc['machines_per_peer']}"


def _unit(virtual: bool) -> str:
    return "virtual" if virtual else "wall-clock"


def _groups(docs: Sequence[dict[str, Any]]) -> list[tuple[str, bool, list[dict[str, Any]]]]:
    """(file suffix, virtual time, reports) per time base."""
    kinds = [(True, "model"), (False, "libp2p")]
    groups = [(v, name, [d for d in docs if bool(d.get("virtual_time")) == v]) for v, name in kinds]
    groups = [g for g in groups if g[2]]
    if len(groups) == 1:
        return [("", groups[0][0], groups[0][2])]
    return [(f"_{name}", v, ds) for v, name, ds in groups]


def _save(plt: Any, fig: Any, ax: Any, path: Path, paths: list[Path]) -> None:
    ax.grid(True, alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    paths.append(path)


def _minor_label(x: float, _pos: int) -> str:
    """Label minor log ticks at 2x and 5x a power of ten (plain numbers, not 2x10^0)."""
    lead = f"{x:.0e}"[0]
    return f"{x:g}" if lead in "25" else ""


def _latency_cdf(plt: Any, docs: list[dict[str, Any]], virtual: bool) -> Any:
    """Sync latency CDFs (solid) with the raw gossipsub probe CDF (dashed, libp2p) of the
    same run in the same colour; log x axis (the tail spans orders of magnitude)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, d in enumerate(docs):
        color = _COLORS[i % len(_COLORS)]
        cdf = d["sync"].get("latency_cdf") or []
        if cdf:
            ax.plot([p[0] for p in cdf], [p[1] for p in cdf], color=color, label=_label(d))
        g = d.get("gossipsub") or {}
        raw = g.get("latency_cdf") or []
        if raw:
            ax.plot(
                [p[0] for p in raw],
                [p[1] for p in raw],
                color=color,
                ls="--",
                label=f"{_label(d)} raw gossipsub",
            )
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:g}"))
    ax.xaxis.set_minor_formatter(plt.FuncFormatter(_minor_label))
    ax.set_xlabel(f"latency, ms ({_unit(virtual)}, log scale)")
    ax.set_ylabel("fraction of deliveries")
    ax.set_ylim(0, 1.02)
    ax.set_title("mutation -> mirror latency CDF" + ("" if virtual else " vs raw gossipsub"))
    return fig, ax


def _convergence(plt: Any, docs: list[dict[str, Any]], virtual: bool) -> Any:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, d in enumerate(docs):
        color = _COLORS[i % len(_COLORS)]
        ts = d["timeseries"]
        t = [r["t"] for r in ts]
        ax.plot(t, [r["discovery_ratio"] for r in ts], color=color, label=f"{_label(d)} discovery")
        ax.plot(t, [r["sync_ratio"] for r in ts], color=color, ls="--", label=f"{_label(d)} sync")
    ax.set_xlabel(f"time, s ({_unit(virtual)})")
    ax.set_ylabel("fraction")
    ax.set_ylim(0, 1.05)
    ax.set_title("discovery and sync convergence")
    return fig, ax


def _traffic(plt: Any, docs: Sequence[dict[str, Any]]) -> Any:
    """KiB received (solid) and published (dashed) per peer, each sorted descending."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, d in enumerate(docs):
        color = _COLORS[i % len(_COLORS)]
        per = d["traffic"]["per_peer"]
        got = sorted(per.get("received_bytes_list", []), reverse=True)
        pub = sorted(per["bytes_list"], reverse=True)
        ax.plot(range(len(got)), [b / 1024 for b in got], color=color, label=f"{_label(d)} recv")
        ax.plot(
            range(len(pub)), [b / 1024 for b in pub], color=color, ls="--", label=f"{_label(d)} pub"
        )
    ax.set_xlabel("peer (sorted)")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_ylabel("KiB (Topic messages)")
    ax.set_title("traffic per peer: received and published")
    return fig, ax


def _mesh(plt: Any, docs: Sequence[dict[str, Any]]) -> Any | None:
    """Gossipsub mesh size over time (median, and min-max band) where sampled (libp2p)."""
    series = [(d, (d.get("gossipsub") or {}).get("mesh_size") or []) for d in docs]
    series = [(d, m) for d, m in series if m]
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, (d, m) in enumerate(series):
        color = _COLORS[i % len(_COLORS)]
        t = [r[0] for r in m]
        ax.fill_between(t, [r[1] for r in m], [r[3] for r in m], color=color, alpha=0.2)
        ax.plot(t, [r[2] for r in m], color=color, label=f"{_label(d)} median (band: min-max)")
    ax.set_xlabel("time, s (wall-clock)")
    ax.set_ylabel("mesh peers per peer")
    ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_title("gossipsub mesh size")
    return fig, ax


def write_plots(docs: Sequence[dict[str, Any]], out: Path, prefix: str = "") -> list[Path]:
    """Latency CDFs and convergence (per time base), traffic per peer and, for libp2p,
    the mesh size over time; returns the files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for suffix, virtual, group in _groups(docs):
        fig, ax = _latency_cdf(plt, group, virtual)
        _save(plt, fig, ax, out / f"{prefix}latency_cdf{suffix}.png", paths)
        fig, ax = _convergence(plt, group, virtual)
        _save(plt, fig, ax, out / f"{prefix}convergence{suffix}.png", paths)
    fig, ax = _traffic(plt, docs)
    _save(plt, fig, ax, out / f"{prefix}traffic_per_peer.png", paths)
    mesh = _mesh(plt, docs)
    if mesh is not None:
        _save(plt, mesh[0], mesh[1], out / f"{prefix}mesh_size.png", paths)
    return paths
