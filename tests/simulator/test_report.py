"""Report helpers on hand-made report dicts (our own logic in isolation)."""

from __future__ import annotations

from typing import Any

import pytest

from asyncmachine.simulator._report import saturation_warning


def _doc(delivered: float, p50: float) -> dict[str, Any]:
    return {
        "config": {"mutation_rate": 2.0, "probe_rate": 2.0},
        "gossipsub": {
            "probes": 100,
            "delivered_ratio": delivered,
            "latency_ms": {"p50": p50, "p99": 2 * p50},
        },
    }


@pytest.mark.parametrize(
    ("delivered", "p50", "warns"),
    [
        (1.0, 120.0, False),
        (0.995, 900.0, False),
        (0.14, 120.0, True),  # probes lost
        (1.0, 40_000.0, True),  # seconds late
    ],
)
def test_saturation_warning(delivered: float, p50: float, warns: bool) -> None:
    w = saturation_warning(_doc(delivered, p50))
    assert (w is not None) == warns
    if w is not None:
        assert "saturated" in w and "--mutation-rate (2.0)" in w and "--probe-rate" in w


def test_no_warning_without_probes() -> None:
    assert saturation_warning({"gossipsub": None}) is None
    assert saturation_warning({"gossipsub": {"probes": 0}}) is None
