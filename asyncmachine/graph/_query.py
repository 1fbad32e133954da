"""Questions about the graph: peers, machines, states, relations, paths, statistics."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx

from ._build import (
    CONNECTED_TO,
    EDGE_KINDS,
    HAS,
    HOSTED_BY,
    MACHINE,
    NODE_KINDS,
    PEER,
    RELATIONS,
    REQUIRE,
    STATE,
    peer_node,
)


def nodes_of_kind(g: nx.MultiDiGraph, kind: str) -> list[str]:
    """Node ids of one kind, sorted."""
    if kind not in NODE_KINDS:
        raise ValueError(f"unknown node kind {kind!r}; expected one of {', '.join(NODE_KINDS)}")
    return sorted(n for n, k in g.nodes(data="kind") if k == kind)


def peers(g: nx.MultiDiGraph) -> list[str]:
    """Peer nodes, sorted."""
    return nodes_of_kind(g, PEER)


def machines(g: nx.MultiDiGraph, peer: str | None = None) -> list[str]:
    """Machine nodes, all or those hosted by ``peer`` (node id or peer id)."""
    if peer is None:
        return nodes_of_kind(g, MACHINE)
    p = _peer(g, peer)
    return sorted(u for u, _, k in g.in_edges(p, keys=True) if k == HOSTED_BY)


def _peer(g: nx.MultiDiGraph, peer: str) -> str:
    n = peer if peer.startswith("peer:") else peer_node(peer)
    if n not in g or g.nodes[n].get("kind") != PEER:
        raise KeyError(f"no peer {peer!r} in the graph")
    return n


def _machine(g: nx.MultiDiGraph, machine: str) -> str:
    if machine in g and g.nodes[machine].get("kind") == MACHINE:
        return machine
    return find_machine(g, machine)


def find_machine(g: nx.MultiDiGraph, machine_id: str, peer_id: str | None = None) -> str:
    """The node of the machine with this (source) id, on ``peer_id`` if given.

    Raises KeyError when none or more than one machine matches.
    """
    found = [
        n
        for n, d in g.nodes(data=True)
        if d.get("kind") == MACHINE
        and d.get("id") == machine_id
        and (peer_id is None or d.get("peer_id") == peer_id)
    ]
    if not found:
        raise KeyError(f"no machine {machine_id!r} in the graph")
    if len(found) > 1:
        raise KeyError(f"machine id {machine_id!r} is ambiguous: {', '.join(sorted(found))}")
    return str(found[0])


def host_of(g: nx.MultiDiGraph, machine: str) -> str | None:
    """The peer node hosting a machine, or None."""
    m = _machine(g, machine)
    for _, v, k in g.out_edges(m, keys=True):
        if k == HOSTED_BY:
            return str(v)
    return None


def states_of(g: nx.MultiDiGraph, machine: str) -> list[str]:
    """State nodes of a machine (node id or unique machine id), in state order."""
    m = _machine(g, machine)
    out = [v for _, v, k in g.out_edges(m, keys=True) if k == HAS]
    return sorted(out, key=lambda s: int(g.nodes[s].get("index", 0)))


def active_states(g: nx.MultiDiGraph, machine: str) -> list[str]:
    """Names of the active states of a machine, in state order."""
    return [str(g.nodes[s]["name"]) for s in states_of(g, machine) if g.nodes[s].get("active")]


def state_of(g: nx.MultiDiGraph, machine: str, state: str) -> str:
    """The node of one state of a machine."""
    for s in states_of(g, machine):
        if g.nodes[s].get("name") == state:
            return s
    raise KeyError(f"machine {machine!r} has no state {state!r}")


def related(g: nx.MultiDiGraph, state: str, kind: str, *, incoming: bool = False) -> list[str]:
    """States that ``state`` relates to by ``kind`` (or, with ``incoming``, that relate
    to ``state``); ``kind`` is require / add / remove / after."""
    if kind not in RELATIONS:
        raise ValueError(f"unknown relation {kind!r}; expected one of {', '.join(RELATIONS)}")
    if incoming:
        return sorted(u for u, _, k in g.in_edges(state, keys=True) if k == kind)
    return sorted(v for _, v, k in g.out_edges(state, keys=True) if k == kind)


def who_requires(g: nx.MultiDiGraph, state: str, machine: str | None = None) -> list[str]:
    """State nodes requiring ``state`` (a state node, or a name with ``machine``)."""
    node = state_of(g, machine, state) if machine is not None else state
    if node not in g or g.nodes[node].get("kind") != STATE:
        raise KeyError(f"no state {state!r} in the graph")
    return related(g, node, REQUIRE, incoming=True)


def children_of(g: nx.MultiDiGraph, machine: str) -> list[str]:
    """Machine nodes whose parent is ``machine``."""
    m = _machine(g, machine)
    return sorted(u for u, _, k in g.in_edges(m, keys=True) if k == "child_of")


def peer_graph(g: nx.MultiDiGraph, *, mesh_only: bool = False) -> nx.Graph:
    """An undirected simple graph of peers and their connections (mesh links only
    with ``mesh_only``)."""
    pg = nx.Graph()
    pg.add_nodes_from((n, d) for n, d in g.nodes(data=True) if d.get("kind") == PEER)
    for u, v, k, d in g.edges(keys=True, data=True):
        if k == CONNECTED_TO and (not mesh_only or d.get("mesh")):
            pg.add_edge(u, v)
    return pg


def machine_path(g: nx.MultiDiGraph, a: str, b: str) -> list[str]:
    """The shortest path between two machines through their peers and the peer graph
    (hosted_by and connected_to edges, either direction). Raises networkx.NetworkXNoPath."""
    ma, mb = _machine(g, a), _machine(g, b)
    ug = nx.Graph()
    for u, v, k in g.edges(keys=True):
        if k in (HOSTED_BY, CONNECTED_TO):
            ug.add_edge(u, v)
    ug.add_nodes_from([ma, mb])
    path: list[str] = nx.shortest_path(ug, ma, mb)
    return path


@dataclass(slots=True)
class NetworkStats:
    """Counts and peer-graph measures of one graph."""

    peers: int = 0
    machines: int = 0
    states: int = 0
    active_states: int = 0
    edges: dict[str, int] = field(default_factory=dict)
    peer_links: int = 0
    avg_degree: float = 0.0
    max_degree: int = 0
    components: int = 0
    mesh_diameter: int | None = None
    """Largest diameter of the gossip-mesh components (None without mesh links)."""
    diameter: int | None = None
    """Largest diameter of the connection graph's components (None without peers)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _max_diameter(pg: nx.Graph) -> int | None:
    if pg.number_of_nodes() == 0:
        return None
    return max(int(nx.diameter(pg.subgraph(c))) for c in nx.connected_components(pg))


