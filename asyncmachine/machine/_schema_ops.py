"""Changing a local machine's schema, restoring an export (Go: SetSchema, Import)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._errors import SchemaError
from ._handlers import Bindings
from ._local import LocalBase
from ._reads import _state_list
from ._schema import CompiledSchema, StateLike
from ._tracer import Tracers

if TYPE_CHECKING:
    from ._result import Result


class SchemaOps(LocalBase):
    """Schema replacement keeps ticks of kept states; import restores ticks and order."""

    __slots__ = ()

    _bindings: Bindings
    _tracers: Tracers

    if TYPE_CHECKING:

        def add1(self, state: str, args: Mapping[str, Any] | None = None) -> Result: ...

    def set_schema(
        self, schema: Mapping[str, StateLike], names: Sequence[str] | None = None
    ) -> None:
        """Replace the schema with one of strictly more states (Go: SetSchema).

        As in Go, the state count is the schema's version, so a schema with the
        same states (a relations-only change) is refused, as is dropping a
        state; ticks of kept states carry over, new states start at 0.
        """
        if self._queue_running:
            raise SchemaError("set_schema can't run inside a transition")
        cs = CompiledSchema(schema, names)
        missing = [n for n in self._c.names if n not in cs.index]
        if missing:
            raise SchemaError(f"set_schema would drop states: {missing}")
        if len(cs.names) <= len(self._c.names):
            raise SchemaError(
                f"set_schema needs strictly more states than the current {len(self._c.names)}"
            )
        old = dict(zip(self._c.names, self._ticks, strict=True))
        self._c = cs
        self._ticks = [old.get(n, 0) for n in cs.names]
        self._bindings.rebind(cs.handler_names())
        self._tracers.call("schema_change", self)

    def verify_states(self, names: Sequence[str]) -> None:
        """Set the state order (Go: VerifyStates)."""
        _state_list(names, "names")
        cs = CompiledSchema(self._c.schema, names)
        old = dict(zip(self._c.names, self._ticks, strict=True))
        self._c = cs
        self._ticks = [old[n] for n in cs.names]

    def import_(self, data: Mapping[str, Any]) -> None:
        """Restore an :meth:`export` of the same machine (Go: Import)."""
        if data.get("id") != self.id:
            raise SchemaError(f"import: id {data.get('id')!r} differs from {self.id!r}")
        names = list(data["state_names"])
        ticks = [int(t) for t in data["time"]]
        if len(names) != len(self._c.names) or len(ticks) != len(names):
            raise SchemaError("import: state count differs")
        self.verify_states(names)
        self._ticks = ticks
        self._active = [n for n, t in zip(names, ticks, strict=True) if t % 2]
        self._machine_tick = int(data.get("machine_tick", 0)) + 1
        if "MachineRestored" in self._c.index:
            self.add1("MachineRestored")
