"""libp2p backend: a small sharded run (6 peers, 2 processes) discovers and syncs."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncmachine.graph import machines, peers
from asyncmachine.graph._export import read_json
from asyncmachine.simulator import SimConfig, validate
from asyncmachine.simulator._runner_libp2p import run_libp2p


@pytest.mark.slow
def test_six_peers_two_procs(tmp_path: Path) -> None:
    cfg = SimConfig(
        backend="libp2p", peers=6, machines=2, procs=2, duration=4.0, settle=25.0, mutation_rate=2.0
    )
    d = run_libp2p(cfg, graph=tmp_path / "net.json")
    assert validate(d) == []
    assert d["discovery"]["complete_ratio"] == 1.0
    # the workload starts on a fully discovered network
    assert d["workload_start_s"] >= d["discovery"]["time_s"]
    assert d["sync"]["converged_ratio"] == 1.0
    assert d["gossipsub"]["probes"] > 0
    assert d["gossipsub"]["delivered_ratio"] > 0.9
    assert len(d["resources"]["procs"]) == 2
    g = read_json(tmp_path / "net.json")  # the network as peer 0 saw it, from shard 0
    assert len(peers(g)) == 6 and len(machines(g)) == 12
