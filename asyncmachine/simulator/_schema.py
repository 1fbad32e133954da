"""The JSON Schema of the ``--json`` report, and a validator for the subset it uses.

The schema is the contract other tools script against; docs/simulator.md
documents the same fields (a test keeps the two equal). ``SCHEMA_VERSION``
changes on incompatible edits.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 2
"""2: run metadata, bandwidth per peer, per-peer latency, control traffic, costs,
raw gossipsub CDF and mesh sizes, ``received`` in the time series."""


_NUM = {"type": "number", "minimum": 0}
_INT = {"type": "integer", "minimum": 0}
_OPT_NUM = {"type": ["number", "null"]}
_RATIO = {"type": "number", "minimum": 0, "maximum": 1}
_OPT_INT = {"type": ["integer", "null"], "minimum": 0}
_OPT_SHARE = {"type": ["number", "null"], "minimum": 0}
_STR = {"type": "string"}
_OPT_STR = {"type": ["string", "null"]}
_LAT = {
    "type": "object",
    "required": ["p50", "p90", "p99", "max"],
    "properties": {"p50": _NUM, "p90": _NUM, "p99": _NUM, "max": _NUM, "mean": _NUM},
}
_CDF = {"type": "array", "items": {"type": "array", "items": _NUM}}
_SPREAD = {
    "type": "object",
    "required": ["mean", "p50", "p99", "max"],
    "properties": {"mean": _NUM, "p50": _NUM, "p99": _NUM, "max": _NUM},
}
_OPT_SPREAD = {**_SPREAD, "type": ["object", "null"]}
_PAIR = {
    "type": ["object", "null"],
    "required": ["messages", "bytes"],
    "properties": {"messages": _SPREAD, "bytes": _OPT_SPREAD},
}
_RUN = {
    "type": "object",
    "required": ["date", "version", "commit", "python", "libp2p", "cpus", "command"],
    "properties": {
        "date": _STR,
        "version": _STR,
        "commit": _OPT_STR,
        "python": _STR,
        "libp2p": _OPT_STR,
        "platform": _STR,
        "cpus": {"type": "integer", "minimum": 1},
        "command": _STR,
    },
}
_PER_PEER_LATENCY = {
    "type": "object",
    "required": ["peers", "p99_ms", "worst"],
    "properties": {
        "peers": _INT,
        "p99_ms": _LAT,
        "worst": {
            "type": ["object", "null"],
            "required": ["peer", "deliveries", "p50_ms", "p99_ms", "max_ms"],
            "properties": {
                "peer": _INT,
                "deliveries": _INT,
                "p50_ms": _NUM,
                "p99_ms": _NUM,
                "max_ms": _NUM,
            },
        },
    },
}
_BANDWIDTH = {
    "type": "object",
    "required": ["peers", "published", "received", "forwarded", "link_sent", "link_received"],
    "properties": {
        "peers": _INT,
        "published": _PAIR,
        "received": _PAIR,
        "forwarded": _PAIR,
        "link_sent": _PAIR,
        "link_received": _PAIR,
    },
}
_CONTROL = {
    "type": "object",
    "required": ["repairs", "ihave", "iwant", "graft", "prune"],
    "properties": {
        k: _OPT_INT for k in ("repairs", "ihave", "iwant", "graft", "prune", "outbound_dropped")
    },
}
_COST = {
    "type": "object",
    "required": [
        "duplicates_per_delivery",
        "link_duplicates_per_delivery",
        "lost_share",
        "repair_share",
    ],
    "properties": {
        "duplicates_per_delivery": _OPT_SHARE,
        "link_duplicates_per_delivery": _OPT_SHARE,
        "lost_share": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "repair_share": _OPT_SHARE,
    },
}


_STAGE_MS = {
    "type": "object",
    "required": ["push_wait", "superseded", "transit", "publish", "apply"],
    "properties": {k: _NUM for k in ("push_wait", "superseded", "transit", "publish", "apply")},
}
_COUNTED = {
    "type": "object",
    "required": ["count", "p50", "p99"],
    "properties": {"count": _INT, "p50": _NUM, "p99": _NUM},
}
_STAGES = {
    "type": "object",
    "required": ["deliveries", "tail_count", "all_mean_ms", "tail_mean_ms", "early_ms", "later_ms"],
    "properties": {
        "deliveries": _INT,
        "tail_share": _RATIO,
        "tail_count": _INT,
        "tail_min_ms": _NUM,
        "all_mean_ms": _STAGE_MS,
        "tail_mean_ms": _STAGE_MS,
        "tail_superseded": _INT,
        "tail_relayed": _INT,
        "all_relayed": _INT,
        "tail_waited_behind_ms": {"type": "object"},
        "probes_near_tail_ms": _COUNTED,
        "probes_sent_near_tail": _COUNTED,
        "probes_all_ms": _COUNTED,
        "early_s": _NUM,
        "early_ms": {"type": "object", "properties": {"sync": _COUNTED, "raw": _COUNTED}},
        "later_ms": {"type": "object", "properties": {"sync": _COUNTED, "raw": _COUNTED}},
    },
}
"""``--stages`` (libp2p): the stage breakdown of the slowest sync deliveries."""

REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "asyncmachine sim report",
    "type": "object",
    "required": [
        "schema_version",
        "backend",
        "peers",
        "machines_per_peer",
        "seed",
        "partial",
        "config",
        "discovery",
        "sync",
        "traffic",
        "resources",
        "timeseries",
        "run",
        "bandwidth",
        "cost",
    ],
    "properties": {
        "schema_version": {"type": "integer", "enum": [SCHEMA_VERSION]},
        "backend": {"type": "string", "enum": ["model", "libp2p"]},
        "peers": {"type": "integer", "minimum": 2},
        "machines_per_peer": {"type": "integer", "minimum": 1},
        "seed": {"type": "integer"},
        "config": {"type": "object"},
        "virtual_time": {"type": "boolean"},
        "partial": {"type": "boolean"},
        "duration_s": _NUM,
        "discovery": {
            "type": "object",
            "required": ["complete_ratio", "time_s"],
            "properties": {
                "complete_ratio": _RATIO,
                "time_s": {"type": ["number", "null"], "minimum": 0},
                "t90_s": {"type": ["number", "null"], "minimum": 0},
                "pairs": _INT,
                "expected_pairs": _INT,
                "duplicates_per_mirror": _OPT_SHARE,
                "quiet_s": {"type": ["number", "null"], "minimum": 0},
            },
        },
        "sync": {
            "type": "object",
            "required": ["converged_ratio", "latency_ms"],
            "properties": {
                "mutations": _INT,
                "deliveries": _INT,
                "expected": _INT,
                "converged_ratio": _RATIO,
                "latency_ms": _LAT,
                "latency_cdf": _CDF,
                "per_peer": _PER_PEER_LATENCY,
            },
        },
        "traffic": {
            "type": "object",
            "required": ["messages", "bytes", "duplicates"],
            "properties": {
                "messages": _INT,
                "bytes": _INT,
                "duplicates": _INT,
                "deliveries": _INT,
                "by_type": {"type": "object"},
                "per_peer": {"type": "object"},
                "link": {
                    "type": ["object", "null"],
                    "required": ["hops", "hop_bytes", "received", "duplicates", "lost", "repaired"],
                    "properties": {
                        k: _INT
                        for k in ("hops", "hop_bytes", "received", "duplicates", "lost", "repaired")
                    },
                },
                "control": _CONTROL,
                "rejected": {"type": "object"},
            },
        },
        "resources": {
            "type": "object",
            "required": ["cpu_s", "max_rss_mb", "wall_s"],
            "properties": {
                "cpu_s": _NUM,
                "max_rss_mb": _NUM,
                "wall_s": _NUM,
                "procs": {"type": "array"},
            },
        },
        "gossipsub": {
            "type": ["object", "null"],
            "properties": {
                "latency_ms": {
                    "type": "object",
                    "required": ["p50", "p99"],
                    "properties": {"p50": _NUM, "p99": _NUM},
                },
                "latency_cdf": _CDF,
                "probes": _INT,
                "delivered_ratio": _RATIO,
                "mesh_size": {
                    "type": "array",
                    "items": {"type": "array", "items": _NUM},
                },
            },
        },
        "run": _RUN,
        "bandwidth": _BANDWIDTH,
        "cost": _COST,
        "workload_start_s": _OPT_NUM,
        "workload_end_s": _OPT_NUM,
        "last_mutation_s": _OPT_NUM,
        "stopped_s": _OPT_NUM,
        "stages": _STAGES,
        "timeseries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "t",
                    "alive",
                    "discovery_ratio",
                    "sync_ratio",
                    "messages",
                    "bytes",
                    "received",
                ],
                "properties": {
                    "t": _NUM,
                    "alive": _INT,
                    "discovery_ratio": _RATIO,
                    "sync_ratio": _RATIO,
                    "messages": _INT,
                    "bytes": _INT,
                    "received": _INT,
                },
            },
        },
    },
}
"""JSON Schema (draft 2020-12) of the ``--json`` report."""


# --- the ``network`` block (issue 11: connections, scenarios, time to heal) -------------

_OPT_SECONDS = {"type": ["number", "null"], "minimum": 0}
NETWORK_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "required": ["connections", "events", "heal", "connectivity"],
    "properties": {
        "connections": {"type": "string", "enum": ["managed", "static"]},
        "watermarks": {"type": ["array", "null"], "items": _INT},
        "dials": {
            "type": ["object", "null"],
            "required": ["attempts", "failures", "trimmed"],
            "properties": {"attempts": _INT, "failures": _INT, "trimmed": _INT},
        },
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind", "t", "peers", "node_connectivity_before"],
                "properties": {
                    "kind": {"type": "string", "enum": ["kill", "split", "join"]},
                    "t": _NUM,
                    "peers": _INT,
                    "node_connectivity_before": _INT,
                },
            },
        },
        "heal": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["event", "t", "graph_connected_s", "mirrors_converged_s"],
                "properties": {
                    "event": {"type": "string", "enum": ["kill", "join"]},
                    "t": _NUM,
                    "graph_connected_s": _OPT_SECONDS,
                    "mirrors_converged_s": _OPT_SECONDS,
                },
            },
        },
        "exact_connectivity_every": {"type": "integer", "minimum": 1},
        "connectivity": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "t",
                    "alive",
                    "links",
                    "components",
                    "min_degree",
                    "cut_vertices",
                    "node_connectivity",
                ],
                "properties": {
                    "t": _NUM,
                    "alive": _INT,
                    "links": _INT,
                    "components": _INT,
                    "min_degree": _INT,
                    "cut_vertices": _INT,
                    "node_connectivity": {"type": ["integer", "null"], "minimum": 0},
                },
            },
        },
    },
}
"""The model backend's ``network`` block (absent on libp2p)."""
REPORT_SCHEMA["properties"]["network"] = NETWORK_SCHEMA


