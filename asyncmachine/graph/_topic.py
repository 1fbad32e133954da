"""The graph as seen from a pubsub Topic: own peer, exposed machines, mirrors, connections.

Written against small Protocols (:class:`TopicLike`) so that anything shaped like
:class:`asyncmachine.pubsub.Topic` works, including test fakes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import networkx as nx

from ..machine import Machine
from ._build import (
    CONNECTED_TO,
    MACHINE,
    PEER,
    GraphBuilder,
    MachineDesc,
    StateLike,
    machine_node,
    peer_node,
)


class TransportLike(Protocol):
    """The transport's view of its neighbours (pubsub GossipTransport)."""

    def connected_peers(self) -> set[str]: ...

    def mesh_peers(self) -> set[str]: ...


class WireSchemaLike(Protocol):
    @property
    def names(self) -> Sequence[str]: ...
    @property
    def states(self) -> Sequence[StateLike]: ...


class MachineInfoLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def schema(self) -> WireSchemaLike: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def parent(self) -> str: ...


class RemoteMachineLike(Protocol):
    """A remote machine record (pubsub RemoteMachine)."""

    @property
    def peer_id(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def info(self) -> MachineInfoLike: ...
    @property
    def clock(self) -> Sequence[int]: ...


class TopicLike(Protocol):
    """What the graph reads from a Topic (pubsub Topic)."""

    @property
    def name(self) -> str: ...
    @property
    def peer_id(self) -> str: ...
    @property
    def transport(self) -> TransportLike | None: ...

    def addrs(self) -> list[str]: ...

    def peers(self) -> list[str]: ...

    def exposed(self) -> list[Machine]: ...

    def remote_machines(self) -> Sequence[RemoteMachineLike]: ...

    def add_observer(self, fn: Any) -> None: ...

    def remove_observer(self, fn: Any) -> None: ...


def describe_remote(rm: RemoteMachineLike) -> MachineDesc:
    """A MachineDesc of a remote machine from its wire info and last clock."""
    info = rm.info
    names = list(info.schema.names)
    ticks = list(rm.clock) if len(rm.clock) == len(names) else [0] * len(names)
    return MachineDesc(
        id=info.id,
        names=names,
        states=dict(zip(names, info.schema.states, strict=True)),
        ticks=ticks,
        tags=list(info.tags),
        parent_id=info.parent,
        peer_id=rm.peer_id,
        mirror=True,
    )


def _same_shape(b: GraphBuilder, node: str, desc: MachineDesc) -> bool:
    g = b.graph
    d = g.nodes[node]
    if d.get("states") != len(desc.names):
        return False
    return all(
        g.nodes.get(f"state:{node.removeprefix('mach:')}:{n}", {}).get("index") == i
        for i, n in enumerate(desc.names)
    )


def _upsert(b: GraphBuilder, desc: MachineDesc) -> tuple[str, bool]:
    """Add a machine or update its clock and metadata; (node, changed)."""
    node = machine_node(desc.id, desc.peer_id)
    g = b.graph
    if node not in g or not _same_shape(b, node, desc):
        return b.add_machine(desc), True
    d = g.nodes[node]
    meta = d.get("tags") != desc.tags or d.get("parent_id") != desc.parent_id
    if meta:
        b.set_machine_meta(node, tags=desc.tags, parent_id=desc.parent_id)
    return node, b.update_clock(node, desc.ticks) or meta


def _report(b: GraphBuilder, peer_id: str, connected: Iterable[str], mesh: Iterable[str]) -> bool:
    """Set ``peer_id``'s ``connected_to`` edges (``reported_by`` = ``peer_id``)."""
    changed = b.set_connections(peer_id, connected, mesh)
    g = b.graph
    src = peer_node(peer_id)
    for _, _, k, d in g.out_edges(src, keys=True, data=True):
        if k == CONNECTED_TO and d.get("reported_by") != peer_id:
            d["reported_by"] = peer_id
            changed = True
    return changed


def sync_connections(b: GraphBuilder, topic: TopicLike) -> bool:
    """Refresh ``connected_to`` edges: the observer's from its transport, remote peers'
    from their owner-signed links records (``Topic.peer_links``)."""
    t = topic.transport
    if t is None or not topic.peer_id:
        return False
    changed = _report(b, topic.peer_id, t.connected_peers(), t.mesh_peers())
    links_of = getattr(topic, "peer_links", None)
    if links_of is None:
        return changed
    links = links_of()
    for pid, (conn, mesh) in links.items():
        changed |= _report(b, pid, conn, mesh)
    # remote reports of peers that are gone (or no longer report) go with them; local
    # observers' own reports (graph_from_topics) stay
    g = b.graph
    stale = [
        (u, v)
        for u, v, k, d in g.edges(keys=True, data=True)
        if k == CONNECTED_TO
        and d.get("reported_by") not in (None, topic.peer_id)
        and d["reported_by"] not in links
        and not g.nodes[u].get("local")
    ]
    for u, v in stale:
        b.graph.remove_edge(u, v, key=CONNECTED_TO)
    return changed or bool(stale)


def reconcile(b: GraphBuilder, topic: TopicLike, *, prune: bool = True) -> bool:
    """Bring the graph in line with the topic (idempotent); True if anything changed.

    Adds the observing peer (``local=True``) with its addresses and exposed
    machines, every discovered peer and mirror, and the observer's connections.
    With ``prune``, machines and peers the topic no longer knows are removed.
    """
    g = b.graph
    own = topic.peer_id
    before = (g.number_of_nodes(), g.number_of_edges())
    changed = False
    if own:
        n = b.add_peer(own, local=True)
        addrs = topic.addrs()
        if g.nodes[n].get("addrs") != addrs:
            g.nodes[n]["addrs"] = list(addrs)
            changed = True
    seen: set[str] = set()
    for m in topic.exposed():
        node, ch = _upsert(b, MachineDesc.of(m, peer_id=own, mirror=False))
        seen.add(node)
        changed |= ch
    peers = topic.peers()
    for p in peers:
        b.add_peer(p)
    for rm in topic.remote_machines():
        node, ch = _upsert(b, describe_remote(rm))
        seen.add(node)
        changed |= ch
    changed |= sync_connections(b, topic)
    if prune:
        stale = [n for n, d in g.nodes(data=True) if d.get("kind") == MACHINE and n not in seen]
        for n in stale:
            b.remove_machine(n)
        for _, d in g.nodes(data=True):
            if d.get("kind") == PEER and not d.get("local") and d.get("id") not in peers:
                d["discovered"] = False
        b.prune_peers([*peers, own] if own else peers)
    if g.graph.get("topic") != topic.name:
        g.graph["topic"] = topic.name
    if own and g.graph.get("observer") != own:
        g.graph["observer"] = own
    return changed or before != (g.number_of_nodes(), g.number_of_edges())


def graph_from_topic(topic: TopicLike) -> nx.MultiDiGraph:
    """A snapshot graph of what ``topic`` knows right now."""
    b = GraphBuilder()
    reconcile(b, topic)
    return b.graph


def graph_from_topics(topics: Iterable[TopicLike]) -> nx.MultiDiGraph:
    """Merge the views of several topics (e.g. peers of one process) into one graph.

    Every topic adds its own peer, machines and connections, so the peer graph
    holds each observer's links.
    """
    b = GraphBuilder()
    names: list[str] = []
    for t in topics:
        reconcile(b, t, prune=False)
        names.append(t.name)
    b.graph.graph.pop("observer", None)
    b.graph.graph["topic"] = ",".join(dict.fromkeys(names))
    return b.graph
