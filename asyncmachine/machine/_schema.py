"""Schemas: state definitions, parsing and composition (Go: Schema, State, Parse)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from ._errors import SchemaError

if TYPE_CHECKING:
    from ._resolver import Plan

EXCEPTION = "Exception"
"""The built-in error state (Go: StateException)."""

RELATIONS = ("require", "add", "remove", "after")
_FIELDS = ("auto", "multi", "require", "add", "remove", "after", "tags")


def _names(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(f"{where} must be a list of state names, got {type(value).__name__}")
    out = tuple(value)
    for v in out:
        if not isinstance(v, str):
            raise TypeError(f"{where} must hold str names, got {type(v).__name__}")
    return out


@dataclass(frozen=True, slots=True)
class State:
    """One state's properties (Go: State). Relations are tuples of state names."""

    auto: bool = False
    multi: bool = False
    require: Sequence[str] = field(default=())
    add: Sequence[str] = field(default=())
    remove: Sequence[str] = field(default=())
    after: Sequence[str] = field(default=())
    tags: Sequence[str] = field(default=())

    def __post_init__(self) -> None:
        for name in ("auto", "multi"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"State.{name} must be bool")
        for name in (*RELATIONS, "tags"):
            object.__setattr__(self, name, _names(getattr(self, name), f"State.{name}"))

    def extend(self, overlay: State) -> State:
        """Union of every relation list; Auto/Multi only become True (Go: StateAdd)."""
        return State(
            auto=self.auto or overlay.auto,
            multi=self.multi or overlay.multi,
            **{
                name: tuple(dict.fromkeys([*getattr(self, name), *getattr(overlay, name)]))
                for name in (*RELATIONS, "tags")
            },
        )

    def set(self, overlay: State, *, auto: bool, multi: bool) -> State:
        """Replace the relations given (non-empty) in overlay; set Auto/Multi (Go: StateSet)."""
        rels = {n: getattr(overlay, n) for n in (*RELATIONS, "tags") if getattr(overlay, n)}
        return replace(self, auto=auto, multi=multi, **rels)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists), e.g. for JSON or CBOR."""
        return {
            f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
            for f in fields(self)
        }


StateLike = State | Mapping[str, Any]
Schema = dict[str, State]


def to_state(name: str, value: StateLike) -> State:
    """A State from a State or a plain mapping (keys as State's fields, any case)."""
    if isinstance(value, State):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"state {name!r}: expected State or dict, got {type(value).__name__}")
    kwargs: dict[str, Any] = {}
    for key, v in value.items():
        k = str(key).lower()
        if k not in _FIELDS:
            raise SchemaError(f"state {name!r}: unknown property {key!r}")
        kwargs[k] = v if v is not None else (False if k in ("auto", "multi") else ())
    try:
        return State(**kwargs)
    except TypeError as e:
        raise TypeError(f"state {name!r}: {e}") from None


def normalize_schema(schema: Mapping[str, StateLike]) -> Schema:
    """Check types and convert plain dicts into States; adds Exception if missing."""
    if not isinstance(schema, Mapping):
        raise TypeError(f"schema must be a mapping name -> State, got {type(schema).__name__}")
    out: Schema = {}
    for name, value in schema.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"state names must be non-empty str, got {name!r}")
        out[name] = to_state(name, value)
    if EXCEPTION not in out:
        out[EXCEPTION] = State(multi=True)
    return out


def parse(schema: Schema) -> tuple[Schema, list[str]]:
    """Clean relations and find conflicts (Go: Schema.Parse).

    Drops self and Add-listed states from Remove, self from After. Returns the
    parsed schema and a list of require-remove conflicts as messages. Unlike
    Go, which drops unknown names silently, a relation to a state that is not
    in the schema raises :class:`SchemaError` naming it.
    """
    out: Schema = {}
    conflicts: list[str] = []
    for name, st in schema.items():
        for rel in RELATIONS:
            for target in getattr(st, rel):
                if target not in schema:
                    raise SchemaError(f"state {name!r}: {rel} relation to unknown state {target!r}")
        remove = tuple(s for s in st.remove if s != name and s not in st.add)
        add = st.add
        after = tuple(s for s in st.after if s != name)
        out[name] = replace(st, add=add, remove=remove, after=after)
        conflicts.extend(
            f"require-remove conflict for {name} to {r}" for r in st.require if r in remove
        )
    return out, conflicts


def merge_schemas(*schemas: Mapping[str, StateLike]) -> Schema:
    """Merge left to right, whole-state override (Go: SchemaMerge)."""
    out: Schema = {}
    for s in schemas:
        for name, value in s.items():
            out[name] = to_state(name, value)
    return out


