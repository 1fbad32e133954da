"""Build a networkx MultiDiGraph of peers, machines and states (Go: pkg/graph ``Graph``).

Node ids are plain strings with a kind prefix:

- ``peer:<peer_id>``
- ``mach:<peer_id>/<machine_id>`` (``mach:<machine_id>`` for a machine with no peer)
- ``state:<machine key>:<state>`` where ``<machine key>`` is the machine id without ``mach:``

Every node has ``kind`` (``peer`` / ``machine`` / ``state``); every edge has ``kind``
as both its multigraph key and an attribute. All attributes are plain data (str, int,
bool, lists of str), so any networkx algorithm or exporter works on the graph.
See docs/graph.md for the full schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import networkx as nx

from ..machine import MachineBase, ReadOnlyMachine

PEER = "peer"
MACHINE = "machine"
STATE = "state"
NODE_KINDS = (PEER, MACHINE, STATE)

HAS = "has"
REQUIRE = "require"
ADD = "add"
REMOVE = "remove"
AFTER = "after"
CHILD_OF = "child_of"
HOSTED_BY = "hosted_by"
CONNECTED_TO = "connected_to"
RELATIONS = (REQUIRE, ADD, REMOVE, AFTER)
EDGE_KINDS = (HAS, *RELATIONS, CHILD_OF, HOSTED_BY, CONNECTED_TO)

FORMAT = "asyncmachine-graph"
FORMAT_VERSION = 1


def peer_node(peer_id: str) -> str:
    """Node id of a peer."""
    return f"peer:{peer_id}"


def machine_key(machine_id: str, peer_id: str = "") -> str:
    """The machine part of machine and state node ids."""
    return f"{peer_id}/{machine_id}" if peer_id else machine_id


def machine_node(machine_id: str, peer_id: str = "") -> str:
    """Node id of a machine; mirrors use the source machine id and its owning peer."""
    return "mach:" + machine_key(machine_id, peer_id)


def state_node(machine: str, state: str) -> str:
    """Node id of a state of the machine node ``machine``."""
    return f"state:{machine.removeprefix('mach:')}:{state}"


class StateLike(Protocol):
    """A state's properties (machine.State or pubsub's WireState)."""

    @property
    def auto(self) -> bool: ...
    @property
    def multi(self) -> bool: ...
    @property
    def require(self) -> Sequence[str]: ...
    @property
    def add(self) -> Sequence[str]: ...
    @property
    def remove(self) -> Sequence[str]: ...
    @property
    def after(self) -> Sequence[str]: ...
    @property
    def tags(self) -> Sequence[str]: ...


@dataclass(slots=True)
class MachineDesc:
    """What the graph needs of one machine: identity, schema and clock."""

    id: str
    names: list[str]
    states: dict[str, StateLike]
    ticks: list[int]
    tags: list[str] = field(default_factory=list)
    parent_id: str = ""
    peer_id: str = ""
    mirror: bool = False

    @classmethod
    def of(cls, mach: MachineBase, *, peer_id: str = "", mirror: bool | None = None) -> MachineDesc:
        """Describe a local machine or a read-only mirror."""
        cs = mach.compiled_schema()
        return cls(
            id=mach.id,
            names=list(cs.names),
            states=dict(cs.schema),
            ticks=list(mach.time()),
            tags=list(mach.tags),
            parent_id=mach.parent_id,
            peer_id=peer_id,
            mirror=isinstance(mach, ReadOnlyMachine) if mirror is None else mirror,
        )


def _check_ticks(desc_id: str, names: Sequence[str], ticks: Sequence[int]) -> None:
    if len(ticks) != len(names):
        raise ValueError(f"machine {desc_id}: {len(ticks)} ticks for {len(names)} states")


class GraphBuilder:
    """Adds, updates and removes peers, machines and states in ``self.graph``.

    Keeps a small index (machine id -> nodes, parent id -> children) so that
    ``child_of`` edges follow machines appearing in any order.
    """

    def __init__(self, graph: nx.MultiDiGraph | None = None) -> None:
        self.graph: nx.MultiDiGraph = graph if graph is not None else nx.MultiDiGraph()
        self.graph.graph.setdefault("format", FORMAT)
        self.graph.graph.setdefault("version", FORMAT_VERSION)
        self._by_id: dict[str, set[str]] = {}
        self._children: dict[str, set[str]] = {}
        for n, d in self.graph.nodes(data=True):
            if d.get("kind") == MACHINE:
                self._index(n, str(d.get("id", "")), str(d.get("parent_id", "")))

    # --- peers --------------------------------------------------------------

    def add_peer(
        self,
        peer_id: str,
        *,
        local: bool = False,
        addrs: Iterable[str] = (),
        discovered: bool = True,
    ) -> str:
        """Add or update a peer node; returns its node id."""
        n = peer_node(peer_id)
        g = self.graph
        if n in g:
            d = g.nodes[n]
            d["local"] = bool(d.get("local")) or local
            d["discovered"] = bool(d.get("discovered")) or discovered
            if addrs:
                d["addrs"] = list(addrs)
        else:
            g.add_node(
                n, kind=PEER, id=peer_id, local=local, addrs=list(addrs), discovered=discovered
            )
        return n

    def remove_peer(self, peer_id: str) -> bool:
        """Remove a peer, its machines and their states."""
        n = peer_node(peer_id)
        if n not in self.graph:
            return False
        for m in self.machines_of(peer_id):
            self.remove_machine(m)
        self.graph.remove_node(n)
        return True

    def machines_of(self, peer_id: str) -> list[str]:
        """Machine nodes hosted by a peer."""
        n = peer_node(peer_id)
        if n not in self.graph:
            return []
        return [u for u, _, k in self.graph.in_edges(n, keys=True) if k == HOSTED_BY]

    def set_connections(
        self, peer_id: str, connected: Iterable[str], mesh: Iterable[str] = ()
    ) -> bool:
        """Replace the ``connected_to`` edges reported by ``peer_id``; True if changed.

        ``connected``: peers with an open connection; ``mesh``: peers in its gossip
        mesh (also added when not in ``connected``). Unknown peers get a node with
        ``discovered=False``.
        """
        g = self.graph
        src = peer_node(peer_id)
        if src not in g:
            self.add_peer(peer_id)
        conn, msh = set(connected) - {peer_id}, set(mesh) - {peer_id}
        want = {peer_node(p): (p in conn, p in msh) for p in conn | msh}
        have = {
            v: (bool(d.get("connected")), bool(d.get("mesh")))
            for _, v, k, d in g.out_edges(src, keys=True, data=True)
            if k == CONNECTED_TO
        }
        if want == have:
            return False
        for v in have.keys() - want.keys():
            g.remove_edge(src, v, key=CONNECTED_TO)
        for p in conn | msh:
            v = peer_node(p)
            if v not in g:
                self.add_peer(p, discovered=False)
            c, m = want[v]
            g.add_edge(src, v, key=CONNECTED_TO, kind=CONNECTED_TO, connected=c, mesh=m)
        return True

    def prune_peers(self, keep: Iterable[str]) -> list[str]:
        """Remove peers not in ``keep`` that host no machine and have no connection edge."""
        keep_nodes = {peer_node(p) for p in keep}
        gone: list[str] = []
        g = self.graph
        for n, d in list(g.nodes(data=True)):
            if d.get("kind") != PEER or n in keep_nodes or d.get("local"):
                continue
            linked = any(k in (HOSTED_BY, CONNECTED_TO) for *_, k in g.in_edges(n, keys=True))
            if not linked:
                g.remove_node(n)
                gone.append(str(d.get("id", n)))
        return gone

    # --- machines -----------------------------------------------------------

    def add_machine(self, desc: MachineDesc | MachineBase, *, peer_id: str = "") -> str:
        """Add (or replace) a machine with its states and relations; returns its node id."""
        if isinstance(desc, MachineBase):
            desc = MachineDesc.of(desc, peer_id=peer_id)
        elif peer_id:
            desc.peer_id = peer_id
        _check_ticks(desc.id, desc.names, desc.ticks)
        g = self.graph
        m = machine_node(desc.id, desc.peer_id)
        if m in g:
            self.remove_machine(m)
        active = [s for s, t in zip(desc.names, desc.ticks, strict=True) if t % 2]
        g.add_node(
            m,
            kind=MACHINE,
            id=desc.id,
            peer_id=desc.peer_id,
            parent_id=desc.parent_id,
            tags=list(desc.tags),
            mirror=desc.mirror,
            tick=sum(desc.ticks),
            active=active,
            states=len(desc.names),
        )
        for i, (name, tick) in enumerate(zip(desc.names, desc.ticks, strict=True)):
            st = desc.states[name]
            s = state_node(m, name)
            g.add_node(
                s,
                kind=STATE,
                name=name,
                machine=m,
                machine_id=desc.id,
                peer_id=desc.peer_id,
                index=i,
                tick=tick,
                active=bool(tick % 2),
                auto=bool(st.auto),
                multi=bool(st.multi),
                tags=list(st.tags),
            )
            g.add_edge(m, s, key=HAS, kind=HAS, auto=bool(st.auto), multi=bool(st.multi))
        for name in desc.names:
            st = desc.states[name]
            for rel in RELATIONS:
                for target in getattr(st, rel):
                    if target in desc.states:
                        g.add_edge(state_node(m, name), state_node(m, target), key=rel, kind=rel)
        if desc.peer_id:
            p = self.add_peer(desc.peer_id)
            g.add_edge(m, p, key=HOSTED_BY, kind=HOSTED_BY)
        self._index(m, desc.id, desc.parent_id)
        self._link_parent(m)
        for child in list(self._children.get(desc.id, ())):
            self._link_parent(child)
        return m

    def remove_machine(self, node: str) -> bool:
        """Remove a machine node and its states; children lose their ``child_of`` edge."""
        g = self.graph
        if node not in g or g.nodes[node].get("kind") != MACHINE:
            return False
        d = g.nodes[node]
        mid, parent = str(d.get("id", "")), str(d.get("parent_id", ""))
        states = [v for _, v, k in g.out_edges(node, keys=True) if k == HAS]
        g.remove_nodes_from([*states, node])
        self._by_id.get(mid, set()).discard(node)
        self._children.get(parent, set()).discard(node)
        for child in list(self._children.get(mid, ())):
            self._link_parent(child)
        return True

    def update_clock(self, node: str, ticks: Sequence[int]) -> bool:
        """Set the ticks (state order) of a machine node; True if anything changed."""
        g = self.graph
        d = g.nodes[node]
        states = sorted(
            (v for _, v, k in g.out_edges(node, keys=True) if k == HAS),
            key=lambda s: int(g.nodes[s]["index"]),
        )
        _check_ticks(str(d.get("id")), states, ticks)
        changed = False
        active: list[str] = []
        for s, t in zip(states, ticks, strict=True):
            sd = g.nodes[s]
            if sd["tick"] != t:
                sd["tick"] = int(t)
                sd["active"] = bool(t % 2)
                changed = True
            if t % 2:
                active.append(str(sd["name"]))
        d["tick"] = sum(int(t) for t in ticks)
        d["active"] = active
        return changed

    def set_machine_meta(self, node: str, *, tags: Sequence[str], parent_id: str) -> None:
        """Update tags and parent of a machine (re-links ``child_of``)."""
        d = self.graph.nodes[node]
        d["tags"] = list(tags)
        if d.get("parent_id") != parent_id:
            self._children.get(str(d.get("parent_id", "")), set()).discard(node)
            d["parent_id"] = parent_id
            self._index(node, str(d["id"]), parent_id)
            self._link_parent(node)

    # --- parents ------------------------------------------------------------

    def _index(self, node: str, mid: str, parent: str) -> None:
        self._by_id.setdefault(mid, set()).add(node)
        if parent:
            self._children.setdefault(parent, set()).add(node)

    def _find_parent(self, node: str) -> str | None:
        d = self.graph.nodes[node]
        cands = sorted(self._by_id.get(str(d.get("parent_id", "")), ()))
        if not cands:
            return None
        same = [c for c in cands if self.graph.nodes[c].get("peer_id") == d.get("peer_id")]
        if same:
            return same[0]
        return cands[0] if len(cands) == 1 else None

    def _link_parent(self, node: str) -> None:
        g = self.graph
        for _, v, k in list(g.out_edges(node, keys=True)):
            if k == CHILD_OF:
                g.remove_edge(node, v, key=CHILD_OF)
        if not g.nodes[node].get("parent_id"):
            return
        parent = self._find_parent(node)
        if parent is not None and parent != node:
            g.add_edge(node, parent, key=CHILD_OF, kind=CHILD_OF)


def graph_from_machines(
    machines: Iterable[MachineBase | MachineDesc], *, peer_id: str = ""
) -> nx.MultiDiGraph:
    """A graph of local machines (and/or mirrors), optionally hosted by ``peer_id``."""
    b = GraphBuilder()
    if peer_id:
        b.add_peer(peer_id, local=True)
    for m in machines:
        b.add_machine(m, peer_id=peer_id)
    return b.graph
