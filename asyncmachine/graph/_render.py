"""Pictures (PNG, SVG, anything matplotlib saves) of the network and of one machine.

matplotlib is optional (``pip install 'asyncmachine[plot]'``); it is imported on
first use with the Agg backend.
"""

from __future__ import annotations

import os
from typing import Any

import networkx as nx

from ._build import CHILD_OF, CONNECTED_TO, HOSTED_BY, MACHINE, PEER, RELATIONS
from ._export import node_label
from ._query import find_machine, states_of

PathLike = str | os.PathLike[str]

_REL_COLORS = {"require": "tab:blue", "add": "tab:green", "remove": "tab:red", "after": "tab:gray"}
_NET_COLORS = {HOSTED_BY: "tab:gray", CONNECTED_TO: "tab:blue", CHILD_OF: "tab:orange"}


class RenderError(RuntimeError):
    """Rendering is not possible (matplotlib missing, nothing to draw, unknown machine)."""


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise RenderError("rendering needs matplotlib: pip install 'asyncmachine[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: PathLike) -> None:
    try:
        fig.savefig(os.fspath(path), dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)


def _draw_edges(
    plt: Any,
    ax: Any,
    sub: nx.MultiDiGraph,
    pos: dict[Any, Any],
    colors: dict[str, str],
    node_size: int,
) -> None:
    for kind, color in colors.items():
        edges = [(u, v) for u, v, k in sub.edges(keys=True) if k == kind]
        if not edges:
            continue
        nx.draw_networkx_edges(
            sub,
            pos,
            edgelist=edges,
            ax=ax,
            edge_color=color,
            arrows=True,
            arrowstyle="-" if kind == CONNECTED_TO else "-|>",
            arrowsize=12,
            connectionstyle="arc3,rad=0.08",
            node_size=node_size,
            style="dashed" if kind in ("after", HOSTED_BY) else "solid",
        )
    handles = [plt.Line2D([0], [0], color=c, label=k) for k, c in colors.items()]
    ax.legend(handles=handles, loc="lower left", fontsize=7, frameon=False)


def render_network(g: nx.MultiDiGraph, path: PathLike, *, title: str = "") -> None:
    """Draw peers and machines with hosted_by, connected_to and child_of edges."""
    keep = [n for n, k in g.nodes(data="kind") if k in (PEER, MACHINE)]
    if not keep:
        raise RenderError("nothing to draw: the graph has no peers or machines")
    sub = g.subgraph(keep)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 7))
    pos = nx.spring_layout(sub.to_undirected(as_view=True), seed=7)
    peers = [n for n in keep if g.nodes[n]["kind"] == PEER]
    machs = [n for n in keep if g.nodes[n]["kind"] == MACHINE]
    nx.draw_networkx_nodes(
        sub, pos, nodelist=peers, node_shape="s", node_color="lightsteelblue", node_size=1100, ax=ax
    )
    nx.draw_networkx_nodes(sub, pos, nodelist=machs, node_color="navajowhite", node_size=800, ax=ax)
    _draw_edges(plt, ax, sub, pos, _NET_COLORS, 1000)
    nx.draw_networkx_labels(sub, pos, {n: node_label(g, n) for n in keep}, font_size=7, ax=ax)
    ax.set_title(title or f"{len(peers)} peers, {len(machs)} machines")
    ax.set_axis_off()
    _save(plt, fig, path)


def render_machine(g: nx.MultiDiGraph, machine: str, path: PathLike, *, title: str = "") -> None:
    """Draw one machine's states and relations; active states are highlighted."""
    if machine not in g:
        try:
            machine = find_machine(g, machine)
        except KeyError as e:
            raise RenderError(str(e.args[0])) from None
    states = states_of(g, machine)
    sub = g.subgraph(states)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 7))
    pos = nx.circular_layout(sub) if len(states) > 1 else {s: (0.0, 0.0) for s in states}
    active = [s for s in states if g.nodes[s].get("active")]
    idle = [s for s in states if not g.nodes[s].get("active")]
    nx.draw_networkx_nodes(
        sub, pos, nodelist=idle, node_color="whitesmoke", edgecolors="gray", node_size=1400, ax=ax
    )
    nx.draw_networkx_nodes(
        sub,
        pos,
        nodelist=active,
        node_color="limegreen",
        edgecolors="darkgreen",
        linewidths=2.5,
        node_size=1400,
        ax=ax,
    )
    _draw_edges(plt, ax, sub, pos, {r: _REL_COLORS[r] for r in RELATIONS}, 1400)
    labels = {s: f"{g.nodes[s]['name']}\n{g.nodes[s].get('tick', 0)}" for s in states}
    nx.draw_networkx_labels(sub, pos, labels, font_size=8, ax=ax)
    d = g.nodes[machine]
    ax.set_title(title or f"{d.get('id', machine)}: {len(active)} of {len(states)} active")
    ax.set_axis_off()
    _save(plt, fig, path)
