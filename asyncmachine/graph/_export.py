"""Exports: node-link JSON (with loading), GraphML, DOT and Mermaid text.

DOT and Mermaid are written by hand (no pydot / graphviz needed).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

import networkx as nx

from ._build import EDGE_KINDS, FORMAT, FORMAT_VERSION, MACHINE, NODE_KINDS, PEER, STATE
from ._roles import peer_role, short_peer_id

PathLike = str | os.PathLike[str]

_NODE_KEY = "node"
"""Key holding the node id in node-link JSON (``id`` is a node attribute here)."""


class SnapshotError(ValueError):
    """A graph snapshot that cannot be loaded (bad JSON, wrong format, bad nodes/edges)."""


# --- JSON --------------------------------------------------------------------


def to_node_link(g: nx.MultiDiGraph) -> dict[str, Any]:
    """Node-link data (``nodes`` with ``node`` ids, ``edges`` with ``key``)."""
    data: dict[str, Any] = nx.node_link_data(g, name=_NODE_KEY, edges="edges")
    data["graph"] = {"format": FORMAT, "version": FORMAT_VERSION, **data.get("graph", {})}
    return data


def dumps_json(g: nx.MultiDiGraph, *, indent: int | None = 2) -> str:
    return json.dumps(to_node_link(g), indent=indent, sort_keys=False)


def write_json(g: nx.MultiDiGraph, path: PathLike) -> None:
    """Write a node-link JSON snapshot."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(dumps_json(g))
        f.write("\n")


def _fail(msg: str) -> SnapshotError:
    return SnapshotError(f"not a valid asyncmachine graph snapshot: {msg}")


def from_node_link(data: Any) -> nx.MultiDiGraph:
    """A graph from :func:`to_node_link` data; raises SnapshotError on anything else."""
    if not isinstance(data, dict):
        raise _fail(f"expected a JSON object, got {type(data).__name__}")
    meta = data.get("graph")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _fail(f"missing graph.format {FORMAT!r}")
    if meta.get("version") != FORMAT_VERSION:
        raise _fail(f"unsupported version {meta.get('version')!r} (expected {FORMAT_VERSION})")
    nodes, edges = data.get("nodes"), data.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise _fail("'nodes' and 'edges' must be lists")
    ids: set[str] = set()
    for i, n in enumerate(nodes):
        if not isinstance(n, dict) or not isinstance(n.get(_NODE_KEY), str):
            raise _fail(f"node #{i} has no string {_NODE_KEY!r}")
        if n.get("kind") not in NODE_KINDS:
            raise _fail(f"node {n[_NODE_KEY]!r} has unknown kind {n.get('kind')!r}")
        ids.add(n[_NODE_KEY])
    for i, e in enumerate(edges):
        if not isinstance(e, dict):
            raise _fail(f"edge #{i} is not an object")
        if e.get("source") not in ids or e.get("target") not in ids:
            raise _fail(f"edge #{i} links unknown nodes {e.get('source')!r} -> {e.get('target')!r}")
        if e.get("key") not in EDGE_KINDS or e.get("kind") != e.get("key"):
            raise _fail(f"edge #{i} has unknown kind {e.get('kind')!r}")
    try:
        g = nx.node_link_graph(
            {**data, "directed": True, "multigraph": True},
            directed=True,
            multigraph=True,
            name=_NODE_KEY,
            edges="edges",
        )
    except (KeyError, TypeError, ValueError, nx.NetworkXError) as e:
        raise _fail(str(e)) from None
    if not isinstance(g, nx.MultiDiGraph):
        raise _fail("not a directed multigraph")
    return g


def loads_json(text: str) -> nx.MultiDiGraph:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise _fail(f"bad JSON ({e})") from None
    return from_node_link(data)


def read_json(path: PathLike) -> nx.MultiDiGraph:
    """Load a snapshot written by :func:`write_json` (SnapshotError, OSError)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise _fail("not UTF-8 text") from None
    return loads_json(text)


# --- GraphML -------------------------------------------------------------------


def _scalar(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, list | tuple | set | dict):
        return json.dumps(sorted(v) if isinstance(v, set) else v)
    return v


def for_graphml(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy whose list and None attributes are strings (JSON text; None -> "")."""
    out = nx.MultiDiGraph()
    out.graph.update({k: _scalar(v) for k, v in g.graph.items()})
    out.add_nodes_from((n, {k: _scalar(v) for k, v in d.items()}) for n, d in g.nodes(data=True))
    out.add_edges_from(
        (u, v, k, {a: _scalar(x) for a, x in d.items()})
        for u, v, k, d in g.edges(keys=True, data=True)
    )
    return out


def write_graphml(g: nx.MultiDiGraph, path: PathLike) -> None:
    """Write GraphML (lists as JSON strings, see :func:`for_graphml`)."""
    nx.write_graphml(for_graphml(g), os.fspath(path))


