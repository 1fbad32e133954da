"""``asyncmachine bench``: a matrix of runs -> bench.md with a row per run, plots, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asyncmachine.cli import main as cli_main
from asyncmachine.simulator import _bench as bench


def test_bench_writes_a_markdown_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        bench.MATRICES,
        "tiny",
        [
            {"backend": "model", "peers": 4, "machines": 1, "duration": 2.0, "settle": 5.0},
            {"backend": "model", "peers": 6, "machines": 2, "duration": 2.0, "settle": 5.0},
        ],
    )
    out = tmp_path / "res"
    rc = cli_main(["bench", "--matrix", "tiny", "--out", str(out), "--quiet"])
    assert rc == 0
    md = (out / "bench.md").read_text()
    rows = [ln for ln in md.splitlines() if ln.startswith("| model |")]
    assert [r.split("|")[2].strip() for r in rows] == ["4", "6"]
    assert "asyncmachine sim --backend model --peers 6 --machines 2" in md
    for png in ("latency_cdf.png", "convergence.png", "traffic_per_peer.png"):
        assert (out / png).stat().st_size > 0 and f"]({png})" in md
    runs = sorted(out.glob("run*-model-*.json"))
    assert len(runs) == 2
    assert json.loads(runs[1].read_text())["sync"]["converged_ratio"] == 1.0


def test_bench_refuses_an_unknown_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["bench", "--matrix", "nope"]) == 2
    assert "unknown matrix 'nope'" in capsys.readouterr().err


def test_markdown_flags_saturated_libp2p_runs() -> None:
    cfg = {
        "backend": "libp2p",
        "peers": 100,
        "machines": 3,
        "seed": 1,
        "duration": 60.0,
        "settle": 30.0,
        "procs": 2,
        "mutation_rate": 2.0,
        "probe_rate": 2.0,
    }
    d = {
        "backend": "libp2p",
        "peers": 100,
        "config": cfg,
        "discovery": {"complete_ratio": 0.99, "time_s": None},
        "sync": {
            "converged_ratio": 0.14,
            "latency_ms": {"p50": 40_000.0, "p90": 80_000.0, "p99": 90_000.0, "max": 91_000.0},
        },
        "traffic": {"messages": 10, "bytes": 2048, "duplicates": 0},
        "gossipsub": {
            "probes": 120,
            "delivered_ratio": 0.14,
            "latency_ms": {"p50": 40_000.0, "p99": 90_000.0},
        },
        "resources": {"cpu_s": 300.0, "max_rss_mb": 400.0, "wall_s": 200.0},
    }
    md = bench.markdown([d], [])
    assert "--probe-rate 2" in md
    assert "**warning**: py-libp2p saturated" in md
