"""Replay the golden traces recorded from asyncmachine-go (see tests/data/README.md).

``AM_GOLDEN_FILE`` selects another trace file (default: the public set).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from asyncmachine import Machine, State, Transition

GOLDEN = Path(
    os.environ.get("AM_GOLDEN_FILE", Path(__file__).parent / "data" / "machine-public.jsonl")
)


def _load() -> list[dict[str, Any]]:
    with GOLDEN.open() as f:
        return [json.loads(line) for line in f if line.strip()]


CASES = _load()


class Recorder:
    """Tracer + handler host recording what the replay compares."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.inner: list[dict[str, Any]] = []
        self.txs: list[dict[str, Any]] = []

    def transition_end(self, tx: Transition) -> None:
        m = tx.mutation
        self.txs.append(
            {
                "type": str(m.type),
                "called": list(m.called),
                "auto": m.is_auto,
                "accepted": tx.is_accepted,
            }
        )

    def reset(self) -> None:
        self.calls, self.inner, self.txs = [], [], []


class Handlers:
    """One attribute per handler name, as Go's HandlersBindMaps binding."""


def _handler(rec: Recorder, mach_ref: list[Machine], name: str, spec: dict[str, Any]) -> Any:
    is_final = name.endswith(("State", "End"))
    ret = spec.get("return", True)
    do = spec.get("do", [])

    def fn(e: Any) -> bool | None:
        at = len(rec.calls)
        rec.calls.append(name)
        mach = mach_ref[0]
        for op in do:
            r = getattr(mach, op["op"])(op["states"])
            rec.inner.append(
                {"handler": name, "at": at, "op": op["op"], "states": op["states"], "ret": int(r)}
            )
        return None if is_final else ret

    return fn


def _snapshot(mach: Machine, rec: Recorder, names: list[str]) -> dict[str, Any]:
    return {
        "active": [n for n in names if mach.is1(n)],
        "clock": dict(sorted(mach.clock().items())),
        "calls": rec.calls,
        "active_list": mach.active_states(),
        "queue_tick": mach.queue_tick(),
        "inner": rec.inner,
        "txs": rec.txs,
    }


def replay(scenario: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario the way the Go recorder did; returns the trace."""
    schema = {
        name: State(
            auto=s["Auto"],
            multi=s["Multi"],
            require=s["Require"],
            add=s["Add"],
            remove=s["Remove"],
            after=s["After"],
        )
        for name, s in scenario["schema"].items()
    }
    rec = Recorder()
    mach = Machine(schema, id="golden", handler_timeout=None, tracers=[rec])
    names = mach.state_names()
    ref = [mach]
    host = Handlers()
    event_names = [n + sfx for n in names for sfx in ("Enter", "Exit", "State", "End")]
    event_names += [a + b for a in names for b in names] + ["AnyEnter", "AnyState"]
    for ev in event_names:
        setattr(host, ev, _handler(rec, ref, ev, scenario["handlers"].get(ev, {})))
    mach.bind_handlers(host)
    trace: dict[str, Any] = {"state_names": names, "init": _snapshot(mach, rec, names)}
    steps = []
    for step in scenario["steps"]:
        rec.reset()
        r = getattr(mach, step["op"])(step["states"])
        snap = _snapshot(mach, rec, names)
        steps.append({"result": str(r), "ret": int(r), **snap})
    trace["steps"] = steps
    return trace


@pytest.mark.parametrize("case", CASES, ids=[c["scenario"]["id"] for c in CASES])
def test_golden_trace(case: dict[str, Any]) -> None:
    got = replay(case["scenario"])
    want = case["trace"]
    assert got["state_names"] == want["state_names"]
    assert got["init"] == want["init"], "init"
    assert len(got["steps"]) == len(want["steps"])
    for i, (g, w) in enumerate(zip(got["steps"], want["steps"], strict=True)):
        for key in (
            "result",
            "active",
            "clock",
            "calls",
            "active_list",
            "queue_tick",
            "inner",
            "txs",
            "ret",
        ):
            assert g[key] == w[key], f"step {i} {key}: got {g[key]} want {w[key]}"


def test_golden_file_is_complete() -> None:
    assert len(CASES) >= 470 if "AM_GOLDEN_FILE" not in os.environ else len(CASES) > 0