def _types_ok(value: Any, t: str | list[str]) -> bool:
    names = [t] if isinstance(t, str) else t
    for n in names:
        if n == "null" and value is None:
            return True
        if n == "object" and isinstance(value, dict):
            return True
        if n == "array" and isinstance(value, list):
            return True
        if n == "string" and isinstance(value, str):
            return True
        if n == "boolean" and isinstance(value, bool):
            return True
        if n == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if n == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            return True
    return False


def validate(doc: Any, schema: dict[str, Any] = REPORT_SCHEMA, path: str = "$") -> list[str]:
    """Errors of ``doc`` against the subset of JSON Schema used in :data:`REPORT_SCHEMA`."""
    errs: list[str] = []
    t = schema.get("type")
    if t is not None and not _types_ok(doc, t):
        return [f"{path}: expected {t}, got {type(doc).__name__}"]
    if "enum" in schema and doc not in schema["enum"]:
        errs.append(f"{path}: {doc!r} not in {schema['enum']}")
    if isinstance(doc, int | float) and not isinstance(doc, bool):
        if "minimum" in schema and doc < schema["minimum"]:
            errs.append(f"{path}: {doc} < {schema['minimum']}")
        if "maximum" in schema and doc > schema["maximum"]:
            errs.append(f"{path}: {doc} > {schema['maximum']}")
    if isinstance(doc, dict):
        errs += [f"{path}.{k}: required" for k in schema.get("required", []) if k not in doc]
        for k, sub in schema.get("properties", {}).items():
            if k in doc:
                errs += validate(doc[k], sub, f"{path}.{k}")
    if isinstance(doc, list) and "items" in schema:
        for i, item in enumerate(doc):
            errs += validate(item, schema["items"], f"{path}[{i}]")
    return errs


__all__ = ["NETWORK_SCHEMA", "REPORT_SCHEMA", "SCHEMA_VERSION", "validate"]
