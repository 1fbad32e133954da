"""Discovery t90 and ratios: a miss is never reported as complete."""

from __future__ import annotations

from asyncmachine.simulator import SimConfig
from asyncmachine.simulator._metrics import Recorder, ratio
from asyncmachine.simulator._report import percent, summary_rows
from asyncmachine.simulator._runner_model import run_model


def test_t90_is_when_90_percent_were_discovered() -> None:
    rec = Recorder(capacity=3, machines=1, start=10.0)
    rec.sample(10.0, 3, 0, 0)  # t=0: nothing expected yet (it counted as 100 %)
    rec.set_expected(6, 10.0)
    for k, (r, o) in enumerate([(0, 1), (0, 2), (1, 0), (1, 2), (2, 0)]):
        rec.on_discovered(r, o, 0, 10.5 + k)
    assert rec.discovery()["t90_s"] is None  # 5/6 < 90 %
    rec.on_discovered(2, 1, 0, 17.0)
    d = rec.discovery()
    assert d["t90_s"] == 7.0 and d["time_s"] == 7.0


def test_model_report_has_a_real_t90() -> None:
    d = run_model(SimConfig(peers=10, machines=2, duration=2.0, settle=10.0))["discovery"]
    assert d["time_s"] is not None
    assert 0 < d["t90_s"] <= d["time_s"]


def test_a_miss_is_never_rounded_up() -> None:
    assert ratio(20721, 20722) < 1.0
    assert ratio(999_999_999, 1_000_000_000) == 0.999999
    assert ratio(5, 5) == ratio(6, 5) == ratio(0, 0) == 1.0
    assert percent(20721, 20722) == "99.99 %"
    assert percent(1, 3) == "33.33 %"
    assert percent(3, 3) == percent(0, 0) == "100.00 %"


def _doc(**kw: object) -> dict[str, object]:
    lat = {"p50": 1.0, "p90": 1.0, "p99": 1.0, "max": 1.0}
    doc: dict[str, object] = {
        "backend": "model",
        "peers": 2,
        "machines_per_peer": 1,
        "seed": 1,
        "duration_s": 3.0,
        "virtual_time": True,
        "partial": False,
        "discovery": {
            "complete_ratio": 1.0,
            "time_s": 0.1,
            "pairs": 20721,
            "expected_pairs": 20722,
        },
        "sync": {
            "mutations": 1,
            "converged_ratio": 1.0,
            "deliveries": 9,
            "expected": 10,
            "latency_ms": lat,
        },
        "traffic": {
            "messages": 1,
            "bytes": 1,
            "duplicates": 0,
            "per_peer": {"messages": {"mean": 1, "max": 1}},
        },
        "resources": {"cpu_s": 1.0, "max_rss_mb": 1.0, "wall_s": 1.0},
    }
    doc.update(kw)
    return doc


def test_table_shows_misses_and_partial_runs() -> None:
    rows = dict(summary_rows(_doc()))
    assert rows["discovery complete"].startswith("99.99 % (20721/20722")
    assert rows["mirrors converged"].startswith("90.00 % (9/10)")
    assert "PARTIAL" not in rows
    assert "interrupted" in dict(summary_rows(_doc(partial=True)))["PARTIAL"]
