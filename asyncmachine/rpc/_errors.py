"""Errors of remote calls and the result of a remote mutation."""

from __future__ import annotations

from ..machine import AsyncMachineError, Result
from ._protocol import ErrorKind


class RemoteError(AsyncMachineError):
    """A remote call was refused or failed; ``kind`` says why (an :class:`ErrorKind`).

    Raised for everything the owner refused (the machine was not touched) and for
    calls that got no answer; handler errors are not raised but returned (see
    :class:`RemoteResult`).
    """

    def __init__(self, kind: ErrorKind, message: str, machine_id: str = "") -> None:
        where = f" ({machine_id})" if machine_id else ""
        super().__init__(f"{kind}{where}: {message}" if message else f"{kind}{where}")
        self.kind = kind
        self.machine_id = machine_id
        self.detail = message


class RemoteTimeoutError(RemoteError, TimeoutError):
    """No answer within the client's timeout (the mutation may or may not have run)."""


class RemoteUnreachableError(RemoteError, ConnectionError):
    """The owner could not be reached: not connected, no such protocol, stream reset."""


class RemoteHandlerError(AsyncMachineError):
    """What a handler of the remote machine raised, as text (its type and message);
    found in :attr:`RemoteResult.error`, never raised by the verbs."""


class RemoteResult(Result):
    """A :class:`~asyncmachine.machine.Result` from a remote machine: it compares equal
    to the local one (``res == Result.CANCELED``) and also carries the machine
    ``time`` right after the mutation and, when a handler raised, ``error``.

    A handler error is a result, not an exception, because that is what it is on a
    local machine (the mutation is canceled and Exception activated); the text is
    carried here because the caller has no ``err()`` of the remote machine.
    """

    time: tuple[int, ...]
    error: RemoteHandlerError | None

    def __new__(
        cls, value: int, time: tuple[int, ...] = (), error: RemoteHandlerError | None = None
    ) -> RemoteResult:
        self = super().__new__(cls, value)
        self.time = time
        self.error = error
        return self

    def __repr__(self) -> str:
        base = Result.__repr__(Result(int(self)))
        return f"{base} (error: {self.error})" if self.error is not None else base


class RemoteCallerError(AsyncMachineError):
    """The error a remote peer stored with ``add_err`` (its message, prefixed with the
    caller's peer id)."""


__all__ = [
    "RemoteCallerError",
    "RemoteError",
    "RemoteHandlerError",
    "RemoteResult",
    "RemoteTimeoutError",
    "RemoteUnreachableError",
]
