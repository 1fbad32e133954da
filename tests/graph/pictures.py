"""A sample network for the picture tests, and the script that draws docs/img/network.png
and docs/img/machine.png from it: ``python -m tests.graph.pictures docs/img``."""

from __future__ import annotations

import sys
from pathlib import Path

import networkx as nx

from asyncmachine import Machine
from asyncmachine.graph import GraphBuilder, MachineDesc, render_machine, render_network
from tests.graph.graph_helpers import parent, rich_worker

PEERS = [
    "12D3KooWQN3MxfnYadkVntb37WFXbnjy68zYNmSAEn7bn3J5YUjs",
    "12D3KooWMEg5ZKR2Hwq8dkN5oCJt4s9vY6ZrS1uTq7GdPg9kWH",
    "12D3KooWHx7pZb2vLWfRnTqUe3cY9sJ4kMdA8oNiVtBr2XqLf5",
    "12D3KooWJm4sKc8pVQzN1yTr6bXw2eDfGh5iLo7uRtYv3AsZe9",
]
OBSERVER = "12D3KooWFz9cVb8nM7xL6kJ5hG4fD3sA2qW1eR9tY8uI7oPob5"
DEPARTED = "12D3KooWAa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj1Kk2Ll3MmOld01"
"""An earlier observer still named in a peer's links record."""


def sample_network() -> nx.MultiDiGraph:
    """4 peers in a ring with a chord, an observer on the first, a departed observer
    in one links record; a parent and workers with active states, and a demo machine."""
    b = GraphBuilder()
    ring = {p: [PEERS[(i + 1) % 4], PEERS[(i - 1) % 4]] for i, p in enumerate(PEERS)}
    ring[PEERS[0]].append(PEERS[2])
    ring[PEERS[1]].append(DEPARTED)
    for pid, conns in ring.items():
        b.add_peer(pid)
        b.set_connections(pid, conns, conns)
    b.add_peer(OBSERVER, local=True)
    b.set_connections(OBSERVER, [PEERS[0]])
    p1 = parent("scheduler")
    p1.add(["Start", "Ready"])
    b.add_machine(p1, peer_id=PEERS[0])
    for i, peer in enumerate(PEERS[1:], 1):
        w = rich_worker(f"worker-{i}", parent="scheduler")
        w.add(["Foo", "Bar"] if i % 2 else ["Baz"])
        b.add_machine(MachineDesc.of(w, peer_id=peer, mirror=True))
    demo = Machine({"Start": {}, "Idle": {}, "Working": {}}, id=f"demo-{PEERS[3][-6:]}")
    demo.add(["Start", "Idle"])
    b.add_machine(demo, peer_id=PEERS[3])
    b.graph.graph["topic"] = "asyncmachine"
    return b.graph


def main(out: str) -> None:
    g = sample_network()
    render_network(g, Path(out) / "network.png")
    render_machine(g, "worker-1", Path(out) / "machine.png")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/img")
