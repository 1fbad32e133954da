"""Model backend: determinism, churn/loss effects, JSON schema, CLI errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from asyncmachine.cli import main as cli_main
from asyncmachine.simulator import REPORT_SCHEMA, SimConfig, validate
from asyncmachine.simulator._config import ConfigError
from asyncmachine.simulator._report import deterministic_view
from asyncmachine.simulator._runner_model import run_model
from asyncmachine.simulator._topology import build_topology
from asyncmachine.simulator._workload import stream

SMALL = {"peers": 12, "machines": 2, "duration": 10.0, "settle": 20.0, "mutation_rate": 3.0}


def _run(**kw: Any) -> dict[str, Any]:
    return run_model(SimConfig(**{**SMALL, **kw}))


def test_small_run_discovers_and_converges() -> None:
    d = _run()
    assert d["discovery"]["complete_ratio"] == 1.0
    assert d["discovery"]["time_s"] is not None
    assert d["sync"]["converged_ratio"] == 1.0
    assert d["sync"]["mutations"] > 0
    assert d["sync"]["latency_ms"]["p50"] > 0
    assert validate(d) == []


def test_discovery_cost_figures() -> None:
    """Duplicates per mirror and the end of discovery traffic: a startup burst repeats
    (almost) nothing, and its discovery messages end within the first seconds."""
    d = _run(peers=30, machines=3)
    disc = d["discovery"]
    assert disc["duplicates_per_mirror"] == round(d["traffic"]["duplicates"] / (30 * 29 * 3), 3)
    assert disc["duplicates_per_mirror"] < 0.5
    assert disc["quiet_s"] is not None and 0 < disc["quiet_s"] < 5.0


def test_same_seed_same_json() -> None:
    a = json.dumps(deterministic_view(_run(seed=7, churn=6.0, loss=0.02)), sort_keys=True)
    b = json.dumps(deterministic_view(_run(seed=7, churn=6.0, loss=0.02)), sort_keys=True)
    assert a == b


def test_same_seed_same_json_across_processes(tmp_path: Path) -> None:
    outs = []
    for i in range(2):
        p = tmp_path / f"r{i}.json"
        rc = subprocess.run(
            [
                sys.executable,
                "-m",
                "asyncmachine.cli",
                "sim",
                "--peers",
                "8",
                "--machines",
                "2",
                "--duration",
                "5",
                "--settle",
                "10",
                "--seed",
                "3",
                "--quiet",
                "--json",
                str(p),
            ],
            capture_output=True,
            check=False,
        ).returncode
        assert rc == 0
        outs.append(deterministic_view(json.loads(p.read_text())))
    assert outs[0] == outs[1]


def test_other_seed_differs() -> None:
    a = deterministic_view(_run(seed=1))
    b = deterministic_view(_run(seed=2))
    assert a["sync"] != b["sync"]


def test_loss_costs_latency_and_repairs() -> None:
    clean = _run(seed=5)
    lossy = _run(seed=5, loss=0.3)
    assert lossy["traffic"]["link"]["lost"] > 0
    assert lossy["traffic"]["link"]["repaired"] > clean["traffic"]["link"]["repaired"]
    assert lossy["sync"]["latency_ms"]["p99"] > clean["sync"]["latency_ms"]["p99"]


def test_latency_scales_with_link_latency() -> None:
    fast = _run(latency_ms=5.0, jitter_ms=0.0)
    slow = _run(latency_ms=50.0, jitter_ms=0.0)
    assert slow["sync"]["latency_ms"]["p50"] > fast["sync"]["latency_ms"]["p50"]


def test_churn_replaces_peers_and_costs_traffic() -> None:
    calm = _run(seed=4)
    churny = _run(seed=4, churn=30.0)
    assert churny["churn"]["left"] > 0 and churny["churn"]["joined"] == churny["churn"]["left"]
    assert churny["traffic"]["messages"] > calm["traffic"]["messages"]
    assert churny["discovery"]["complete_ratio"] > 0.9


@pytest.mark.parametrize("kind", ["random", "line", "full"])
def test_topologies_connected(kind: str) -> None:
    adj = build_topology(kind, 30, 3, stream(1, "topo"))
    seen, todo = {0}, [0]
    while todo:
        for q in adj[todo.pop()]:
            if q not in seen:
                seen.add(q)
                todo.append(q)
    assert len(seen) == 30


def test_schema_rejects_bad_documents() -> None:
    d = _run(peers=4, duration=2.0)
    assert validate(d) == []
    bad = dict(d)
    bad["sync"] = {**d["sync"], "converged_ratio": 1.5}
    del bad["traffic"]
    errs = validate(bad)
    assert any("converged_ratio" in e for e in errs)
    assert any("traffic" in e for e in errs)
    assert REPORT_SCHEMA["required"]


def test_docs_schema_matches_code() -> None:
    doc = Path(__file__).parents[2] / "docs" / "simulator.md"
    text = doc.read_text()
    start = text.index("```json\n", text.index("## JSON schema")) + len("```json\n")
    assert json.loads(text[start : text.index("```", start)]) == REPORT_SCHEMA


@pytest.mark.parametrize(
    "kw",
    [
        {"peers": 1},
        {"loss": 1.5},
        {"duration": 0},
        {"backend": "x"},
        {"topology": "ring"},
        {"backend": "libp2p", "churn": 1.0},
    ],
)
def test_bad_config(kw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        SimConfig(**kw)


@pytest.mark.parametrize(
    "argv",
    [
        ["--peers", "1"],
        ["--peers", "x"],
        ["--loss", "2"],
        ["--backend", "nope"],
        ["--json", "/nonexistent-dir/x.json"],
        ["--probe-rate", "-1"],
        ["--graph", "/nonexistent-dir/g.json"],
        ["--warmup", "soon"],
    ],
)
def test_cli_bad_flags(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        rc = cli_main(["sim", *argv])
    except SystemExit as e:
        rc = int(e.code or 0)
    err = capsys.readouterr().err
    assert rc != 0
    assert "error" in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["net.json", "net.graphml"])
def test_cli_writes_the_network_graph(tmp_path: Path, name: str) -> None:
    import networkx as nx

    from asyncmachine.graph import machines, peers, stats
    from asyncmachine.graph._export import read_json

    path = tmp_path / name
    # 12 s: past every peer's first heartbeat, which publishes its links record
    rc = cli_main(
        [
            "sim",
            "--peers",
            "5",
            "--machines",
            "2",
            "--duration",
            "12",
            "--settle",
            "5",
            "--quiet",
            "--graph",
            str(path),
        ]
    )
    assert rc == 0
    if name.endswith(".json"):
        g = read_json(path)
        assert len(peers(g)) == 5 and len(machines(g)) == 10
        st = stats(g)  # every peer's reported links, not just the observer's (a star)
        assert st.components == 1 and st.peer_links == 10  # the model links everyone here
    else:
        g = nx.read_graphml(path)
        kinds = [d["kind"] for _, d in g.nodes(data=True)]
        assert kinds.count("peer") == 5 and kinds.count("machine") == 10


def test_cli_writes_outputs(tmp_path: Path) -> None:
    js, cs = tmp_path / "r.json", tmp_path / "r.csv"
    rc = cli_main(
        [
            "sim",
            "--peers",
            "5",
            "--machines",
            "1",
            "--duration",
            "3",
            "--settle",
            "5",
            "--quiet",
            "--json",
            str(js),
            "--csv",
            str(cs),
            "--plots",
            str(tmp_path),
        ]
    )
    assert rc == 0
    doc = json.loads(js.read_text())
    assert validate(doc) == [] and doc["backend"] == "model"
    assert (
        cs.read_text().splitlines()[0]
        == "t,alive,discovery_ratio,sync_ratio,messages,bytes,received"
    )
    assert (tmp_path / "latency_cdf.png").exists()
