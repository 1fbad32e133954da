"""Pictures (PNG, SVG, anything matplotlib saves) of the network and of one machine.

matplotlib is optional (``pip install 'asyncmachine[plot]'``); it is imported on
first use with the Agg backend. Every label is drawn in its own box (so text never
spills out of a node), the axes grow until every label fits inside the figure, and
the legend sits beside the drawing and lists only the edge kinds drawn.
"""

from __future__ import annotations

import math
import os
import textwrap
from typing import Any

import networkx as nx

from ._build import CHILD_OF, CONNECTED_TO, HOSTED_BY, MACHINE, PEER, RELATIONS
from ._query import find_machine, states_of
from ._roles import PeerRole, peer_role, short_peer_id

PathLike = str | os.PathLike[str]

_REL_COLORS = {"require": "tab:blue", "add": "tab:green", "remove": "tab:red", "after": "tab:gray"}
_NET_COLORS = {CONNECTED_TO: "tab:blue", HOSTED_BY: "tab:gray", CHILD_OF: "tab:orange"}
_BOX = {
    PeerRole.PEER: {"boxstyle": "square,pad=0.5", "fc": "lightsteelblue", "ec": "steelblue"},
    PeerRole.OBSERVER: {"boxstyle": "square,pad=0.5", "fc": "white", "ec": "gray", "ls": "--"},
    MACHINE: {"boxstyle": "round,pad=0.4", "fc": "navajowhite", "ec": "darkorange"},
}
_ACTIVE_BOX = {"boxstyle": "round,pad=0.4", "fc": "palegreen", "ec": "darkgreen", "lw": 2.0}
_IDLE_BOX = {"boxstyle": "round,pad=0.4", "fc": "whitesmoke", "ec": "gray"}
_EDGE_MARGIN = 2500
"""node_size given to networkx for edges: arrow heads stop outside the label boxes."""
_MAX_ACTIVE_LINES = 3
_WRAP = 26


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


def _save(fig: Any, path: PathLike) -> None:
    plt = _pyplot()
    try:
        fig.savefig(os.fspath(path), dpi=110)
    finally:
        plt.close(fig)


def _new_figure(n_nodes: int) -> tuple[Any, Any]:
    """A figure sized for ``n_nodes``; the right fifth is kept free for the legend."""
    plt = _pyplot()
    scale = min(2.0, max(1.0, (n_nodes / 12) ** 0.5))
    fig = plt.figure(figsize=(10 * scale, 7 * scale))
    ax = fig.add_axes((0.02, 0.02, 0.78, 0.9))
    ax.set_axis_off()
    return fig, ax


def _draw_edges(
    sub: nx.MultiDiGraph, pos: dict[Any, Any], ax: Any, colors: dict[str, str]
) -> list[str]:
    """Draw the edges of each kind in ``colors``; returns the kinds drawn."""
    drawn: list[str] = []
    for kind, color in colors.items():
        edges = [(u, v) for u, v, k in sub.edges(keys=True) if k == kind]
        if kind == CONNECTED_TO:  # reported from both ends: one line per pair
            edges = list(dict.fromkeys(tuple(sorted(e)) for e in edges))
        if not edges:
            continue
        nx.draw_networkx_edges(
            sub,
            pos,
            edgelist=edges,
            ax=ax,
            edge_color=color,
            arrows=True,
            arrowstyle="-" if kind in (CONNECTED_TO, HOSTED_BY) else "-|>",
            arrowsize=14,
            connectionstyle="arc3,rad=0" if kind == CONNECTED_TO else "arc3,rad=0.08",
            node_size=_EDGE_MARGIN,
            style="dashed" if kind in ("after", HOSTED_BY) else "solid",
        )
        drawn.append(kind)
    return drawn


def _legend(fig: Any, drawn: list[str], colors: dict[str, str]) -> None:
    """A legend of the drawn edge kinds, right of the axes (never over a label)."""
    if not drawn:
        return
    plt = _pyplot()
    handles = [
        plt.Line2D(
            [0], [0], color=colors[k], ls="--" if k in ("after", HOSTED_BY) else "-", label=k
        )
        for k in drawn
    ]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.81, 0.92), fontsize=9)


