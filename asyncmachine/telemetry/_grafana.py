"""A Grafana dashboard generated from :data:`~._names.METRICS` (Go: am-gen grafana).

``python -m asyncmachine.telemetry.grafana > docs/grafana/asyncmachine.json``
regenerates the shipped file; a test checks that it is up to date and that every
metric it queries is present in a real node's scrape.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._names import METRICS, MetricSpec, Panel

TITLE = "asyncmachine node"
UID = "asyncmachine-node"
_ROW_TITLES = {"machines": "Machines", "topic": "Topic", "libp2p": "py-libp2p transport"}


def expr(spec: MetricSpec) -> str:
    """The PromQL of a metric's panel; grouped by its labels (and the job's instance)."""
    by = ", ".join(("instance", *spec.labels))
    sel = spec.sample + '{job=~"$job"}'
    if spec.panel is Panel.RATE:
        return f"sum by ({by}) (rate({sel}[$__rate_interval]))"
    if spec.panel is Panel.P90:
        return f"histogram_quantile(0.9, sum by (le, {by}) (rate({sel}[$__rate_interval])))"
    return f"sum by ({by}) ({sel})"


def _panel(spec: MetricSpec, pid: int, x: int, y: int) -> dict[str, Any]:
    legend = " ".join("{{" + label + "}}" for label in ("instance", *spec.labels))
    unit = "s" if spec.name.endswith("_seconds") else "bytes" if "bytes" in spec.name else ""
    return {
        "id": pid,
        "type": "timeseries",
        "title": spec.name.removeprefix("asyncmachine_"),
        "description": spec.help,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit + ("/s" if spec.panel is Panel.RATE else "")}},
        "targets": [{"refId": "A", "expr": expr(spec), "legendFormat": legend}],
    }


def dashboard() -> dict[str, Any]:
    """The dashboard: a row per metric group, a time series panel per metric."""
    panels: list[dict[str, Any]] = []
    y = 0
    pid = 1
    for row, title in _ROW_TITLES.items():
        panels.append(
            {
                "id": pid,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        pid += 1
        y += 1
        for i, spec in enumerate(s for s in METRICS if s.row == row):
            panels.append(_panel(spec, pid, 12 * (i % 2), y + 8 * (i // 2)))
            pid += 1
        y = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    return {
        "uid": UID,
        "title": TITLE,
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-15m", "to": "now"},
        "refresh": "10s",
        "tags": ["asyncmachine"],
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {
                    "name": "job",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": "label_values(asyncmachine_topic_peers, job)",
                    "includeAll": True,
                    "multi": True,
                    "current": {"text": "All", "value": "$__all"},
                },
            ]
        },
        "panels": panels,
    }


def dashboard_json() -> str:
    """:func:`dashboard` as the shipped file's text."""
    return json.dumps(dashboard(), indent=2) + "\n"


_METRIC_RE = re.compile(r"\b(asyncmachine_[a-z_]+)\b")


def queried_metrics(doc: dict[str, Any]) -> set[str]:
    """Sample names a dashboard's panel queries and variables use."""
    text = json.dumps([doc.get("panels"), doc.get("templating")])
    return set(_METRIC_RE.findall(text))
