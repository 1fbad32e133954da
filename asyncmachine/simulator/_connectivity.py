"""The live connection graph of a model run, measured (networkx).

Node connectivity (``networkx.node_connectivity``: the fewest peers whose death splits
the graph) costs about 0.3 s at 200 peers and 4 s at 1,000, so a series samples it
exactly only every few samples; cheap linear-time measures come with every sample and
pin it down whenever they can: a split graph has connectivity 0, a graph with a cut
vertex (``networkx.articulation_points``) has 1, and the minimum degree bounds it from
above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from ._model_net import ModelNetwork


def live_graph(net: ModelNetwork, alive: Sequence[int]) -> nx.Graph:
    """The connections among ``alive`` peers (nodes are peer indices)."""
    g = nx.Graph()
    g.add_nodes_from(alive)
    g.add_edges_from((p, q) for p in alive for q in net.adj[p] if p < q)
    return g


def is_connected(net: ModelNetwork, alive: Sequence[int]) -> bool:
    """One component over ``alive`` (a BFS; cheap enough after every link change)."""
    if not alive:
        return True
    adj, seen, todo = net.adj, {alive[0]}, [alive[0]]
    while todo:
        for q in adj[todo.pop()]:
            if q not in seen:
                seen.add(q)
                todo.append(q)
    return len(seen) >= len(alive)


@dataclass(frozen=True, slots=True)
class Connectivity:
    """One sample of the live graph; ``node_connectivity`` None: not computed."""

    t: float
    alive: int
    links: int
    components: int
    min_degree: int
    cut_vertices: int
    node_connectivity: int | None

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "t": self.t,
            "alive": self.alive,
            "links": self.links,
            "components": self.components,
            "min_degree": self.min_degree,
            "cut_vertices": self.cut_vertices,
            "node_connectivity": self.node_connectivity,
        }


def node_connectivity(net: ModelNetwork, alive: Sequence[int]) -> int:
    """Exact node connectivity of the live graph (0 when split or below 2 peers)."""
    g = live_graph(net, alive)
    if len(g) < 2 or not nx.is_connected(g):
        return 0
    return int(nx.node_connectivity(g))


def measure(net: ModelNetwork, alive: Sequence[int], t: float, exact: bool) -> Connectivity:
    """A sample at ``t``; ``exact``: compute node connectivity even when the cheap
    measures leave it open (connected, no cut vertex)."""
    g = live_graph(net, alive)
    n = len(g)
    components = nx.number_connected_components(g) if n else 0
    cuts = sum(1 for _ in nx.articulation_points(g)) if n else 0
    kappa: int | None
    if n < 2 or components > 1:
        kappa = 0
    elif cuts:
        kappa = 1
    else:
        kappa = int(nx.node_connectivity(g)) if exact else None
    return Connectivity(
        t=round(t, 6),
        alive=n,
        links=g.number_of_edges(),
        components=components,
        min_degree=min((d for _, d in g.degree()), default=0),
        cut_vertices=cuts,
        node_connectivity=kappa,
    )
