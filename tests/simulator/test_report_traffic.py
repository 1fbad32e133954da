"""What gossipsub evaluations report (issue 15): bandwidth per peer and its spread,
per-peer latency, the raw gossipsub curve on the sync CDF, control traffic and mesh
sizes, run metadata, the cost of churn and loss, plots that keep virtual and wall-clock
seconds apart, and a schema that checks every new field."""

from __future__ import annotations

import copy
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from asyncmachine.pubsub.libp2p import TransportCounters
from asyncmachine.simulator import SimConfig, validate, write_csv
from asyncmachine.simulator._bench import markdown
from asyncmachine.simulator._metrics import Recorder
from asyncmachine.simulator._report import summary_rows
from asyncmachine.simulator._run_meta import run_metadata
from asyncmachine.simulator._runner_libp2p import by_peer, gossipsub_section, merge
from asyncmachine.simulator._runner_model import run_model
from asyncmachine.simulator._traffic import bandwidth, control, costs

LOSSY = {"peers": 10, "machines": 1, "duration": 5.0, "settle": 20.0, "mutation_rate": 4.0}


@pytest.fixture(scope="module")
def lossy() -> dict[str, Any]:
    """A model run with churn and loss (both have a cost to show)."""
    return run_model(SimConfig(**LOSSY, churn=12.0, loss=0.1, seed=3))


def _shard_log(k: int, peers: list[int]) -> dict[str, Any]:
    """A libp2p shard's log: one discovery, a mutation delivered, traffic samples."""
    return {
        "events": [
            ["d", 100.0, peers[0], 1 - k, 0],
            ["m", 100.5, 1 - k, 0, 1],
            ["c", 100.6 + k, peers[0], 1 - k, 0, 1],
        ],
        "traffic": [
            [100.0, 0, 0, 0, [1]],
            [100.5, 2 + k, 200, 3, [1]],
            [101.5, 4 + k, 400, 6, [1 + k]],
        ],
        "probes": [[0.002 * (k + 1), 0.004]],
        "probes_sent": 2,
        "topic_metrics": [],
        "usage": {"cpu_s": 0.1, "max_rss_mb": 50.0, "wall_s": 2.0},
    }


def test_bandwidth_per_peer_received_and_spread(lossy: dict[str, Any]) -> None:
    bw = lossy["bandwidth"]
    for part in ("published", "received", "link_sent"):
        spread = bw[part]["messages"]
        assert set(spread) == {"mean", "p50", "p99", "max"}
        assert 0 < spread["p50"] <= spread["p99"] <= spread["max"]
    assert bw["received"]["bytes"]["max"] > bw["published"]["bytes"]["max"]
    assert bw["link_received"]["messages"]["max"] > 0
    assert bw["forwarded"] is None  # the model counts forwards only within link_sent
    rows = dict(summary_rows(lossy))
    assert "per peer received msgs / KiB p50/p99/max" in rows


def test_libp2p_time_series_carries_the_shards_traffic(tmp_path: Path) -> None:
    """The libp2p CSV had messages = bytes = 0 in every row."""
    cfg = SimConfig(backend="libp2p", peers=2, machines=1, procs=2, sample_interval=1.0)
    logs = [_shard_log(0, [0]), _shard_log(1, [1])]
    rec, traffic = merge(cfg, logs, 100.0)
    last = rec.samples[-1]
    assert (last.messages, last.bytes, last.received) == (4 + 5, 800, 12)
    assert traffic.mesh[0] == [0.0, 1, 1, 1] and traffic.mesh[-1][1:] == [1, 1, 2]
    g = gossipsub_section(cfg, logs, traffic)
    assert g["mesh_size"] == traffic.mesh
    assert g["latency_cdf"][-1] == [4.0, 1.0]  # raw probe CDF, ms


def test_libp2p_control_and_forwards_come_from_the_peers_counters(
    lossy: dict[str, Any],
) -> None:
    """libp2p reported null control counts and forwards: nothing counted them."""
    counters = [
        asdict(TransportCounters(ihave_sent=4, iwant_sent=1, graft_sent=2, forwarded=3)),
        asdict(
            TransportCounters(
                graft_sent=1, prune_sent=1, forwarded=5, bytes_forwarded=900, outbound_dropped=7
            )
        ),
    ]
    ctl = control(None, counters)
    assert ctl == {
        "repairs": None,
        "ihave": 4,
        "iwant": 1,
        "graft": 3,
        "prune": 1,
        "outbound_dropped": 7,
    }
    fwd = bandwidth([], None, counters)["forwarded"]
    assert fwd["messages"]["max"] == 5.0 and fwd["bytes"]["max"] == 900.0
    doc = copy.deepcopy(lossy)
    doc["traffic"]["control"], doc["bandwidth"]["forwarded"] = ctl, fwd
    assert validate(doc) == []
    rows = dict(summary_rows(doc))
    assert rows["control sent IHAVE / IWANT / GRAFT / PRUNE"] == "4 / 1 / 3 / 1"
    assert rows["RPCs dropped at full neighbour queues"] == "7"
    assert "per peer forwarded msgs / KiB p50/p99/max" in rows
    assert control(None, None)["graft"] is None
    assert control(None, None)["outbound_dropped"] is None


def test_libp2p_per_peer_lists_are_in_peer_order() -> None:
    """Shard k holds the peers idx % procs == k: concatenated shard by shard, the report
    put peer 2's numbers under peer 1 (a peer that received nothing was misnamed)."""
    logs = [
        {"topic_peers": [0, 2, 4], "counters": ["c0", "c2", "c4"]},
        {"topic_peers": [1, 3], "counters": ["c1", "c3"]},
    ]
    assert by_peer(logs, "counters") == ["c0", "c1", "c2", "c3", "c4"]


