"""docs/telemetry.md shows the real event schema and lists every metric."""

from __future__ import annotations

import json
import re
from pathlib import Path

from asyncmachine.telemetry import EVENT_SCHEMA, METRICS, Kind, validate_event

DOC = Path(__file__).resolve().parents[2] / "docs" / "telemetry.md"


def test_documented_schema_is_event_schema() -> None:
    text = DOC.read_text()
    start = text.index("<summary>EVENT_SCHEMA")
    block = re.search(r"```json\n(.*?)\n```", text[start:], re.S)
    assert block is not None
    assert json.loads(block.group(1)) == EVENT_SCHEMA


def test_documented_example_line_validates() -> None:
    text = DOC.read_text()
    line = next(s for s in text.splitlines() if s.startswith('{"ts":'))
    assert validate_event(json.loads(line)) == []


def test_every_metric_is_documented() -> None:
    text = DOC.read_text()
    for m in METRICS:
        name = m.name if m.kind is Kind.HISTOGRAM else m.sample
        assert f"| `{name}` |" in text, name


def test_validator_rejects_bad_lines() -> None:
    ok = {"ts": 1.0, "node": "p", "kind": "rejected", "reason": "decode", "count": 2}
    assert validate_event(ok) == []
    assert validate_event({**ok, "count": 0})
    assert validate_event({**ok, "extra": 1})
    assert validate_event({**ok, "kind": "nope"})
    assert validate_event({k: v for k, v in ok.items() if k != "reason"})
    clock = {"ts": 1.0, "node": "p", "kind": "clock", "machine": "m", "peer": "q"}
    full = {**clock, "added": [], "removed": [], "ticked": [], "active": [], "clock": {"A": 1}}
    assert validate_event(full) == []
    assert validate_event({**full, "clock": {"A": "1"}})
    assert validate_event({**full, "active": [True]})