def _label(ax: Any, xy: Any, text: str, box: dict[str, Any], size: int = 8) -> None:
    ax.text(
        xy[0],
        xy[1],
        text,
        ha="center",
        va="center",
        fontsize=size,
        bbox=box,
        zorder=3,
        clip_on=False,
    )


def fit_texts(fig: Any, ax: Any, *, rounds: int = 4) -> None:
    """Grow the axes' data limits until every text of ``ax`` (with its box) lies inside
    them, so no label is cut off at the figure's edge. Text keeps its size in points
    while the data scale changes, hence a few rounds."""
    for _ in range(rounds):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        inv = ax.transData.inverted()
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        nx0, nx1, ny0, ny1 = x0, x1, y0, y1
        for t in ax.texts:
            patch = t.get_bbox_patch()
            bb = (patch or t).get_window_extent(renderer)
            (a, b), (c, d) = inv.transform([(bb.x0, bb.y0), (bb.x1, bb.y1)])
            nx0, nx1, ny0, ny1 = min(nx0, a), max(nx1, c), min(ny0, b), max(ny1, d)
        if (nx0, nx1, ny0, ny1) == (x0, x1, y0, y1):
            return
        padx, pady = 0.02 * (nx1 - nx0), 0.02 * (ny1 - ny0)
        ax.set_xlim(nx0 - padx, nx1 + padx)
        ax.set_ylim(ny0 - pady, ny1 + pady)


