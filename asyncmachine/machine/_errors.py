"""Errors raised or stored by machines (Go: ErrStateMissing, ErrSchema, ...)."""

from __future__ import annotations

import trio


class AsyncMachineError(Exception):
    """Base class of every error this package raises."""


class StateMissingError(AsyncMachineError, LookupError):
    """A state name is not in the machine's schema (Go: ErrStateMissing)."""

    def __init__(self, state: str, mach_id: str) -> None:
        super().__init__(f"{state} not defined in schema for {mach_id}")
        self.state = state
        self.mach_id = mach_id


class SchemaError(AsyncMachineError, ValueError):
    """A malformed schema or state-name list (Go: ErrSchema)."""


class HandlerTimeoutError(AsyncMachineError, TimeoutError):
    """A handler ran longer than the machine's handler timeout (Go: ErrHandlerTimeout)."""


class EvalTimeoutError(AsyncMachineError, TimeoutError):
    """An eval could not run (Go: ErrEvalTimeout / ErrNestedEval)."""


class MachineDisposedError(AsyncMachineError, trio.ClosedResourceError):
    """A wait on a machine that was disposed before or while waiting.

    Go closes a wait's channel on dispose, so the waiter can't tell "the
    condition holds" from "the machine is gone". Here the wait raises, the way
    Trio's channels raise ``trio.ClosedResourceError`` once closed, so
    ``await mach.when1("Ready")`` returning always means Ready is active. It is
    also a ``trio.ClosedResourceError``: code treating any closed Trio resource
    alike catches it too.
    """

    def __init__(self, mach_id: str) -> None:
        super().__init__(f"machine {mach_id} is disposed")
        self.mach_id = mach_id
