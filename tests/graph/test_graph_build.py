"""Building the graph from local machines and mirrors; queries on it."""

from __future__ import annotations

import networkx as nx
import pytest

from asyncmachine.graph import (
    GraphBuilder,
    MachineDesc,
    active_states,
    children_of,
    find_machine,
    graph_from_machines,
    host_of,
    machine_node,
    machine_path,
    machines,
    peer_node,
    peers,
    related,
    state_node,
    state_of,
    states_of,
    stats,
    who_requires,
)
from asyncmachine.machine import ReadOnlyMachine
from tests.graph.graph_helpers import RELATIONS_SCHEMA, parent, rich_worker


def test_nodes_edges_and_attributes() -> None:
    p = parent()
    w = rich_worker(parent=p)
    w.add(["Foo", "Bar"])  # Bar adds Qux
    g = graph_from_machines([w, p], peer_id="P1")

    m = machine_node("w1", "P1")
    assert m == "mach:P1/w1"
    assert g.nodes[m] == {
        "kind": "machine",
        "id": "w1",
        "peer_id": "P1",
        "parent_id": "p1",
        "tags": ["role:worker"],
        "mirror": False,
        "tick": sum(w.time()),
        "active": [s for s in w.state_names() if w.is1(s)],
        "states": 5,
    }
    assert g.nodes[peer_node("P1")]["local"] is True
    baz = g.nodes[state_node(m, "Baz")]
    assert baz["kind"] == "state" and baz["multi"] is True and baz["tags"] == ["group:x"]
    assert g.nodes[state_node(m, "Bar")]["auto"] is True

    rel = {
        (u, v, k) for u, v, k in g.edges(keys=True) if k in ("require", "add", "remove", "after")
    }

    def s(name: str) -> str:
        return state_node(m, name)

    assert rel == {
        (s("Foo"), s("Bar"), "require"),
        (s("Foo"), s("Baz"), "remove"),
        (s("Bar"), s("Qux"), "add"),
        (s("Qux"), s("Bar"), "after"),
        (
            state_node(machine_node("p1", "P1"), "Ready"),
            state_node(machine_node("p1", "P1"), "Start"),
            "require",
        ),
    }
    # every node has a kind; every edge has its kind as key and attribute
    assert all(d["kind"] in ("peer", "machine", "state") for _, d in g.nodes(data=True))
    assert all(d["kind"] == k for _, _, k, d in g.edges(keys=True, data=True))
    assert g.has_edge(m, machine_node("p1", "P1"), key="child_of")
    assert g.has_edge(m, peer_node("P1"), key="hosted_by")
    assert len(states_of(g, m)) == len(w.state_names())


def test_active_flags_and_clock_updates() -> None:
    w = rich_worker()
    b = GraphBuilder()
    m = b.add_machine(w)
    assert m == "mach:w1"  # no peer: plain machine id
    assert active_states(b.graph, m) == []
    w.add(["Foo", "Bar"])
    assert b.update_clock(m, list(w.time())) is True
    assert b.update_clock(m, list(w.time())) is False
    assert active_states(b.graph, m) == ["Bar", "Foo", "Qux"]
    assert b.graph.nodes[m]["active"] == ["Bar", "Foo", "Qux"]
    assert b.graph.nodes[state_node(m, "Foo")]["tick"] == w.tick("Foo") == 1
    w.remove1("Foo")
    b.update_clock(m, list(w.time()))
    assert not b.graph.nodes[state_node(m, "Foo")]["active"]
    assert b.graph.nodes[state_node(m, "Foo")]["tick"] == 2
    assert b.graph.nodes[m]["tick"] == sum(w.time())
    with pytest.raises(ValueError, match="ticks"):
        b.update_clock(m, [1, 2])


