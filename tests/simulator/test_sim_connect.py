"""Model backend with connections: connection managers, kill/partition scenarios, healing."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import trio
import trio.testing

from asyncmachine.cli import main as cli_main
from asyncmachine.pubsub import ConnectSettings
from asyncmachine.simulator import SimConfig, validate
from asyncmachine.simulator._config import ConfigError
from asyncmachine.simulator._convergence import MirrorTracker
from asyncmachine.simulator._model_connect import DIAL_TIMEOUT, ModelConnections
from asyncmachine.simulator._model_net import ModelNetwork
from asyncmachine.simulator._report import deterministic_view
from asyncmachine.simulator._runner_model import run_model

SMALL = {"peers": 30, "machines": 2, "duration": 20.0, "settle": 30.0, "mutation_rate": 3.0}


def _run(**kw: Any) -> dict[str, Any]:
    d = run_model(SimConfig(**{**SMALL, **kw}))
    assert validate(d) == []
    return d


def test_kill_bootstrap_heals() -> None:
    d = _run(kill_bootstrap_at=10.0)
    net = d["network"]
    assert net["connections"] == "managed"
    kill = net["events"][0]
    assert kill["kind"] == "kill" and kill["t"] == pytest.approx(10.0)
    # the managers built a graph no single death splits
    assert kill["node_connectivity_before"] >= 2
    heal = net["heal"][0]
    assert heal["graph_connected_s"] is not None
    assert heal["mirrors_converged_s"] is not None
    assert d["sync"]["converged_ratio"] == 1.0
    assert net["connectivity"][-1]["alive"] == 29


def test_partition_heals() -> None:
    d = _run(partition=10.0, settle=120.0)
    net = d["network"]
    assert [e["kind"] for e in net["events"]] == ["split", "join"]
    split_t, join_t = net["events"][0]["t"], net["events"][1]["t"]
    assert join_t - split_t == pytest.approx(10.0)
    during = [s for s in net["connectivity"] if split_t < s["t"] < join_t]
    assert during and all(s["components"] == 2 for s in during)
    heal = net["heal"][0]
    assert heal["event"] == "join"
    assert heal["graph_connected_s"] is not None and heal["mirrors_converged_s"] is not None
    assert d["sync"]["converged_ratio"] == 1.0
    assert net["dials"]["failures"] > 0  # dials across the cut timed out


def test_static_topology_partition_relinks() -> None:
    d = _run(peers=12, topology="random", partition=5.0, settle=90.0)
    assert d["network"]["connections"] == "static" and d["network"]["dials"] is None
    assert d["network"]["heal"][0]["graph_connected_s"] == 0.0


def test_same_seed_same_json_with_scenarios() -> None:
    # without deadline ties broken in order, runs of this scenario differed in one process
    kw: dict[str, Any] = {"duration": 30.0, "mutation_rate": 2.0, "partition": 10.0}
    a = json.dumps(deterministic_view(_run(**kw)), sort_keys=True)
    b = json.dumps(deterministic_view(_run(**kw)), sort_keys=True)
    assert a == b


def _dial_run(kill: bool) -> tuple[int, int, float]:
    """Peer 0's manager dials peer 1, which is dead (or behind a partition), for 40 s;
    returns (dial attempts, failures, seconds until the first failure)."""
    first_failure: list[float] = []

    async def main() -> tuple[int, int, float]:
        net = ModelNetwork("t", capacity=2, rng=random.Random(1))
        conns = ModelConnections(net, ConnectSettings(), seed=1)
        net.join(0, "a", [])
        net.join(1, "b", [])
        if kill:
            net.kill(1)
        else:
            net.split(bytearray([0, 1]))
        m = conns.attach(0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(conns.run_peer, 0, [1])
            while not m.counters.dial_failures:
                await trio.sleep(0.01)
            first_failure.append(trio.current_time())
            await trio.sleep(40.0)
            c = m.counters
            entry = m.book.get("b")
            assert entry is not None and entry.failures == c.dial_failures
            assert entry.next_attempt > trio.current_time() - 1e-9
            nursery.cancel_scope.cancel()
        assert net.adj[0] == []
        return c.dial_attempts, c.dial_failures, first_failure[0]

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_dials_to_a_dead_peer_fail_and_back_off() -> None:
    attempts, failures, first = _dial_run(kill=True)
    assert first < 1.0  # refused after a round trip
    # exponential backoff: 1, 2, 4, 8, 10, 10 ... s, not one dial per tick
    assert 3 <= failures <= 10 and attempts - failures <= 1


def test_dials_across_a_partition_time_out() -> None:
    _, failures, first = _dial_run(kill=False)
    assert first >= 0.9 * DIAL_TIMEOUT
    assert 1 <= failures <= 4


def test_mirror_tracker_counts_stale_pairs() -> None:
    t = MirrorTracker(3, 1)
    converged: list[float] = []
    t.on_converged = converged.append
    t.add_peer(0, [0])
    t.add_peer(1, [0])
    assert t.stale == 2  # nobody holds a mirror yet
    t.on_discovered(0, 1, 0, 1.0)
    t.on_discovered(1, 0, 0, 1.5)
    assert t.stale == 0 and converged == [1.5]
    t.on_mutation(1, 0, 3)
    assert t.stale == 1
    t.on_clock(0, 1, 0, 2.0, 3)
    assert t.stale == 0 and converged[-1] == 2.0
    t.add_peer(2, [5])
    assert t.stale == 4
    t.remove_peer(2, 3.0)
    assert t.stale == 0 and converged[-1] == 3.0


@pytest.mark.parametrize(
    "kw",
    [
        {"kill_bootstrap_at": 60.0},
        {"kill_bootstrap_at": -1.0},
        {"partition": 50.0},
        {"partition": -1.0},
        {"partition": 5.0, "peers": 3},
        {"conn_low": 5, "conn_high": 2},
        {"backend": "libp2p", "kill_bootstrap_at": 1.0},
        {"backend": "libp2p", "conn_low": 2},
    ],
)
def test_bad_scenarios(kw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        SimConfig(**{"procs": 1, **kw})


@pytest.mark.parametrize(
    "argv",
    [["--connections", "4"], ["--connections", "9:3"], ["--partition", "59"]],
)
def test_cli_bad_scenario_flags(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        rc = cli_main(["sim", *argv])
    except SystemExit as e:
        rc = int(e.code or 0)
    err = capsys.readouterr().err
    assert rc == 2 and "error" in err and "Traceback" not in err


def test_recorder_forgets_a_dead_peer() -> None:
    from asyncmachine.simulator._metrics import Recorder

    rec = Recorder(3, 1)
    rec.set_expected(6, 0.0)
    for r, o in [(0, 1), (1, 0), (2, 0), (0, 2), (1, 2), (2, 1)]:
        rec.on_discovered(r, o, 0, 0.0)
    rec.on_mutation(1, 0, 1.0, 1)  # expected at peers 0 and 2
    rec.on_clock(2, 1, 0, 1.1, 1)
    rec.forget_peer(0)  # dies before it got the change: it can never arrive
    rec.set_expected(2, 1.2)
    assert rec.sync()["converged_ratio"] == 1.0
    assert rec.discovered == 2  # peer 0's own mirrors and the mirrors of its machine
    rec.on_removed(1, 0, 0)  # its mirror times out later: counted once
    assert rec.discovered == 2


def test_model_transport_is_self_organizing() -> None:
    from asyncmachine.pubsub import AddressSource, SelfOrganizing

    async def main() -> None:
        net = ModelNetwork("t", capacity=2, rng=random.Random(1))
        t = net.join(0, "a", [])
        assert isinstance(t, SelfOrganizing)
        assert not t.learn_addresses("b", ["/memory/b/p2p/b"])  # static: no manager
        ModelConnections(net, ConnectSettings(), seed=1).attach(0)
        assert t.learn_addresses("b", ["/memory/b/p2p/b"])
        assert not t.learn_addresses("c", ["not an address"])
        t.note_links("b", ["a"])
        assert t.known_peers() == {"b": ["/memory/b/p2p/b"]}
        assert t.manager is not None
        entry = t.manager.book.get("b")
        assert entry is not None and entry.source is AddressSource.RECORD
        assert entry.links == frozenset({"a"})

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
