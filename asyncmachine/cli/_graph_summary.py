"""The summary ``asyncmachine graph`` prints: tables of peers and machines, network
statistics and the peer graph's connectivity (also the JSON export's ``graph.connectivity``).

Only network peers count: the observer (this command's own peer) and peers known only from
links records (``PeerRole``) are shown with their role but not counted or linked.
"""

from __future__ import annotations

import networkx as nx
from rich.console import Console
from rich.table import Table

from asyncmachine.graph import (
    CONNECTED_TO,
    HOSTED_BY,
    Connectivity,
    PeerRole,
    connectivity,
    machines,
    peer_role,
    peers,
    peers_by_role,
    short_peer_id,
    stats,
)


def plural(n: int, word: str) -> str:
    """``1 peer``, ``2 peers``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def network_connectivity(g: nx.MultiDiGraph) -> Connectivity:
    """The connectivity of the network's peers: the local peer (this command's observer,
    or the node that saved the snapshot) and peers known only from links records are
    left out, so they count as no peer's link."""
    roles = peers_by_role(g)
    local = [p for p in peers(g) if g.nodes[p].get("local")]
    return connectivity(g, exclude=[*local, *roles[PeerRole.LINK_ONLY]])


def with_connectivity(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of ``g`` whose graph attributes hold ``connectivity`` (for the JSON export)."""
    h = g.copy()
    h.graph["connectivity"] = network_connectivity(g).as_dict()
    return h


def print_summary(g: nx.MultiDiGraph, console: Console, *, note: str = "") -> None:
    """Tables of peers and machines, and network statistics with the peer graph's node
    connectivity; peers whose loss alone splits the network are marked ``cut``."""
    st = stats(g)
    conn = network_connectivity(g)
    roles = peers_by_role(g)
    n_peers = len(roles[PeerRole.PEER])
    counts = f"{plural(n_peers, 'peer')}, {plural(st.machines, 'machine')}"
    head = f"topic [bold]{g.graph.get('topic', '?')}[/]: {counts}"
    notes = [note] if note else []
    if roles[PeerRole.OBSERVER]:
        notes.append("seen by an observer, not counted")
    if roles[PeerRole.LINK_ONLY]:
        notes.append(f"{len(roles[PeerRole.LINK_ONLY])} link-only, not counted")
    console.print(head + (f" ({'; '.join(notes)})" if notes else ""))
    pt = Table(title="Peers", title_justify="left")
    for col in ("peer", "role", "cut", "machines", "links"):
        pt.add_column(col, overflow="fold")
    for p in peers(g):
        d = g.nodes[p]
        links = sorted(
            short_peer_id(str(g.nodes[v].get("id")))
            for _, v, k, e in g.out_edges(p, keys=True, data=True)
            if k == CONNECTED_TO and (e.get("connected") or e.get("mesh"))
        )
        hosted = sum(1 for _, _, k in g.in_edges(p, keys=True) if k == HOSTED_BY)
        role = peer_role(g, p).value
        cut = "cut" if d.get("id") in conn.cut_peers else ""
        pt.add_row(str(d.get("id")), role, cut, str(hosted), " ".join(links))
    console.print(pt)
    mt = Table(title="Machines", title_justify="left")
    for col in ("machine", "peer", "parent", "tick", "active states"):
        mt.add_column(col, overflow="fold")
    for m in machines(g):
        d = g.nodes[m]
        mt.add_row(
            str(d.get("id")),
            short_peer_id(str(d.get("peer_id", ""))),
            str(d.get("parent_id", "")),
            str(d.get("tick", 0)),
            " ".join(d.get("active", [])),
        )
    console.print(mt)
    diam = "-" if st.mesh_diameter is None else str(st.mesh_diameter)
    console.print(
        f"states {st.states} ({st.active_states} active), peer links {st.peer_links}, "
        f"max degree {st.max_degree}, mesh diameter {diam}"
    )
    cuts = " ".join(short_peer_id(p) for p in conn.cut_peers) or "none"
    console.print(
        f"node connectivity {conn.node_connectivity} ({conn.peers} peers, "
        f"{conn.components} components); cut peers: {cuts}"
    )


__all__ = ["network_connectivity", "plural", "print_summary", "with_connectivity"]