def test_parent_links_follow_discovery_order() -> None:
    b = GraphBuilder()
    child = b.add_machine(rich_worker("c1", parent="p1"), peer_id="A")
    assert children_of(b.graph, "mach:A/c1") == []
    par = b.add_machine(parent("p1"), peer_id="A")  # parent after its child
    assert b.graph.has_edge(child, par, key="child_of")
    assert children_of(b.graph, par) == [child]
    # a parent with the same id on another peer is ignored when one exists on the same peer
    b.add_machine(parent("p1"), peer_id="B")
    assert list(b.graph.successors(child)).count(par) == 1
    assert [v for _, v, k in b.graph.out_edges(child, keys=True) if k == "child_of"] == [par]
    b.remove_machine(par)
    # ... and used when it is the only one left
    assert [v for _, v, k in b.graph.out_edges(child, keys=True) if k == "child_of"] == [
        "mach:B/p1"
    ]
    b.remove_machine("mach:B/p1")
    assert not any(k == "child_of" for *_, k in b.graph.edges(keys=True))
    assert b.graph.nodes[child]["parent_id"] == "p1"


def test_mirrors_and_peers_never_collide() -> None:
    w = rich_worker()
    w.add(["Foo", "Bar"])
    mirror = ReadOnlyMachine(RELATIONS_SCHEMA, id="w1", state_names=w.state_names())
    mirror.update_clock(list(w.time()))
    b = GraphBuilder()
    a = b.add_machine(w, peer_id="A")
    m = b.add_machine(mirror, peer_id="B")
    assert a != m and b.graph.nodes[m]["mirror"] is True and b.graph.nodes[a]["mirror"] is False
    assert active_states(b.graph, m) == active_states(b.graph, a)
    with pytest.raises(KeyError, match="ambiguous"):
        find_machine(b.graph, "w1")
    assert find_machine(b.graph, "w1", "B") == m
    assert machines(b.graph, "A") == [a] and machines(b.graph, "peer:B") == [m]
    assert host_of(b.graph, m) == "peer:B"
    assert b.remove_peer("B") and m not in b.graph
    assert not any(n.startswith("state:B/") for n in b.graph)


def test_queries_relations_paths_and_stats() -> None:
    b = GraphBuilder()
    a = b.add_machine(rich_worker("wa"), peer_id="A")
    c = b.add_machine(rich_worker("wc"), peer_id="C")
    b.add_machine(parent("lonely"), peer_id="D")
    b.set_connections("A", ["B"], mesh=["B"])
    b.set_connections("B", ["A", "C"], mesh=["C"])
    g = b.graph
    assert peers(g) == ["peer:A", "peer:B", "peer:C", "peer:D"]
    assert g.nodes["peer:B"]["discovered"] is False  # only seen as a connection endpoint

    bar = state_of(g, a, "Bar")
    assert who_requires(g, bar) == [state_of(g, a, "Foo")]
    assert who_requires(g, "Bar", machine="wa") == [state_of(g, a, "Foo")]
    assert related(g, state_of(g, a, "Foo"), "remove") == [state_of(g, a, "Baz")]
    assert related(g, state_of(g, a, "Qux"), "add", incoming=True) == [bar]
    with pytest.raises(ValueError):
        related(g, bar, "likes")

    assert machine_path(g, "wa", "wc") == [a, "peer:A", "peer:B", "peer:C", c]
    with pytest.raises(nx.NetworkXNoPath):
        machine_path(g, "wa", "lonely")

    st = stats(g)
    assert (st.peers, st.machines, st.states) == (4, 3, 13)
    assert st.edges["hosted_by"] == 3 and st.edges["connected_to"] == 3
    assert st.peer_links == 2 and st.max_degree == 2 and st.components == 2
    assert st.diameter == 2
    assert st.mesh_diameter == 2  # mesh links A-B and B-C
    assert st.as_dict()["machines"] == 3

    # connections are replaced per reporting peer
    assert b.set_connections("B", ["A"]) is True
    assert b.set_connections("B", ["A"]) is False
    assert b.prune_peers(["A", "B", "D"]) == []  # C still hosts a machine
    b.remove_machine(c)
    assert b.prune_peers(["A", "B", "D"]) == ["C"]


def test_machine_desc_validation() -> None:
    w = rich_worker()
    d = MachineDesc.of(w)
    d.ticks = d.ticks[:-1]
    with pytest.raises(ValueError, match="ticks for"):
        GraphBuilder().add_machine(d)
    with pytest.raises(ValueError, match="unknown node kind"):
        from asyncmachine.graph import nodes_of_kind

        nodes_of_kind(nx.MultiDiGraph(), "planet")
