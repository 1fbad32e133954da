"""Peer-graph connectivity (issue 11): node connectivity and cut peers, in the query API,
the ``asyncmachine graph`` summary and its JSON export."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

from asyncmachine.cli import main
from asyncmachine.graph import GraphBuilder, connectivity, write_json


def network(links: dict[str, list[str]], *, observer: str = "") -> nx.MultiDiGraph:
    """Peers reporting their connections; ``observer`` (local) connects to the first peer."""
    b = GraphBuilder()
    for pid, conns in links.items():
        b.add_peer(pid)
        b.set_connections(pid, conns, conns)
    if observer:
        b.add_peer(observer, local=True)
        b.set_connections(observer, [next(iter(links))])
    b.graph.graph["topic"] = "conn"
    return b.graph


STAR = {"hub": ["a", "b", "c"], "a": ["hub"], "b": ["hub"], "c": ["hub"]}
RING = {"a": ["b", "d"], "b": ["a", "c"], "c": ["b", "d"], "d": ["c", "a"]}


def test_star_has_the_hub_as_its_cut_peer() -> None:
    c = connectivity(network(STAR))
    assert (c.peers, c.components, c.node_connectivity, c.cut_peers) == (4, 1, 1, ("hub",))


def test_ring_survives_any_single_peer() -> None:
    c = connectivity(network(RING))
    assert (c.node_connectivity, c.cut_peers) == (2, ())


def test_split_network_and_tiny_graphs() -> None:
    c = connectivity(network({"a": ["b"], "b": ["a"], "c": ["d"], "d": ["c"]}))
    assert (c.components, c.node_connectivity, c.cut_peers) == (2, 0, ())
    one = connectivity(network({"a": []}))
    assert (one.peers, one.node_connectivity) == (1, 0)
    assert connectivity(nx.MultiDiGraph()).as_dict() == {
        "peers": 0,
        "components": 0,
        "node_connectivity": 0,
        "cut_peers": [],
    }


def test_excluded_observer_is_no_cut_point() -> None:
    g = network(RING, observer="obs")
    assert connectivity(g).cut_peers == ("a",)  # the observer hangs on "a"
    c = connectivity(g, exclude=["peer:obs"])
    assert (c.peers, c.node_connectivity, c.cut_peers) == (4, 2, ())


def test_cli_reports_connectivity_and_cut_peers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_json(network(STAR, observer="obs"), tmp_path / "star.json")
    rc = main(["graph", "--load", str(tmp_path / "star.json"), "--json", str(tmp_path / "o.json")])
    out = capsys.readouterr().out
    assert rc == 0, out
    # the local observer is not part of the network: the hub is its only cut peer
    assert "node connectivity 1 (4 peers, 1 components); cut peers: hub" in out
    hub_row = next(line for line in out.splitlines() if line.startswith("│ hub "))
    assert " cut " in hub_row
    saved = json.loads((tmp_path / "o.json").read_text())
    assert saved["graph"]["connectivity"] == {
        "peers": 4,
        "components": 1,
        "node_connectivity": 1,
        "cut_peers": ["hub"],
    }
    # the annotated snapshot loads back
    assert main(["graph", "--load", str(tmp_path / "o.json")]) == 0
    assert "cut peers: hub" in capsys.readouterr().out