def stats(g: nx.MultiDiGraph) -> NetworkStats:
    """Peers, machines, states, edge counts by kind, degree and diameters of the peer graph."""
    kinds = {k: 0 for k in NODE_KINDS}
    active = 0
    for _, d in g.nodes(data=True):
        k = d.get("kind")
        if k in kinds:
            kinds[k] += 1
        if k == STATE and d.get("active"):
            active += 1
    edges = {k: 0 for k in EDGE_KINDS}
    for *_, k in g.edges(keys=True):
        edges[k] = edges.get(k, 0) + 1
    pg = peer_graph(g)
    mesh = peer_graph(g, mesh_only=True)
    mesh.remove_nodes_from([n for n in list(mesh) if mesh.degree(n) == 0])
    degrees = [int(d) for _, d in pg.degree()]
    return NetworkStats(
        peers=kinds[PEER],
        machines=kinds[MACHINE],
        states=kinds[STATE],
        active_states=active,
        edges=edges,
        peer_links=pg.number_of_edges(),
        avg_degree=round(sum(degrees) / len(degrees), 3) if degrees else 0.0,
        max_degree=max(degrees, default=0),
        components=nx.number_connected_components(pg) if len(pg) else 0,
        mesh_diameter=_max_diameter(mesh),
        diameter=_max_diameter(pg),
    )


@dataclass(frozen=True, slots=True)
class Connectivity:
    """How well the peer graph holds together (issue 11: no peer may be special).

    ``node_connectivity`` is the least number of peers whose loss splits the rest
    (networkx ``node_connectivity`` of the undirected connection graph; 0 when it is
    already split or has fewer than two peers); ``cut_peers`` are the peer ids whose loss
    alone splits their component (networkx ``articulation_points``), sorted.
    """

    peers: int
    components: int
    node_connectivity: int
    cut_peers: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cut_peers"] = list(self.cut_peers)
        return d


def connectivity(g: nx.MultiDiGraph, *, exclude: Iterable[str] = ()) -> Connectivity:
    """The :class:`Connectivity` of ``g``'s peer graph (:func:`peer_graph`), without the
    peer nodes in ``exclude`` (e.g. an observer that is not part of the network)."""
    pg = peer_graph(g)
    pg.remove_nodes_from([n for n in exclude if n in pg])
    n = pg.number_of_nodes()
    k = int(nx.node_connectivity(pg)) if n >= 2 else 0
    cuts = sorted(str(pg.nodes[c].get("id", c)) for c in nx.articulation_points(pg))
    return Connectivity(
        peers=n,
        components=nx.number_connected_components(pg) if n else 0,
        node_connectivity=k,
        cut_peers=tuple(cuts),
    )
