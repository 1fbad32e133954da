"""Exports: JSON round trip and bad snapshots, GraphML, DOT, Mermaid, pictures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import networkx as nx
import pytest

from asyncmachine.graph import (
    GraphBuilder,
    RenderError,
    SnapshotError,
    dumps_json,
    loads_json,
    read_graphml,
    read_json,
    render_machine,
    render_network,
    to_dot,
    to_mermaid,
    write_dot,
    write_graphml,
    write_json,
    write_mermaid,
)
from tests.graph.graph_helpers import PNG_MAGIC, check_dot, check_mermaid, parent, rich_worker


def sample() -> nx.MultiDiGraph:
    p = parent()
    w = rich_worker(parent=p)
    w.add(["Foo", "Bar"])
    p.add1("Start")
    b = GraphBuilder()
    b.add_peer("A", local=True, addrs=["/ip4/127.0.0.1/tcp/1/p2p/A"])
    b.add_machine(p, peer_id="A")
    b.add_machine(w, peer_id="A")
    b.add_machine(rich_worker('odd "id" <x> & y'), peer_id="B")
    b.set_connections("A", ["B"], mesh=["B"])
    b.graph.graph["topic"] = "t"
    return b.graph


def same(a: nx.MultiDiGraph, b: nx.MultiDiGraph) -> None:
    assert dict(a.nodes(data=True)) == dict(b.nodes(data=True))
    assert sorted(a.edges(keys=True, data=True)) == sorted(b.edges(keys=True, data=True))
    assert a.graph == b.graph


def test_json_round_trip(tmp_path: Path) -> None:
    g = sample()
    path = tmp_path / "g.json"
    write_json(g, path)
    data = json.loads(path.read_text())
    assert data["graph"]["format"] == "asyncmachine-graph" and data["multigraph"] is True
    g2 = read_json(path)
    assert isinstance(g2, nx.MultiDiGraph)
    same(g, g2)
    same(g, loads_json(dumps_json(g2)))
    # a loaded graph keeps working with the builder (indexes rebuilt)
    b = GraphBuilder(g2)
    b.remove_machine("mach:A/p1")
    assert not any(k == "child_of" for *_, k in g2.edges(keys=True))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "bad JSON"),
        ("{not json", "bad JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"graph": {"format": "other"}}', "graph.format"),
        (
            '{"graph": {"format": "asyncmachine-graph", "version": 99}, "nodes": [], "edges": []}',
            "unsupported version",
        ),
        (
            '{"graph": {"format": "asyncmachine-graph", "version": 1}, "nodes": {}, "edges": []}',
            "must be lists",
        ),
        (
            '{"graph": {"format": "asyncmachine-graph", "version": 1}, "nodes": [{"id": 1}],'
            ' "edges": []}',
            "has no string",
        ),
        (
            '{"graph": {"format": "asyncmachine-graph", "version": 1},'
            ' "nodes": [{"node": "x", "kind": "planet"}], "edges": []}',
            "unknown kind",
        ),
        (
            '{"graph": {"format": "asyncmachine-graph", "version": 1},'
            ' "nodes": [{"node": "x", "kind": "peer"}],'
            ' "edges": [{"source": "x", "target": "y", "key": "has", "kind": "has"}]}',
            "unknown nodes",
        ),
        (
            '{"graph": {"format": "asyncmachine-graph", "version": 1},'
            ' "nodes": [{"node": "x", "kind": "peer"}],'
            ' "edges": [{"source": "x", "target": "x", "key": "likes", "kind": "likes"}]}',
            "unknown kind",
        ),
    ],
)
def test_corrupt_snapshots_are_rejected(text: str, match: str) -> None:
    with pytest.raises(SnapshotError, match=match):
        loads_json(text)


def test_truncated_and_binary_snapshot_files(tmp_path: Path) -> None:
    good = dumps_json(sample())
    (tmp_path / "cut.json").write_text(good[: len(good) // 2])
    with pytest.raises(SnapshotError, match="bad JSON"):
        read_json(tmp_path / "cut.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SnapshotError):
        read_json(tmp_path / "bin.json")


def test_graphml_parses_with_networkx(tmp_path: Path) -> None:
    g = sample()
    path = tmp_path / "g.graphml"
    write_graphml(g, path)
    raw = nx.read_graphml(path, force_multigraph=True)
    assert set(raw.nodes) == set(g.nodes)
    assert raw.number_of_edges() == g.number_of_edges()
    assert raw.nodes["mach:A/w1"]["tags"] == '["role:worker"]'  # lists as JSON strings
    assert raw.nodes["mach:A/w1"]["mirror"] is False and raw.nodes["mach:A/w1"]["tick"] > 0
    back = read_graphml(path)
    assert back.nodes["mach:A/w1"]["active"] == g.nodes["mach:A/w1"]["active"]
    assert back.nodes["peer:A"]["addrs"] == ["/ip4/127.0.0.1/tcp/1/p2p/A"]
    assert {k for *_, k in back.edges(keys=True)} == {k for *_, k in g.edges(keys=True)}


def test_dot_is_well_formed(tmp_path: Path) -> None:
    g = sample()
    text = to_dot(g)
    nodes, edges = check_dot(text)
    assert len(nodes) == g.number_of_nodes() and edges == g.number_of_edges()
    assert '\\"id\\"' in text  # quotes in ids are escaped
    assert 'fillcolor="palegreen"' in text  # active states highlighted
    write_dot(g, tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text() == text


def test_mermaid_is_well_formed(tmp_path: Path) -> None:
    g = sample()
    text = to_mermaid(g)
    nodes, edges = check_mermaid(text)
    assert len(nodes) == g.number_of_nodes() and edges == g.number_of_edges()
    assert "#quot;" in text and "#lt;" in text and "#amp;" in text
    active = sum(1 for _, d in g.nodes(data=True) if d["kind"] == "state" and d["active"])
    cls = [ln for ln in text.splitlines() if ln.startswith("  class ")]
    assert len(cls[0].split()[1].split(",")) == active
    net = to_mermaid(g, kinds=["peer", "machine"])
    n2, _ = check_mermaid(net)
    assert len(n2) == 5  # 2 peers, 3 machines
    write_mermaid(g, tmp_path / "g.mmd")
    assert (tmp_path / "g.mmd").read_text() == text


def test_render_pictures(tmp_path: Path) -> None:
    g = sample()
    render_network(g, tmp_path / "net.png")
    render_machine(g, "mach:A/w1", tmp_path / "w1.png")
    render_machine(g, "p1", tmp_path / "p1.svg")  # by unique machine id, as SVG
    for name in ("net.png", "w1.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000, name
    assert b"<svg" in (tmp_path / "p1.svg").read_bytes()[:2000]
    with pytest.raises(RenderError, match="no machine"):
        render_machine(g, "nope", tmp_path / "x.png")
    with pytest.raises(RenderError, match="nothing to draw"):
        render_network(nx.MultiDiGraph(), tmp_path / "x.png")


def test_render_without_matplotlib(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(RenderError, match="pip install 'asyncmachine\\[plot\\]'"):
        render_network(sample(), tmp_path / "x.png")
