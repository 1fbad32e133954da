"""Handler bindings, tracers and callbacks of a local machine (Go: BindHandlers, BindTracer)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._clock import Time
from ._handlers import Bindings
from ._lifecycle import Lifecycle
from ._schema import EXCEPTION
from ._tracer import Tracer, Tracers

if TYPE_CHECKING:
    from ._machine import Machine
    from ._result import Result


class Hooks(Lifecycle):
    """What a :class:`Machine` calls out to: handlers, tracers, error and change callbacks."""

    __slots__ = ("_bindings", "_has_handlers", "_on_change", "_on_error", "_tracers")

    _bindings: Bindings
    _has_handlers: bool
    _tracers: Tracers
    _on_error: list[Callable[[Machine, BaseException], None]]
    _on_change: list[Callable[[Machine, Time, Time], None]]

    if TYPE_CHECKING:

        def add_err(
            self, err: BaseException | None, args: Mapping[str, Any] | None = None
        ) -> Result: ...

    def bind_handlers(self, obj: object, *, state_prefix: str = "") -> str:
        """Bind methods/callables named like events (Go: BindHandlers); returns an id.

        Binding the first handlers while Exception is active re-adds the error.
        """
        bid = self._bindings.bind(obj, self._c.handler_names(), state_prefix)
        first = not self._has_handlers
        self._has_handlers = True
        if first and self._is(EXCEPTION) and self._err is not None:
            self.add_err(self._err)
        return bid

    def detach_handlers(self, binding_id: str) -> None:
        """Remove a handler binding (Go: DetachHandlers)."""
        self._bindings.detach(binding_id)

    def add_tracer(self, tracer: Tracer) -> None:
        """Attach a tracer and call its ``machine_init`` (Go: BindTracer).

        Subclass :class:`TracerBase` and override the hooks you need; a hook
        that raises is logged and skipped.
        """
        self._tracers.add(tracer)
        self._tracers.call_one(tracer, "machine_init", self)

    def remove_tracer(self, tracer: Tracer) -> None:
        """Detach a tracer (Go: DetachTracer)."""
        self._tracers.remove(tracer)

    @property
    def tracers(self) -> list[Tracer]:
        """The attached tracers (Go: Tracers)."""
        return self._tracers.attached()

    def on_error(self, fn: Callable[[Machine, BaseException], None]) -> None:
        """Call ``fn(mach, err)`` for every error added (Go: OnError)."""
        self._on_error.append(fn)

    def on_change(self, fn: Callable[[Machine, Time, Time], None]) -> None:
        """Call ``fn(mach, before, after)`` after every transition (Go: OnChange)."""
        self._on_change.append(fn)
