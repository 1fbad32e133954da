"""Running a local machine in Trio: ``async with``, its nursery and forked tasks (Go: Ctx, Go)."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Self

import trio

from ._local import LocalBase

if TYPE_CHECKING:
    from ._result import Result


class Lifecycle(LocalBase):
    """The nursery a machine forks into; leaving ``async with`` disposes the machine."""

    __slots__ = ("_forks", "_nursery")

    _nursery: trio.Nursery | None
    _forks: weakref.WeakSet[trio.CancelScope]

    if TYPE_CHECKING:

        def add_err(
            self, err: BaseException | None, args: Mapping[str, Any] | None = None
        ) -> Result: ...

    @asynccontextmanager
    async def _running(self) -> AsyncIterator[Self]:
        """A nursery for :meth:`fork`; on exit the machine is disposed, forked work cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                yield self
            finally:
                try:
                    self.dispose()
                finally:
                    nursery.cancel_scope.cancel()
                    self._nursery = None

    def bind_nursery(self, nursery: trio.Nursery) -> None:
        """Use an existing nursery for :meth:`fork` (alternative to ``async with``).

        Disposing the machine cancels the tasks it forked there, not the
        nursery's other tasks.
        """
        self._nursery = nursery

    def fork(
        self, fn: Callable[..., Awaitable[object]], *args: object, state: str | None = None
    ) -> None:
        """Run ``fn(*args)`` in the machine's nursery; errors become add_err (Go: Fork/Go).

        With ``state``, the task runs under that state's scope and is
        cancelled when the state's current activation ends. Every forked task
        is cancelled on dispose; on a disposed machine ``fork`` does nothing.
        """
        if self._disposed:
            return
        if self._nursery is None:
            raise RuntimeError(
                f"machine {self.id} has no nursery: use 'async with mach:' or bind_nursery()"
            )
        if state is not None:
            scope = self.state_scope(state)  # also cancelled on dispose
        else:
            scope = trio.CancelScope()
            self._forks.add(scope)

        async def run() -> None:
            try:
                with scope:
                    await fn(*args)
            except Exception as err:
                self.add_err(err)

        self._nursery.start_soon(run)
