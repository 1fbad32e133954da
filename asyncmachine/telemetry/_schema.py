"""The JSON-Schema of the ``--events`` stream and a small validator for it.

One line is one JSON object; ``kind`` says which of the shapes below it has. The
validator understands the subset of JSON Schema used here (type, enum, const,
minimum, required, properties, additionalProperties, items, oneOf), so tests and
consumers need no third-party package.
"""

from __future__ import annotations

import enum
from typing import Any


class EventType(enum.Enum):
    """The ``kind`` of an event line."""

    TRANSITION = "transition"
    """A local machine's transition (executed or canceled)."""
    CLOCK = "clock"
    """A mirrored (remote) machine's clock changed."""
    PEER_JOINED = "peer_joined"
    """The transport saw a peer subscribe to the topic."""
    PEER_LEFT = "peer_left"
    """The transport saw a peer unsubscribe."""
    PEER_DISCOVERED = "peer_discovered"
    """A peer's first valid signed info arrived."""
    PEER_REMOVED = "peer_removed"
    """A peer said bye, timed out or restarted (``reason``)."""
    MACHINE_ADDED = "machine_added"
    """A remote machine's mirror was created."""
    MACHINE_REMOVED = "machine_removed"
    """A remote machine's mirror was disposed (``reason``)."""
    REJECTED = "rejected"
    """Messages or records dropped since the last such line, per reason."""


_STR = {"type": "string"}
_NAMES = {"type": "array", "items": {"type": "string"}}
_CLOCK = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
_COMMON = {
    "ts": {"type": "number", "minimum": 0},
    "node": _STR,
}


def _shape(kind: EventType, **props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["ts", "node", "kind", *props],
        "additionalProperties": False,
        "properties": {**_COMMON, "kind": {"const": kind.value}, **props},
    }


_PEER = {"peer": _STR, "reason": _STR}
EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "asyncmachine node event (one JSON line of --events)",
    "oneOf": [
        _shape(
            EventType.TRANSITION,
            machine=_STR,
            tx=_STR,
            type={"enum": ["add", "remove", "set"]},
            called=_NAMES,
            result={"enum": ["executed", "canceled"]},
            auto={"type": "boolean"},
            added=_NAMES,
            removed=_NAMES,
            active=_NAMES,
            clock=_CLOCK,
        ),
        _shape(
            EventType.CLOCK,
            machine=_STR,
            peer=_STR,
            added=_NAMES,
            removed=_NAMES,
            ticked=_NAMES,
            active=_NAMES,
            clock=_CLOCK,
        ),
        *(
            _shape(k, **_PEER)
            for k in (
                EventType.PEER_JOINED,
                EventType.PEER_LEFT,
                EventType.PEER_DISCOVERED,
                EventType.PEER_REMOVED,
            )
        ),
        *(
            _shape(k, machine=_STR, **_PEER)
            for k in (EventType.MACHINE_ADDED, EventType.MACHINE_REMOVED)
        ),
        _shape(EventType.REJECTED, reason=_STR, count={"type": "integer", "minimum": 1}),
    ],
}
"""JSON Schema (draft 2020-12) of one ``--events`` line; see docs/telemetry.md."""

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def validate_event(doc: Any, schema: dict[str, Any] = EVENT_SCHEMA, path: str = "$") -> list[str]:
    """Errors of ``doc`` against ``schema`` ([] when valid)."""
    if "oneOf" in schema:
        results = [validate_event(doc, s, path) for s in schema["oneOf"]]
        if sum(not r for r in results) == 1:
            return []
        n = sum(not r for r in results)
        return [f"{path}: matches {n} of oneOf, not 1", *min(results, key=len)]
    t = schema.get("type")
    if t is not None and (
        not isinstance(doc, _TYPES[t]) or (isinstance(doc, bool) and t not in ("boolean",))
    ):
        return [f"{path}: expected {t}, got {type(doc).__name__}"]
    errs: list[str] = []
    if "const" in schema and doc != schema["const"]:
        errs.append(f"{path}: {doc!r} != {schema['const']!r}")
    if "enum" in schema and doc not in schema["enum"]:
        errs.append(f"{path}: {doc!r} not in {schema['enum']}")
    if "minimum" in schema and isinstance(doc, int | float) and doc < schema["minimum"]:
        errs.append(f"{path}: {doc} < {schema['minimum']}")
    if isinstance(doc, dict):
        props = schema.get("properties", {})
        errs += [f"{path}.{k}: required" for k in schema.get("required", []) if k not in doc]
        extra = schema.get("additionalProperties")
        if extra is False:
            errs += [f"{path}.{k}: not allowed" for k in doc if k not in props]
        elif isinstance(extra, dict):
            for k in doc:
                if k not in props:
                    errs += validate_event(doc[k], extra, f"{path}.{k}")
        for k, sub in props.items():
            if k in doc:
                errs += validate_event(doc[k], sub, f"{path}.{k}")
    if isinstance(doc, list) and "items" in schema:
        for i, item in enumerate(doc):
            errs += validate_event(item, schema["items"], f"{path}[{i}]")
    return errs
