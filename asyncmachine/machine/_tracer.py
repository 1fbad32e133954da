"""Tracers: typed hooks into a machine's transitions (Go: Tracer / NoOpTracer).

A tracer implements :class:`Tracer`; subclass :class:`TracerBase` and override
the hooks you need. A misspelt hook is caught twice: mypy reports it when the
method is decorated with ``typing_extensions.override``, and attaching a tracer
with a public method named almost like a hook raises ``TypeError``. A tracer
that raises is logged and skipped, never breaking the machine, like
``on_dispose`` callbacks.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._machine import Machine
    from ._mutation import Mutation
    from ._transition import Transition

log = logging.getLogger("asyncmachine.machine")


class Tracer(Protocol):
    """The hooks a machine calls (Go: Tracer); arguments are positional."""

    def machine_init(self, mach: Machine, /) -> None:
        """The tracer was attached to ``mach`` (Go: MachineInit)."""

    def machine_dispose(self, mach: Machine, /) -> None:
        """``mach`` is being disposed (Go: MachineDispose)."""

    def schema_change(self, mach: Machine, /) -> None:
        """``mach.set_schema`` replaced the schema (Go: SchemaChange)."""

    def transition_init(self, tx: Transition, /) -> None:
        """A transition was created, before negotiation (Go: TransitionInit)."""

    def transition_start(self, tx: Transition, /) -> None:
        """Negotiation handlers are about to run (Go: TransitionStart)."""

    def transition_end(self, tx: Transition, /) -> None:
        """The transition finished, accepted or not (Go: TransitionEnd)."""

    def handler_start(self, tx: Transition, binding_id: str, handler: str, /) -> None:
        """A handler of the binding is about to run (Go: HandlerStart)."""

    def handler_end(self, tx: Transition, binding_id: str, handler: str, /) -> None:
        """The handler returned or raised (Go: HandlerEnd)."""

    def mutation_queued(self, mach: Machine, mutation: Mutation, /) -> None:
        """A mutation entered the queue (Go: MutationQueued)."""

    def queue_end(self, mach: Machine, /) -> None:
        """The queue drained (Go: QueueEnd)."""


class TracerBase:
    """A :class:`Tracer` whose every hook does nothing (Go: NoOpTracer).

    Machines skip the hooks a subclass doesn't override, so an idle hook costs
    nothing per transition.
    """

    __slots__ = ()

    def machine_init(self, mach: Machine, /) -> None:
        pass

    def machine_dispose(self, mach: Machine, /) -> None:
        pass

    def schema_change(self, mach: Machine, /) -> None:
        pass

    def transition_init(self, tx: Transition, /) -> None:
        pass

    def transition_start(self, tx: Transition, /) -> None:
        pass

    def transition_end(self, tx: Transition, /) -> None:
        pass

    def handler_start(self, tx: Transition, binding_id: str, handler: str, /) -> None:
        pass

    def handler_end(self, tx: Transition, binding_id: str, handler: str, /) -> None:
        pass

    def mutation_queued(self, mach: Machine, mutation: Mutation, /) -> None:
        pass

    def queue_end(self, mach: Machine, /) -> None:
        pass


def _check_hook_names(tracer: object) -> None:
    """Raise TypeError for a public method named almost like a hook (a typo)."""
    for name in dir(type(tracer)):
        if name.startswith("_") or name in HOOKS or not callable(getattr(tracer, name, None)):
            continue
        if close := difflib.get_close_matches(name, HOOKS, n=1, cutoff=0.85):
            raise TypeError(
                f"tracer {type(tracer).__name__}.{name} is not a tracer hook; "
                f"did you mean {close[0]}?"
            )


HOOKS = (
    "machine_init",
    "machine_dispose",
    "schema_change",
    "transition_init",
    "transition_start",
    "transition_end",
    "handler_start",
    "handler_end",
    "mutation_queued",
    "queue_end",
)


class Tracers:
    """A machine's tracers, indexed by the hooks they override."""

    __slots__ = ("_list", "_mach_id", "handler_hooks", "hooks")

    def __init__(self, mach_id: str) -> None:
        self._mach_id = mach_id
        self._list: list[Tracer] = []
        self.hooks: dict[str, list[Callable[..., object]]] = {}
        """Hook name -> bound methods; only hooks some tracer overrides."""
        self.handler_hooks = False
        """Some tracer has handler_start or handler_end (checked per handler call)."""

    def attached(self) -> list[Tracer]:
        return list(self._list)

    def add(self, tracer: Tracer) -> None:
        _check_hook_names(tracer)
        self._list.append(tracer)
        self._reindex()

    def remove(self, tracer: Tracer) -> None:
        self._list.remove(tracer)
        self._reindex()

    def _reindex(self) -> None:
        self.hooks = {}
        for hook in HOOKS:
            noop = getattr(TracerBase, hook)
            fns = [
                f
                for t in self._list
                if (f := getattr(t, hook, None)) is not None
                and getattr(f, "__func__", None) is not noop
            ]
            if fns:
                self.hooks[hook] = fns
        self.handler_hooks = "handler_start" in self.hooks or "handler_end" in self.hooks

    def call_one(self, tracer: Tracer, hook: str, *args: object) -> None:
        """Call one tracer's hook, if it has it; an Exception is logged, never raised."""
        if (fn := getattr(tracer, hook, None)) is not None:
            self._guarded(fn, args)

    def call(self, hook: str, *args: object) -> None:
        """Call ``hook`` on every tracer; an Exception is logged, never raised."""
        for fn in self.hooks.get(hook, ()):
            self._guarded(fn, args)

    def _guarded(self, fn: Callable[..., object], args: tuple[object, ...]) -> None:
        try:
            fn(*args)
        except Exception:
            name = getattr(fn, "__qualname__", repr(fn))
            log.exception("[%s] tracer %s failed", self._mach_id[:5], name)
