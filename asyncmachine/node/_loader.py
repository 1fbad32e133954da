"""Machines to expose: schema files (JSON / TOML) and ``module:factory`` entry points.

A schema file describes one machine, or several under ``machines``::

    {"id": "worker", "tags": ["demo"], "initial": ["Bar"],
     "states": {"Foo": {"require": ["Bar"]}, "Bar": {}}}

Keys: ``states`` (required; name -> properties ``auto``, ``multi``, ``require``,
``add``, ``remove``, ``after``, ``tags``), ``id`` (default: the file's stem;
``{peer}`` becomes the short peer id), ``tags``, ``parent``, ``base`` (reusable
schemas merged first: ``basic``, ``connected``, ``disposed``) and ``initial``
(states added at start), ``allow`` (who may mutate which states over rpc:
``{"*": ["Bar"], "<peer id>": ["Foo", "Bar"]}``; default: nobody). Unlike the
machine itself, which silently drops relations to unknown states, the loader
rejects them.

An entry point ``package.module:factory`` (or ``path/to/file.py:factory``) is a
callable returning a Machine or an iterable of Machines; it gets ``peer_id=``
when it accepts that keyword. Errors raise :class:`LoadError` (one line).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import sys
import tomllib
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from asyncmachine.machine import (
    BASIC_SCHEMA,
    CONNECTED_SCHEMA,
    DISPOSED_SCHEMA,
    EXCEPTION,
    RELATIONS,
    Machine,
    ReadOnlyMachine,
    Result,
    Schema,
    merge_schemas,
    normalize_schema,
)

from ._config import ConfigError, short_id

SCHEMA_SUFFIXES = (".json", ".toml")
BASE_SCHEMAS: dict[str, Schema] = {
    "basic": BASIC_SCHEMA,
    "connected": CONNECTED_SCHEMA,
    "disposed": DISPOSED_SCHEMA,
}
_MACHINE_KEYS = {"id", "tags", "parent", "base", "initial", "states", "allow"}
_FILE_ALLOW: weakref.WeakKeyDictionary[Machine, dict[str, list[str]]] = weakref.WeakKeyDictionary()


def file_allow(mach: Machine) -> dict[str, list[str]]:
    """The ``allow`` table of the schema file ``mach`` came from (peer -> states; {}: none)."""
    return _FILE_ALLOW.get(mach, {})


class LoadError(ConfigError):
    """A schema file or entry point cannot give machines; the message names it."""


def load_exposed(specs: Iterable[str], *, peer_id: str = "") -> list[Machine]:
    """Machines from every ``--expose`` spec, in order; ids must be unique."""
    out: list[Machine] = []
    for spec in specs:
        out.extend(load_spec(spec, peer_id=peer_id))
    check_unique(out)
    return out


def check_unique(machines: Sequence[Machine]) -> None:
    """Raise LoadError when two machines to expose share an id."""
    seen: set[str] = set()
    for m in machines:
        if m.id in seen:
            raise LoadError(f"machine id {m.id!r} is exposed more than once")
        seen.add(m.id)


def load_spec(spec: str, *, peer_id: str = "") -> list[Machine]:
    """One ``--expose`` value: a ``.json``/``.toml`` file or ``module:factory``."""
    if not spec or not spec.strip():
        raise LoadError("empty --expose value")
    if spec.lower().endswith(SCHEMA_SUFFIXES):
        return load_schema_file(spec, peer_id=peer_id)
    if ":" in spec:
        return load_entry_point(spec, peer_id=peer_id)
    raise LoadError(
        f"bad --expose value {spec!r}: expected a .json/.toml schema file or module:factory"
    )


# --------------------------------------------------------------------------- schema files


def read_schema_file(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON or TOML file (by suffix) into plain data."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise LoadError(f"cannot read schema file {str(p)!r}: {e.strerror or e}") from None
    try:
        if p.suffix.lower() == ".toml":
            return tomllib.loads(raw.decode("utf-8"))
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        kind = "TOML" if p.suffix.lower() == ".toml" else "JSON"
        raise LoadError(f"schema file {str(p)!r} is not valid {kind}: {e}") from None


def load_schema_file(path: str | os.PathLike[str], *, peer_id: str = "") -> list[Machine]:
    """Machines described by a schema file (see the module docstring)."""
    p = Path(path)
    doc = read_schema_file(p)
    return machines_from_doc(doc, source=str(p), default_id=p.stem, peer_id=peer_id)


def machines_from_doc(
    doc: Any, *, source: str, default_id: str, peer_id: str = ""
) -> list[Machine]:
    """Validate a parsed schema document and build its machines."""
    where = f"schema file {source!r}"
    if not isinstance(doc, Mapping):
        raise LoadError(f"{where}: expected a table/object at the top level")
    if "machines" in doc:
        extra = set(doc) - {"machines"}
        if extra:
            raise LoadError(f"{where}: unexpected keys next to 'machines': {sorted(extra)}")
        items = doc["machines"]
        if not isinstance(items, list) or not items:
            raise LoadError(f"{where}: 'machines' must be a non-empty list")
        out = [
            _machine_from(item, f"{where}, machine #{i + 1}", f"{default_id}-{i + 1}", peer_id)
            for i, item in enumerate(items)
        ]
        check_unique(out)
        return out
    return [_machine_from(doc, where, default_id, peer_id)]


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LoadError(f"{where} must be a list of strings")
    return list(value)


def _machine_from(item: Any, where: str, default_id: str, peer_id: str) -> Machine:
    if not isinstance(item, Mapping):
        raise LoadError(f"{where}: expected a table/object")
    unknown = set(item) - _MACHINE_KEYS
    if unknown:
        raise LoadError(
            f"{where}: unknown key(s) {sorted(unknown)}; expected some of {sorted(_MACHINE_KEYS)}"
        )
    mach_id = item.get("id", default_id)
    if not isinstance(mach_id, str) or not mach_id.strip():
        raise LoadError(f"{where}: 'id' must be a non-empty string")
    mach_id = mach_id.replace("{peer}", short_id(peer_id) if peer_id else "local")
    where = f"{where} (machine {mach_id!r})"
    schema = build_schema(
        item.get("states"), _str_list(item.get("base", []), f"{where}: 'base'"), where
    )
    initial = _str_list(item.get("initial", []), f"{where}: 'initial'")
    for s in initial:
        if s not in schema:
            raise LoadError(f"{where}: initial state {s!r} is not defined")
    try:
        mach = Machine(
            schema,
            id=mach_id,
            tags=_str_list(item.get("tags", []), f"{where}: 'tags'"),
            parent=str(item.get("parent", "")) or None,
        )
    except (TypeError, ValueError) as e:
        raise LoadError(f"{where}: {e}") from None
    if mach.is_err():
        raise LoadError(f"{where}: {mach.err()}")
    if initial and mach.add(initial) != Result.EXECUTED:
        raise LoadError(f"{where}: initial states {initial} were not accepted (relations)")
    if "allow" in item:
        _FILE_ALLOW[mach] = _allow_from(item["allow"], schema, where)
    return mach


def _allow_from(value: Any, schema: Schema, where: str) -> dict[str, list[str]]:
    """``allow = {"*" = ["Bar"], "12D3KooW..." = ["Foo"]}``: who may mutate what (rpc)."""
    if not isinstance(value, Mapping):
        raise LoadError(f"{where}: 'allow' must map a peer id or '*' to a list of states")
    out = {str(p): _str_list(v, f"{where}: 'allow.{p}'") for p, v in value.items()}
    for peer, states in out.items():
        if unknown := [s for s in states if s not in schema]:
            raise LoadError(f"{where}: 'allow.{peer}' names unknown states {unknown}")
    return out


def build_schema(states: Any, base: Sequence[str], where: str) -> Schema:
    """A schema from plain data; every relation must name a defined state."""
    if not isinstance(states, Mapping) or not states:
        raise LoadError(f"{where}: 'states' must be a non-empty table/object of states")
    parts: list[Mapping[str, Any]] = []
    for b in base:
        if b.lower() not in BASE_SCHEMAS:
            raise LoadError(
                f"{where}: unknown base schema {b!r}; expected one of {sorted(BASE_SCHEMAS)}"
            )
        parts.append(BASE_SCHEMAS[b.lower()])
    try:
        schema = normalize_schema(merge_schemas(*parts, states))
    except (TypeError, ValueError) as e:
        raise LoadError(f"{where}: {e}") from None
    check_relations(schema, where)
    return schema


def check_relations(schema: Schema, where: str = "schema") -> None:
    """Reject relations (and nothing else) naming states the schema does not define."""
    known = set(schema) | {EXCEPTION}
    for name, st in schema.items():
        for rel in RELATIONS:
            for target in getattr(st, rel):
                if target not in known:
                    raise LoadError(
                        f"{where}: state {name!r} has {rel!r} relation to unknown state {target!r}"
                    )


# --------------------------------------------------------------------------- entry points


def load_entry_point(spec: str, *, peer_id: str = "") -> list[Machine]:
    """Call ``module:factory`` and return its machines."""
    module_name, _, attr = spec.rpartition(":")
    if not module_name or not attr:
        raise LoadError(f"bad entry point {spec!r}: expected package.module:factory")
    module = _import(module_name, spec)
    factory: Any = module
    for part in attr.split("."):
        try:
            factory = getattr(factory, part)
        except AttributeError:
            raise LoadError(
                f"entry point {spec!r}: module {module_name!r} has no attribute {attr!r}"
            ) from None
    if not callable(factory):
        raise LoadError(f"entry point {spec!r}: {attr!r} is not callable")
    kwargs: dict[str, Any] = {}
    if _accepts_peer_id(factory):
        kwargs["peer_id"] = peer_id
    try:
        result = factory(**kwargs)
    except Exception as e:
        raise LoadError(f"entry point {spec!r} failed: {type(e).__name__}: {e}") from None
    return _machines_of(result, spec)


def _import(module_name: str, spec: str) -> Any:
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise LoadError(f"entry point {spec!r}: no such file {module_name!r}")
        mod_spec = importlib.util.spec_from_file_location(f"_am_expose_{path.stem}", path)
        if mod_spec is None or mod_spec.loader is None:
            raise LoadError(f"entry point {spec!r}: cannot load {module_name!r}")
        module = importlib.util.module_from_spec(mod_spec)
        try:
            mod_spec.loader.exec_module(module)
        except Exception as e:
            raise LoadError(
                f"entry point {spec!r}: importing {module_name!r} failed: {type(e).__name__}: {e}"
            ) from None
        return module
    cwd = os.getcwd()
    if cwd not in sys.path:  # like `python -m`: modules next to the user are importable
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise LoadError(
            f"entry point {spec!r}: cannot import module {module_name!r} ({e})"
        ) from None
    except Exception as e:
        raise LoadError(
            f"entry point {spec!r}: importing {module_name!r} failed: {type(e).__name__}: {e}"
        ) from None


def _accepts_peer_id(fn: Any) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.kind is p.VAR_KEYWORD
        or (p.name == "peer_id" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        for p in params
    )


def _machines_of(result: Any, spec: str) -> list[Machine]:
    items = [result] if isinstance(result, Machine | ReadOnlyMachine) else result
    try:
        machines = list(items)
    except TypeError:
        raise LoadError(
            f"entry point {spec!r} returned {type(result).__name__}, "
            f"expected a Machine or a list of Machines"
        ) from None
    for m in machines:
        if isinstance(m, ReadOnlyMachine) or not isinstance(m, Machine):
            raise LoadError(
                f"entry point {spec!r} returned {type(m).__name__}, expected Machine instances"
            )
    if not machines:
        raise LoadError(f"entry point {spec!r} returned no machines")
    return machines


__all__ = [
    "BASE_SCHEMAS",
    "LoadError",
    "build_schema",
    "check_relations",
    "load_entry_point",
    "load_exposed",
    "load_schema_file",
    "load_spec",
    "machines_from_doc",
    "read_schema_file",
]
