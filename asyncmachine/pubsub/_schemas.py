"""Schema conversion between local machines, the wire and mirrors, with sharing.

Go sends ``am.Schema`` + state names in every Info and builds a schema per
NetworkMachine. Here every distinct wire schema is compiled once and the
:class:`CompiledSchema` is shared by all mirrors using it (the simulator holds
millions of mirrors of a handful of schemas).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, TypeAlias

from ..machine import CompiledSchema, State
from ._wire import FifoCache, WireLimits, WireSchema, WireState, process_cache

WireSchemaCache: TypeAlias = FifoCache[WireSchema, CompiledSchema]


def wire_schema(schema: Mapping[str, State], names: Sequence[str]) -> WireSchema:
    """The wire form of a local machine's schema, in time-vector order."""
    known = set(names)
    states: list[WireState] = []
    for n in names:
        s = schema[n]
        states.append(
            WireState(
                auto=bool(s.auto),
                multi=bool(s.multi),
                require=tuple(r for r in s.require if r in known),
                add=tuple(r for r in s.add if r in known),
                remove=tuple(r for r in s.remove if r in known),
                after=tuple(r for r in s.after if r in known),
                tags=tuple(s.tags),
            )
        )
    return WireSchema(tuple(names), tuple(states))


def check_wire_schema(ws: WireSchema, limits: WireLimits, what: str) -> None:
    """Raise ValueError when an own schema would break the wire limits."""
    if len(ws.names) > limits.max_states:
        raise ValueError(f"{what}: {len(ws.names)} states > {limits.max_states}")
    for n in ws.names:
        if not n or len(n) > limits.max_name_len:
            raise ValueError(f"{what}: bad state name length {n!r}")
    for s in ws.states:
        if len(s.tags) > limits.max_tags or any(len(t) > limits.max_name_len for t in s.tags):
            raise ValueError(f"{what}: too many or too long state tags")


def to_schema(ws: WireSchema) -> dict[str, State]:
    """A machine schema from its wire form."""
    return {
        n: State(
            auto=s.auto,
            multi=s.multi,
            require=s.require,
            add=s.add,
            remove=s.remove,
            after=s.after,
            tags=s.tags,
        )
        for n, s in zip(ws.names, ws.states, strict=True)
    }


class SchemaCache:
    """Compiled schemas keyed by their wire form (bounded FIFO).

    Compiling is a pure function of the (immutable) wire schema, so mirrors of every
    peer using one schema share one :class:`CompiledSchema`.
    """

    __slots__ = ("_cache",)

    def __init__(self, max_entries: int = 4096, *, cache: WireSchemaCache | None = None) -> None:
        self._cache: WireSchemaCache = cache or FifoCache("schemas", max_entries)

    @property
    def max_entries(self) -> int:
        return self._cache.max_entries

    @property
    def hits(self) -> int:
        return self._cache.hits

    @property
    def misses(self) -> int:
        return self._cache.misses

    def get(self, ws: WireSchema) -> CompiledSchema:
        """The compiled schema of ``ws``; raises (SchemaError, TypeError) if it does not
        compile, e.g. when ``Exception`` is not among its names."""
        cs = self._cache.get(ws)
        if cs is None:
            cs = CompiledSchema(to_schema(ws), ws.names)
            self._cache.put(ws, cs)
        return cs

    def clear(self) -> None:
        self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)


SHARED_SCHEMAS: Final = SchemaCache(cache=process_cache("shared schemas", 4096))
"""The process-wide default cache (all Topics in a process share compiled schemas)."""