LIST_ATTRS = ("tags", "addrs", "active")


def read_graphml(path: PathLike) -> nx.MultiDiGraph:
    """Read :func:`write_graphml` output back, decoding list attributes."""
    g = nx.read_graphml(os.fspath(path), force_multigraph=True)
    for _, d in g.nodes(data=True):
        for a in LIST_ATTRS:
            if isinstance(d.get(a), str) and d[a].startswith("["):
                d[a] = json.loads(d[a])
    return nx.MultiDiGraph(g)


# --- DOT -----------------------------------------------------------------------


def _dot_str(v: Any) -> str:
    if isinstance(v, bool):
        s = "true" if v else "false"
    elif isinstance(v, list | tuple):
        s = ",".join(str(x) for x in v)
    else:
        s = "" if v is None else str(v)
    s = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


def _dot_attrs(attrs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_dot_str(v)}" for k, v in attrs.items())


def node_label(g: nx.MultiDiGraph, n: str) -> str:
    """A short human label of a node."""
    d = g.nodes[n]
    kind = d.get("kind")
    if kind == PEER:
        role = peer_role(g, n)
        return f"{role.value} {short_peer_id(str(d.get('id', n)))}"
    if kind == MACHINE:
        return f"{d.get('id', n)} t{d.get('tick', 0)}"
    if kind == STATE:
        return f"{d.get('name', n)}:{d.get('tick', 0)}"
    return str(n)


_DOT_STYLE = {
    PEER: {"shape": "box3d"},
    MACHINE: {"shape": "box", "style": "rounded"},
    STATE: {"shape": "ellipse"},
}
_DOT_EDGE_STYLE = {
    "require": {"color": "blue"},
    "add": {"color": "darkgreen"},
    "remove": {"color": "red"},
    "after": {"color": "gray", "style": "dashed"},
    "child_of": {"style": "bold"},
    "hosted_by": {"style": "dotted"},
    "connected_to": {"dir": "none"},
}


def to_dot(g: nx.MultiDiGraph, *, name: str = "asyncmachine") -> str:
    """Graphviz DOT text with every attribute plus labels and styles."""
    lines = [f"digraph {_dot_str(name)} {{", '  graph [rankdir="LR"];']
    for n, d in g.nodes(data=True):
        attrs: dict[str, Any] = {"label": node_label(g, n), **_DOT_STYLE.get(d.get("kind"), {})}
        if d.get("kind") == STATE and d.get("active"):
            attrs.update(style="filled", fillcolor="palegreen")
        attrs.update({f"am_{k}": v for k, v in d.items()})
        lines.append(f"  {_dot_str(n)} [{_dot_attrs(attrs)}];")
    for u, v, k, d in g.edges(keys=True, data=True):
        attrs = {"label": k, **_DOT_EDGE_STYLE.get(k, {})}
        attrs.update({f"am_{a}": x for a, x in d.items()})
        lines.append(f"  {_dot_str(u)} -> {_dot_str(v)} [{_dot_attrs(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_dot(g: nx.MultiDiGraph, path: PathLike) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(to_dot(g))


# --- Mermaid -------------------------------------------------------------------


def _mm_label(s: str) -> str:
    for a, b in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("\n", " ")):
        s = s.replace(a, b)
    return f'"{s}"'


_MM_SHAPE = {PEER: ("[[", "]]"), MACHINE: ("([", "])"), STATE: ("(", ")")}
_MM_ARROW = {"after": "-.->", "connected_to": "---", "hosted_by": "-.->"}


def to_mermaid(g: nx.MultiDiGraph, *, kinds: Iterable[str] = NODE_KINDS) -> str:
    """A Mermaid ``flowchart`` of the nodes of ``kinds`` (active states highlighted)."""
    want = set(kinds)
    ids: dict[str, str] = {}
    lines = ["flowchart LR"]
    active: list[str] = []
    for n, d in sorted(g.nodes(data=True), key=lambda x: str(x[0])):
        kind = d.get("kind")
        if kind not in want:
            continue
        mid = ids[n] = f"n{len(ids)}"
        o, c = _MM_SHAPE.get(kind, ("[", "]"))
        lines.append(f"  {mid}{o}{_mm_label(node_label(g, n))}{c}")
        if kind == STATE and d.get("active"):
            active.append(mid)
    for u, v, k in g.edges(keys=True):
        if u in ids and v in ids:
            lines.append(f"  {ids[u]} {_MM_ARROW.get(k, '-->')}|{k}| {ids[v]}")
    lines.append("  classDef active fill:#9f9,stroke:#363")
    if active:
        lines.append(f"  class {','.join(active)} active")
    return "\n".join(lines) + "\n"


def write_mermaid(g: nx.MultiDiGraph, path: PathLike, *, kinds: Iterable[str] = NODE_KINDS) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(to_mermaid(g, kinds=kinds))
