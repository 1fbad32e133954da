"""State storage and synchronous reads shared by local machines and read-only mirrors."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from ._clock import Clock, Time
from ._errors import StateMissingError
from ._schema import EXCEPTION, CompiledSchema, Schema, State
from ._subscriptions import Subscriptions

log = logging.getLogger("asyncmachine.machine")


def _state_list(states: Sequence[str], what: str = "states") -> Sequence[str]:
    if type(states) is list or type(states) is tuple:
        return states
    if isinstance(states, str) or not isinstance(states, Sequence | set | frozenset):
        raise TypeError(f"{what} must be a list of state names, got {type(states).__name__}")
    return states


class Reads:
    """Clock storage and checks (Go: the read half of Machine); waits are in MachineBase.

    Holds only what every machine and mirror needs; everything else is per class:
    :class:`Machine` keeps its active list, error, tags list and queue flags in slots,
    :class:`ReadOnlyMachine` reads them from class constants and shares its clock
    tuple with the registry (a mirror is a few pointers; millions exist in a node
    of a large topic). ``_ticks`` is indexed by the shared :class:`CompiledSchema`'s
    state order: a list on a machine, a tuple on a mirror.
    """

    __slots__ = (
        "__weakref__",
        "_c",
        "_disposed",
        "_subs",
        "_ticks",
        "id",
        "parent_id",
    )

    _ticks: Sequence[int]
    tags: list[str]
    _err: BaseException | None
    _machine_tick: int
    _queue_running: bool

    def __init__(
        self,
        compiled: CompiledSchema,
        ticks: Sequence[int],
        *,
        id: str | None = None,
        parent_id: str = "",
    ) -> None:
        if id is not None and not isinstance(id, str):
            raise TypeError(f"id must be str, got {type(id).__name__}")
        self._c = compiled
        self.id: str = id or os.urandom(8).hex()
        self.parent_id: str = parent_id
        self._ticks = ticks
        self._subs: Subscriptions | None = None
        self._disposed = False

    # internals ----------------------------------------------------------

    def _must(self, state: str) -> int:
        idx = self._c.index.get(state)
        if idx is None:
            if not isinstance(state, str):
                raise TypeError(f"state name must be str, got {type(state).__name__}")
            raise StateMissingError(state, self.id)
        return idx

    def _must_all(self, states: Sequence[str]) -> list[str]:
        _state_list(states)
        for s in states:
            self._must(s)
        return list(dict.fromkeys(states))

    def _is(self, state: str) -> bool:
        idx = self._c.index.get(state)
        return idx is not None and self._ticks[idx] % 2 == 1

    def _subscriptions(self) -> Subscriptions:
        if self._subs is None:
            self._subs = Subscriptions()
        return self._subs

    def _subs_count(self) -> int:
        """Pending waits (0 means nothing leaked)."""
        return 0 if self._subs is None else self._subs.count()

    # checks -------------------------------------------------------------

    def is_(self, states: Sequence[str]) -> bool:
        """All states active; unknown names are simply inactive (Go: Is)."""
        _state_list(states)
        return all(self._is(s) for s in states)

    def is1(self, state: str) -> bool:
        """The state is active (Go: Is1)."""
        return self._is(state)

    def not_(self, states: Sequence[str]) -> bool:
        """None of the states is active; unknown names raise (Go: Not)."""
        return not any(self._ticks[self._must(s)] % 2 for s in _state_list(states))

    def not1(self, state: str) -> bool:
        """The state is inactive (Go: Not1)."""
        return self._ticks[self._must(state)] % 2 == 0

    def any_(self, *groups: Sequence[str]) -> bool:
        """At least one group fully active (Go: Any)."""
        return any(self.is_(g) for g in groups)

    def any1(self, *states: str) -> bool:
        """At least one state active (Go: Any1)."""
        return any(self._is(s) for s in states)

    def has(self, states: Sequence[str]) -> bool:
        """All states are in the schema (Go: Has)."""
        return not self._disposed and all(s in self._c.index for s in _state_list(states))

    def has1(self, state: str) -> bool:
        return not self._disposed and state in self._c.index

    def switch(self, *groups: Sequence[str]) -> str:
        """The first active state of the groups, or "" (Go: Switch)."""
        for g in groups:
            for s in g:
                if self._is(s):
                    return s
        return ""

    def is_err(self) -> bool:
        """Exception is active (Go: IsErr)."""
        return self._is(EXCEPTION)

    def err(self) -> BaseException | None:
        """The last error added (Go: Err)."""
        return self._err

    def is_disposed(self) -> bool:
        return self._disposed

    # clocks -------------------------------------------------------------

    def tick(self, state: str) -> int:
        """The state's tick; odd = active (Go: Tick)."""
        idx = self._c.index.get(state)
        return 0 if idx is None else self._ticks[idx]

    def time(self, states: Sequence[str] | None = None) -> Time:
        """Ticks in ``states`` or state order (Go: Time)."""
        if self._disposed:
            return Time()
        if states is None:
            return Time(self._ticks)
        return Time(self._ticks[self._must(s)] for s in _state_list(states))

    def clock(self, states: Sequence[str] | None = None) -> Clock:
        """State -> tick (Go: Clock)."""
        if self._disposed:
            return {}
        names = self._c.names if states is None else _state_list(states)
        return {s: self._ticks[self._must(s)] for s in names}

    def is_clock(self, clock: Mapping[str, int]) -> bool:
        """All given ticks equal the current ones (Go: IsClock)."""
        return all(self._ticks[self._must(s)] == t for s, t in clock.items())

    def was_clock(self, clock: Mapping[str, int]) -> bool:
        """All current ticks >= the given ones (Go: WasClock)."""
        return all(self._ticks[self._must(s)] >= t for s, t in clock.items())

    def is_time(self, time: Sequence[int], states: Sequence[str] | None = None) -> bool:
        """Positional tick equality against ``states`` or all (Go: IsTime)."""
        names = self._c.names if states is None else states
        if len(time) != len(names):
            return False
        return all(self._ticks[self._must(s)] == t for s, t in zip(names, time, strict=True))

    def was_time(self, time: Sequence[int], states: Sequence[str] | None = None) -> bool:
        names = self._c.names if states is None else states
        if len(time) != len(names):
            return False
        return all(self._ticks[self._must(s)] >= t for s, t in zip(names, time, strict=True))

    def machine_tick(self) -> int:
        """How many times the machine was imported (Go: MachineTick)."""
        return self._machine_tick

    # schema -------------------------------------------------------------

    def state_names(self) -> list[str]:
        """State order (Go: StateNames)."""
        return list(self._c.names)

    def schema(self) -> Schema:
        """A copy of the parsed schema (Go: Schema)."""
        return dict(self._c.schema)

    def compiled_schema(self) -> CompiledSchema:
        """The shared, immutable parsed schema."""
        return self._c

    def active_states(self, states: Sequence[str] | None = None) -> list[str]:
        """Active states in the machine's internal order (Go: ActiveStates)."""
        active = self._active_order()
        if states is None:
            return list(active)
        want = set(_state_list(states))
        return [s for s in active if s in want]

    def _active_order(self) -> Sequence[str]:
        """Active states in state order (a machine keeps its own order)."""
        t = self._ticks
        return [n for i, n in enumerate(self._c.names) if t[i] % 2]

    def index1(self, state: str) -> int:
        """Position in state order or -1 (Go: Index1)."""
        return -1 if self._disposed else self._c.index.get(state, -1)

    def relations_of(self, state: str) -> list[str]:
        """Relation kinds the state has, in Go's order (Go: RelationsOf)."""
        st = self._c.schema[self._c.names[self._must(state)]]
        return [r for r in ("add", "require", "remove", "after") if getattr(st, r)]

    def relations_between(self, from_state: str, to_state: str) -> list[str]:
        """Relation kinds from one state to another (Go: RelationsBetween)."""
        self._must(to_state)
        st = self._c.schema[self._c.names[self._must(from_state)]]
        return [r for r in ("add", "require", "remove", "after") if to_state in getattr(st, r)]

    # formats ------------------------------------------------------------

    def string(self) -> str:
        """Active states with ticks, e.g. ``(A:1 B:1)`` (Go: String)."""
        if self._disposed:
            return ""
        t = self._ticks
        return "(" + " ".join(f"{n}:{t[i]}" for i, n in enumerate(self._c.names) if t[i] % 2) + ")"

    def string_all(self) -> str:
        """All states: ``(A:1) [B:0 Exception:0]`` (Go: StringAll)."""
        if self._disposed:
            return ""
        t = self._ticks
        on = " ".join(f"{n}:{t[i]}" for i, n in enumerate(self._c.names) if t[i] % 2)
        off = " ".join(f"{n}:{t[i]}" for i, n in enumerate(self._c.names) if not t[i] % 2)
        return f"({on}) [{off}]"

    def inspect(self, states: Sequence[str] | None = None) -> str:
        """A multi-line dump of states, ticks and relations (Go: Inspect)."""
        if self._disposed:
            return ""
        names = self._c.names if states is None else self._must_all(states)
        out: list[str] = []
        for n in names:
            st: State = self._c.schema[n]
            tick = self._ticks[self._c.index[n]]
            out.append(f"{tick % 2} {n}\n    |Tick     {tick}\n")
            if st.auto:
                out.append("    |Auto     true\n")
            if st.multi:
                out.append("    |Multi    true\n")
            for rel in ("add", "require", "remove", "after"):
                vals = getattr(st, rel)
                if vals:
                    out.append(f"    |{rel.capitalize():<9}{' '.join(vals)}\n")
        return "".join(out)

    def __str__(self) -> str:
        return self.string()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.string()}>"

    def export(self) -> dict[str, Any]:
        """Serializable state (Go: Export)."""
        return {
            "id": self.id,
            "state_names": list(self._c.names),
            "time": list(self._ticks),
            "machine_tick": self._machine_tick,
            "schema": {n: s.to_dict() for n, s in self._c.schema.items()},
        }