def test_per_peer_latency_names_the_worst_receiver() -> None:
    rec = Recorder(3, 1)
    for r in (1, 2):
        rec.on_discovered(r, 0, 0, 0.0)
    rec.on_mutation(0, 0, 1.0, 1)
    rec.on_clock(1, 0, 0, 1.01, 1)
    rec.on_clock(2, 0, 0, 1.5, 1)
    pp = rec.per_peer_latency()
    assert pp["peers"] == 2
    assert pp["worst"] == {
        "peer": 2,
        "deliveries": 1,
        "p50_ms": 500.0,
        "p99_ms": 500.0,
        "max_ms": 500.0,
    }
    assert pp["p99_ms"]["p50"] == 10.0 and pp["p99_ms"]["max"] == 500.0
    assert Recorder(2, 1).per_peer_latency()["worst"] is None


def test_costs_of_churn_and_loss_are_in_the_table(lossy: dict[str, Any]) -> None:
    cost, link = lossy["cost"], lossy["traffic"]["link"]
    firsts = link["received"] - link["duplicates"]
    assert cost["link_duplicates_per_delivery"] == round(link["duplicates"] / firsts, 6)
    assert cost["repair_share"] == round(link["repaired"] / firsts, 6) > 0
    assert 0.05 < cost["lost_share"] < 0.2  # --loss 0.1
    assert lossy["traffic"]["control"]["repairs"] == link["repaired"]
    rows = dict(summary_rows(lossy))
    assert "duplicate records per delivery" in rows
    assert "repair share" in " ".join(rows)
    assert costs({"duplicates": 6, "deliveries": 3})["duplicates_per_delivery"] == 2.0
    assert costs({"duplicates": 0, "deliveries": 0})["duplicates_per_delivery"] is None


def test_run_metadata(lossy: dict[str, Any]) -> None:
    run = lossy["run"]
    assert run["version"] and run["python"] and run["cpus"] >= 1
    root = Path(__file__).parents[2]
    head = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    assert run["commit"] == (head or None)
    meta = run_metadata(["/x/bin/asyncmachine", "sim", "--peers", "5", "--json", "a b.json"])
    assert meta["command"] == "asyncmachine sim --peers 5 --json 'a b.json'"
    assert meta["date"].endswith("+00:00")
    assert "run" in dict(summary_rows(lossy))


def test_schema_validates_every_new_field(lossy: dict[str, Any]) -> None:
    assert validate(lossy) == []
    breakages = [
        (("run", "cpus"), 0),
        (("run", "commit"), 5),
        (("cost", "lost_share"), 1.5),
        (("cost", "repair_share"), -1),
        (("bandwidth", "received"), {"messages": {"mean": 1}}),
        (("sync", "per_peer", "worst"), {"peer": -1}),
        (("traffic", "control", "ihave"), "many"),
        (("traffic", "link", "received"), -2),
    ]
    for path, value in breakages:
        bad = copy.deepcopy(lossy)
        node = bad
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        assert validate(bad), path
    for key in ("run", "bandwidth", "cost"):
        bad = copy.deepcopy(lossy)
        del bad[key]
        assert validate(bad) == [f"$.{key}: required"]
    bad = copy.deepcopy(lossy)
    del bad["timeseries"][0]["received"]
    assert validate(bad) == ["$.timeseries[0].received: required"]


def test_csv_has_received(lossy: dict[str, Any], tmp_path: Path) -> None:
    write_csv(lossy, tmp_path / "r.csv")
    head, *rows = (tmp_path / "r.csv").read_text().splitlines()
    assert head.endswith(",messages,bytes,received")
    assert int(rows[-1].split(",")[-1]) > 0


def _libp2p_doc(lossy: dict[str, Any]) -> dict[str, Any]:
    d = copy.deepcopy(lossy)
    d.update(backend="libp2p", virtual_time=False)
    d["gossipsub"] = {
        "latency_ms": {"p50": 3.0, "p90": 5.0, "p99": 9.0, "max": 12.0},
        "latency_cdf": [[1.0, 0.5], [12.0, 1.0]],
        "probes": 4,
        "delivered_ratio": 1.0,
        "mesh_size": [[0.0, 2, 3, 4], [1.0, 2, 3, 5]],
    }
    return d


def test_plots_keep_virtual_and_wall_seconds_apart(lossy: dict[str, Any], tmp_path: Path) -> None:
    """bench.md plotted model (virtual) and libp2p (wall) seconds on one axis; the latency
    CDF had a linear axis and no raw gossipsub curve."""
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from asyncmachine.simulator import _plots, write_plots

    lib = _libp2p_doc(lossy)
    names = {p.name for p in write_plots([lossy, lib], tmp_path)}
    assert names == {
        "latency_cdf_model.png",
        "latency_cdf_libp2p.png",
        "convergence_model.png",
        "convergence_libp2p.png",
        "traffic_per_peer.png",
        "mesh_size.png",
    }
    assert {p.name for p in write_plots([lossy], tmp_path / "one")} == {
        "latency_cdf.png",
        "convergence.png",
        "traffic_per_peer.png",
    }
    fig, ax = _plots._latency_cdf(plt, [lib], False)
    assert ax.get_xscale() == "log" and "wall-clock" in ax.get_xlabel()
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == ["libp2p 10x1", "libp2p 10x1 raw gossipsub"]
    plt.close(fig)
    md = markdown([lossy, lib], [])
    assert "| virtual |" in md and "| wall |" in md
    assert f"commit {lossy['run']['commit'] or 'unknown'}" in md