def plural(n: int, word: str) -> str:
    """``1 peer``, ``2 peers``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def _machine_text(d: dict[str, Any]) -> str:
    active = " ".join(str(s) for s in d.get("active", []))
    lines = [f"{d.get('id', '?')}  t{d.get('tick', 0)}"]
    wrapped = textwrap.wrap(active, _WRAP) or ["(no active state)"]
    if len(wrapped) > _MAX_ACTIVE_LINES:
        wrapped = [*wrapped[: _MAX_ACTIVE_LINES - 1], wrapped[_MAX_ACTIVE_LINES - 1] + " …"]
    return "\n".join(lines + wrapped)


def _free_direction(
    pos: dict[str, tuple[float, float]], node: str, neighbours: list[str]
) -> tuple[float, float]:
    """The middle and width (radians) of the widest angle around ``node`` that no edge to
    a neighbour crosses: where its machines go."""
    x, y = pos[node]
    angles = sorted(math.atan2(pos[v][1] - y, pos[v][0] - x) for v in neighbours)
    if not angles:
        return math.pi / 2, 2 * math.pi
    gaps = [
        (angles[(i + 1) % len(angles)] - a) % (2 * math.pi) or 2 * math.pi
        for i, a in enumerate(angles)
    ]
    i = max(range(len(gaps)), key=gaps.__getitem__)
    return angles[i] + gaps[i] / 2, gaps[i]


def _network_layout(
    sub: nx.MultiDiGraph, peers: list[str], machs: list[str]
) -> dict[str, tuple[float, float]]:
    """Peers by a spring layout of their connections; each peer's machines on an arc
    around it, in the widest angle its connections leave free, so machine labels sit off
    the peer links. Machines without a drawn host join the spring layout."""
    hosted: dict[str, list[str]] = {p: [] for p in peers}
    loose: list[str] = []
    for m in machs:
        host = next((v for _, v, k in sub.out_edges(m, keys=True) if k == HOSTED_BY), None)
        hosted.get(host or "", loose).append(m)
    core = sub.subgraph(peers + loose).to_undirected(as_view=True)
    n = max(1, len(core))
    pos: dict[str, tuple[float, float]] = {
        k: (float(v[0]), float(v[1]))
        for k, v in nx.spring_layout(core, seed=7, k=2.5 / n**0.5).items()
    }
    radius = 0.9 / n**0.5
    for p, ms in hosted.items():
        base, gap = _free_direction(pos, p, [v for v in core.neighbors(p) if v != p])
        step = min(math.pi / 3, gap / (len(ms) + 1))
        x, y = pos[p]
        for i, m in enumerate(ms):
            a = base + (i - (len(ms) - 1) / 2) * step
            pos[m] = (x + radius * math.cos(a), y + radius * math.sin(a))
    return pos


def network_figure(g: nx.MultiDiGraph, *, title: str = "") -> Any:
    """A matplotlib Figure of peers (squares; the observer dashed) and machines (with
    their tick and active states), joined by connected_to, hosted_by and child_of edges.
    Peers known only from links records (:attr:`PeerRole.LINK_ONLY`) are left out."""
    roles = {n: peer_role(g, n) for n, k in g.nodes(data="kind") if k == PEER}
    peers = sorted(n for n, r in roles.items() if r != PeerRole.LINK_ONLY)
    machs = sorted(n for n, k in g.nodes(data="kind") if k == MACHINE)
    if not peers and not machs:
        raise RenderError("nothing to draw: the graph has no peers or machines")
    sub = g.subgraph(peers + machs)
    fig, ax = _new_figure(len(sub))
    pos = _network_layout(sub, peers, machs)
    drawn = _draw_edges(sub, pos, ax, _NET_COLORS)
    for p in peers:
        pid = short_peer_id(str(g.nodes[p].get("id", p)))
        _label(ax, pos[p], f"{roles[p].value}\n{pid}", _BOX[roles[p]], size=9)
    for m in machs:
        _label(ax, pos[m], _machine_text(g.nodes[m]), _BOX[MACHINE])
    _legend(fig, drawn, _NET_COLORS)
    n_peers = sum(1 for p in peers if roles[p] == PeerRole.PEER)
    head = title or f"{plural(n_peers, 'peer')}, {plural(len(machs), 'machine')}"
    extra = []
    if any(r == PeerRole.OBSERVER for r in roles.values()):
        extra.append("observer dashed")
    hidden = sum(1 for r in roles.values() if r == PeerRole.LINK_ONLY)
    if hidden:
        extra.append(f"{hidden} link-only peer{'s' if hidden > 1 else ''} not drawn")
    ax.set_title(head + (f" ({', '.join(extra)})" if extra else ""))
    ax.margins(0.08)
    fit_texts(fig, ax)
    return fig


def render_network(g: nx.MultiDiGraph, path: PathLike, *, title: str = "") -> None:
    """Save :func:`network_figure` to ``path`` (the format follows its extension)."""
    _save(network_figure(g, title=title), path)


def machine_figure(g: nx.MultiDiGraph, machine: str, *, title: str = "") -> Any:
    """A matplotlib Figure of one machine's states (active ones green, with their tick)
    and the relations between them."""
    if machine not in g:
        try:
            machine = find_machine(g, machine)
        except KeyError as e:
            raise RenderError(str(e.args[0])) from None
    states = states_of(g, machine)
    sub = g.subgraph(states)
    fig, ax = _new_figure(len(states))
    pos = nx.circular_layout(sub) if len(states) > 1 else {s: (0.0, 0.0) for s in states}
    drawn = _draw_edges(sub, pos, ax, {r: _REL_COLORS[r] for r in RELATIONS})
    active = 0
    for s in states:
        d = g.nodes[s]
        active += bool(d.get("active"))
        box = _ACTIVE_BOX if d.get("active") else _IDLE_BOX
        _label(ax, pos[s], f"{d['name']}\n{d.get('tick', 0)}", box, size=9)
    _legend(fig, drawn, _REL_COLORS)
    d = g.nodes[machine]
    ax.set_title(title or f"{d.get('id', machine)}: {active} of {len(states)} active (green)")
    ax.margins(0.1)
    fit_texts(fig, ax)
    return fig


def render_machine(g: nx.MultiDiGraph, machine: str, path: PathLike, *, title: str = "") -> None:
    """Save :func:`machine_figure` to ``path``."""
    _save(machine_figure(g, machine, title=title), path)


__all__ = [
    "RenderError",
    "fit_texts",
    "machine_figure",
    "network_figure",
    "render_machine",
    "render_network",
]
