"""The network and machine pictures: every label boxed and inside the image, a legend of
the drawn edge kinds only and clear of the labels, active states and short peer ids shown,
the observer apart and departed (link-only) peers left out (issue 15)."""

from __future__ import annotations

from typing import Any

import pytest

from asyncmachine.graph import (
    GraphBuilder,
    PeerRole,
    graph_from_machines,
    machine_figure,
    network_figure,
    peer_role,
    peers_by_role,
)
from tests.graph.graph_helpers import rich_worker
from tests.graph.pictures import DEPARTED, OBSERVER, PEERS, sample_network

pytest.importorskip("matplotlib")


def _texts(fig: Any) -> list[Any]:
    return [t for t in fig.findobj(lambda a: type(a).__name__ == "Text") if t.get_text()]


def _extent(t: Any, renderer: Any) -> Any:
    patch = t.get_bbox_patch()
    return (patch or t).get_window_extent(renderer)


def _check_inside(fig: Any) -> None:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    for t in _texts(fig):
        bb = _extent(t, renderer)
        assert box.x0 <= bb.x0 and bb.x1 <= box.x1, t.get_text()
        assert box.y0 <= bb.y0 and bb.y1 <= box.y1, t.get_text()


def _legend_labels(fig: Any) -> list[str]:
    return [t.get_text() for lg in fig.legends for t in lg.get_texts()]


def _labels(fig: Any) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_network_picture_labels_legend_and_roles() -> None:
    g = sample_network()
    fig = network_figure(g)
    _check_inside(fig)
    labels = _labels(fig)
    assert f"observer\n{OBSERVER[-6:]}" in labels
    assert {f"peer\n{p[-6:]}" for p in PEERS} <= set(labels)
    assert not any(DEPARTED[-6:] in t for t in labels)  # a departed observer: not a peer
    assert "worker-1  t3\nBar Foo Qux" in labels  # active states, in state order
    assert _legend_labels(fig) == ["connected_to", "hosted_by", "child_of"]
    assert fig.axes[0].get_title().startswith("4 peers, 5 machines")
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    for t in fig.axes[0].texts:
        assert t.get_bbox_patch() is not None, t.get_text()  # the box holds the text
        assert not legend.overlaps(_extent(t, renderer)), t.get_text()


def test_legend_lists_only_drawn_edge_kinds() -> None:
    """Used to list child_of (and every kind) with no such edge drawn."""
    g = graph_from_machines([rich_worker("w1"), rich_worker("w2")], peer_id="P" * 52)
    fig = network_figure(g)
    assert _legend_labels(fig) == ["hosted_by"]
    m = machine_figure(g, "w1")
    assert _legend_labels(m) == ["require", "add", "remove", "after"]
    _check_inside(m)


def test_many_long_labels_stay_inside() -> None:
    b = GraphBuilder()
    ids = [f"12D3KooW{i:044d}" for i in range(14)]
    for i, p in enumerate(ids):
        b.add_peer(p)
        b.set_connections(p, [ids[(i + 1) % len(ids)]])
        w = rich_worker(f"a-rather-long-machine-name-{i}")
        w.add(["Foo", "Bar", "Baz"])
        b.add_machine(w, peer_id=p)
    fig = network_figure(b.graph)
    _check_inside(fig)


def test_peer_roles() -> None:
    g = sample_network()
    roles = peers_by_role(g)
    assert [g.nodes[n]["id"] for n in roles[PeerRole.OBSERVER]] == [OBSERVER]
    assert [g.nodes[n]["id"] for n in roles[PeerRole.LINK_ONLY]] == [DEPARTED]
    assert len(roles[PeerRole.PEER]) == 4
    local_host = graph_from_machines([rich_worker("w1")], peer_id="HOST")
    assert peer_role(local_host, "peer:HOST") == PeerRole.PEER  # a node's own snapshot