def prefix_schema(prefix: str, schema: Mapping[str, StateLike]) -> Schema:
    """Prefix state names and their relations (Go: schema.Prefix)."""
    out: Schema = {}
    for name, value in schema.items():
        st = to_state(name, value)
        out[prefix + name] = replace(
            st,
            require=tuple(prefix + s for s in st.require),
            add=tuple(prefix + s for s in st.add),
            remove=tuple(prefix + s for s in st.remove),
            after=tuple(prefix + s for s in st.after),
        )
    return out


def states_by_tag(schema: Mapping[str, State], tag: str) -> list[str]:
    """States tagged ``tag`` or ``tag:*`` (Go: StatesByTag)."""
    return [
        n for n, s in schema.items() if any(t == tag or t.startswith(tag + ":") for t in s.tags)
    ]


def schema_hash(schema: Mapping[str, State]) -> str:
    """6-char md5 of a canonical form of the schema (Go: helpers.SchemaHash)."""
    import hashlib

    parts: list[str] = []
    for name in sorted(schema):
        st = schema[name]
        parts.append(
            name
            + ":"
            + ("a," if st.auto else "")
            + ("m," if st.multi else "")
            + ";".join(
                ",".join(sorted(getattr(st, r))) for r in ("after", "remove", "add", "require")
            )
        )
    return hashlib.md5("".join(parts).encode()).hexdigest()[:6]


class CompiledSchema:
    """A parsed schema with its state order and derived indexes.

    Immutable and shareable: machines (and mirrors) with the same schema and
    state order share one instance (Go keeps these per machine).
    """

    __slots__ = (
        "auto_states",
        "conflicts",
        "event_names",
        "index",
        "names",
        "plans",
        "schema",
        "topo_error",
        "topology",
        "zeros",
    )

    def __init__(self, schema: Mapping[str, StateLike], names: Sequence[str] | None = None) -> None:
        parsed, self.conflicts = parse(normalize_schema(schema))
        self.schema: Schema = parsed
        if names is None:
            self.names = sorted(parsed, key=lambda s: s.encode())
        else:
            self.names = verify_names(parsed, names)
        self.index: dict[str, int] = {n: i for i, n in enumerate(self.names)}
        self.zeros: tuple[int, ...] = (0,) * len(self.names)
        """The all-zero clock, shared by every new mirror of the schema."""
        self.topology, self.topo_error = _require_topology(parsed, self.names)
        self.event_names: frozenset[str] | None = None
        self.auto_states = [n for n in self.names if parsed[n].auto]
        self.plans: dict[tuple[object, ...], Plan] = {}

    def handler_names(self) -> frozenset[str]:
        """Every valid handler name: FooEnter/Exit/State/End, FooBar, AnyEnter/AnyState."""
        if self.event_names is None:
            names = self.names
            ev = {n + sfx for n in names for sfx in ("Enter", "Exit", "State", "End")}
            ev.update(a + b for a in names for b in names)
            ev.update(("AnyEnter", "AnyState"))
            self.event_names = frozenset(ev)
        return self.event_names


def verify_names(schema: Mapping[str, State], names: Sequence[str]) -> list[str]:
    """Validate a state order (Go: VerifyStates); duplicates are dropped."""
    if isinstance(names, str):
        raise TypeError("names must be a list of state names, not str")
    out = list(dict.fromkeys(names))
    for n in out:
        if n not in schema:
            raise SchemaError(f"state {n!r} in names is not in the schema")
    if len(out) < len(schema):
        missing = [n for n in schema if n not in out]
        raise SchemaError(f"trying to verify less states than registered: missing {missing}")
    return out


def _require_topology(schema: Schema, names: list[str]) -> tuple[dict[str, int], str]:
    """Post-order DFS over Require edges (Go: resolver topology); {} on a cycle."""
    graph: dict[str, list[str]] = {}
    for n in names:
        for r in schema[n].require:
            graph.setdefault(n, []).append(r)
    order: list[str] = []
    visited: set[str] = set()
    temp: set[str] = set()

    def visit(node: str) -> bool:
        if node in temp:
            return False
        if node not in visited:
            temp.add(node)
            for nb in graph.get(node, ()):
                if not visit(nb):
                    return False
            temp.discard(node)
            visited.add(node)
            order.append(node)
        return True

    for node in graph:
        if node not in visited and not visit(node):
            return {}, f"state {node} has a Require cycle"
    return {n: i for i, n in enumerate(order)}, ""
