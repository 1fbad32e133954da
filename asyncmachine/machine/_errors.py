"""Errors raised or stored by machines (Go: ErrStateMissing, ErrSchema, ...)."""

from __future__ import annotations


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


class InvalidArgsError(AsyncMachineError, ValueError):
    """Mutation arguments failed validation (Go: ErrInvalidArgs)."""


class HandlerError(AsyncMachineError):
    """Wraps an exception raised by a handler (Go: a recovered panic).

    ``handler`` is the handler name, ``called`` the called states of the
    transition; the original exception is ``__cause__`` and ``err``.
    """

    def __init__(self, handler: str, called: list[str], err: BaseException) -> None:
        super().__init__(f"{handler}: {type(err).__name__}: {err}")
        self.handler = handler
        self.called = called
        self.err = err
        self.__cause__ = err
