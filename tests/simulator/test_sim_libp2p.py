"""libp2p backend: a small sharded run (6 peers, 2 processes) discovers and syncs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asyncmachine.graph import machines, peers
from asyncmachine.graph._export import read_json
from asyncmachine.simulator import SimConfig, validate
from asyncmachine.simulator._runner_libp2p import run_libp2p, workload_over

CFG = SimConfig(backend="libp2p", peers=3, machines=1, procs=2, settle=10.0)
UNTIL = 100.0


def _status(t: float, done: bool, mirrors: int, mirror_sum: int, own: int) -> dict[str, Any]:
    return {
        "t": t,
        "mutations_done": done,
        "mirrors": mirrors,
        "mirror_sum": mirror_sum,
        "own_sum": own,
    }


def test_run_ends_after_every_shards_mutations_had_their_settle_time() -> None:
    # 3 peers x 1 machine: 6 mirrors; shard 0 has 2 peers (own sum 4), shard 1 one (own 2)
    converged = [_status(UNTIL + 1, True, 4, 8 + 0, 4), _status(UNTIL + 1, True, 2, 4, 2)]
    assert workload_over(CFG, converged, UNTIL + 1.5, UNTIL)
    # the same sums, but shard 1 got "go" late and is still mutating: not over
    late = [converged[0], _status(UNTIL + 1, False, 2, 4, 2)]
    assert not workload_over(CFG, late, UNTIL + 1.5, UNTIL)
    # a status from before the end of mutations may hide mutations still to come
    stale = [converged[0], _status(UNTIL - 0.5, True, 2, 4, 2)]
    assert not workload_over(CFG, stale, UNTIL + 1.5, UNTIL)
    # not converged: over only once settle passed since the end of every shard's mutations
    behind = [_status(UNTIL + 1, True, 4, 7, 4), converged[1]]
    assert not workload_over(CFG, behind, UNTIL + CFG.settle - 0.1, UNTIL)
    assert workload_over(CFG, behind, UNTIL + CFG.settle, UNTIL)
    # before the end of mutations, never
    assert not workload_over(CFG, converged, UNTIL - 0.1, UNTIL)
    # a shard that never reported
    assert workload_over(CFG, [converged[0], {}], UNTIL + CFG.settle, UNTIL)
    assert not workload_over(CFG, [converged[0], {}], UNTIL + 1, UNTIL)


@pytest.mark.slow
def test_six_peers_two_procs(tmp_path: Path) -> None:
    cfg = SimConfig(
        backend="libp2p",
        peers=6,
        machines=2,
        procs=2,
        duration=4.0,
        settle=25.0,
        mutation_rate=2.0,
        warmup=300.0,  # a quiet start (the default starts with the hosts: test_cli_sim)
    )
    d = run_libp2p(cfg, graph=tmp_path / "net.json")
    assert validate(d) == []
    assert d["discovery"]["complete_ratio"] == 1.0
    # the workload starts on a fully discovered network
    assert d["workload_start_s"] >= d["discovery"]["time_s"]
    assert d["sync"]["converged_ratio"] == 1.0
    # every shard's mutations ended at the one instant the parent sent with go, and the
    # run stopped only after it (a shard that got go late used to mutate past the stop)
    assert d["workload_start_s"] < d["last_mutation_s"] <= d["workload_end_s"] <= d["stopped_s"]
    assert d["partial"] is False
    assert d["gossipsub"]["probes"] > 0
    assert d["gossipsub"]["delivered_ratio"] > 0.9
    assert len(d["resources"]["procs"]) == 2
    # the routers' counts (null before: py-libp2p counts nothing): meshes formed by GRAFT,
    # 6 peers of degree 4 forward each other's messages
    ctl = d["traffic"]["control"]
    assert ctl["graft"] > 0 and all(isinstance(ctl[k], int) for k in ("ihave", "iwant", "prune"))
    assert d["bandwidth"]["forwarded"]["bytes"]["max"] > 0
    g = read_json(tmp_path / "net.json")  # the network as peer 0 saw it, from shard 0
    assert len(peers(g)) == 6 and len(machines(g)) == 12
