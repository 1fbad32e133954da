"""Trio waits, state scopes and dispose shared by local machines and read-only mirrors."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import trio

from ._clock import Clock
from ._errors import MachineDisposedError
from ._reads import Reads, _state_list, log
from ._schema import EXCEPTION
from ._subscriptions import ArgsWaiter, Waiter


class MachineBase(Reads):
    """Clock storage, checks and Trio waits (Go: the read half of Machine).

    Every ``when*`` wait returns once its condition holds and raises
    :class:`MachineDisposedError` if the machine is disposed before or while
    waiting (Go closes the channel instead); only :meth:`when_disposed` waits
    for the disposal itself. Waits cancel with Trio scopes and leave nothing
    behind.
    """

    __slots__ = ()

    # waits --------------------------------------------------------------

    async def _check_disposed(self) -> None:
        """Checkpoint, then raise if the machine is disposed (Trio: closed resource)."""
        await trio.lowlevel.checkpoint()
        if self._disposed:
            raise MachineDisposedError(self.id)

    async def _wait_event(self, w: Waiter | ArgsWaiter) -> None:
        await w.event.wait()
        if w.disposed:
            raise MachineDisposedError(self.id)

    async def _wait(self, w: Waiter) -> None:
        subs = self._subscriptions()
        subs.add_state_waiter(w)
        try:
            await self._wait_event(w)
        finally:
            subs.remove_state_waiter(w)

    async def when(self, states: Sequence[str]) -> None:
        """Until all states are active at once (Go: When).

        Raises :class:`MachineDisposedError` if the machine is or gets disposed.
        """
        names = self._must_all(states)
        if self._disposed or all(self._is(s) for s in names):
            await self._check_disposed()
            return
        await self._wait(Waiter(lambda: all(self._is(s) for s in names), names))

    async def when1(self, state: str) -> None:
        """Until the state is active (Go: When1); raises if disposed."""
        await self.when([state])

    async def when_not(self, states: Sequence[str]) -> None:
        """Until all states are inactive (Go: WhenNot); raises if disposed."""
        names = self._must_all(states)
        if self._disposed or not any(self._is(s) for s in names):
            await self._check_disposed()
            return
        await self._wait(Waiter(lambda: not any(self._is(s) for s in names), names))

    async def when_not1(self, state: str) -> None:
        """Until the state is inactive (Go: WhenNot1); raises if disposed."""
        await self.when_not([state])

    async def when_err(self) -> None:
        """Until Exception is active (Go: WhenErr); raises if disposed."""
        await self.when([EXCEPTION])

    async def when_time(self, states: Sequence[str], times: Sequence[int]) -> None:
        """Until each ``tick(states[i]) >= times[i]`` (Go: WhenTime); raises if disposed."""
        names = [self._c.names[self._must(s)] for s in _state_list(states)]
        if not names or len(names) != len(times):
            raise ValueError("when_time: states and times must be non-empty and of equal length")
        pairs = [(self._c.index[s], t) for s, t in zip(names, times, strict=True)]

        def check() -> bool:
            return all(self._ticks[i] >= t for i, t in pairs)

        if self._disposed or check():
            await self._check_disposed()
            return
        await self._wait(Waiter(check, names))

    async def when_time1(self, state: str, tick: int) -> None:
        """Until ``tick(state) >= tick`` (Go: WhenTime1); raises if disposed."""
        await self.when_time([state], [tick])

    async def when_ticks(self, state: str, ticks: int) -> None:
        """Until the state's tick grows by ``ticks`` (Go: WhenTicks); raises if disposed."""
        await self.when_time([state], [self.tick(state) + ticks])

    async def when_next_active(self, state: str) -> None:
        """Until the state's next activation (Go: WhenNextActive); raises if disposed."""
        await self.when_ticks(state, 2 if self._is(state) else 1)

    async def when_query(self, fn: Callable[[Clock], bool]) -> None:
        """Until ``fn(clock)`` holds after an accepted transition (Go: WhenQuery).

        Raises :class:`MachineDisposedError` if the machine is or gets disposed.
        """
        if self._disposed:
            await self._check_disposed()
        w = Waiter(lambda: fn(self.clock()), ())
        subs = self._subscriptions()
        subs.queries.add(w)
        try:
            await self._wait_event(w)
        finally:
            subs.queries.discard(w)

    async def when_args(self, state: str, args: Mapping[str, Any]) -> None:
        """Until ``{state}State`` runs with args including ``args`` (Go: WhenArgs).

        Raises :class:`MachineDisposedError` if the machine is or gets disposed.
        """
        self._must(state)
        if self._disposed:
            await self._check_disposed()
        w = ArgsWaiter(state, args)
        subs = self._subscriptions()
        subs.add_args_waiter(w)
        try:
            await self._wait_event(w)
        finally:
            subs.remove_args_waiter(w)

    async def when_disposed(self) -> None:
        """Until the machine is disposed (Go: WhenDisposed); the one wait that never raises."""
        if self._disposed:
            await trio.lowlevel.checkpoint()
            return
        subs = self._subscriptions()
        if subs.disposed is None:
            subs.disposed = trio.Event()
        await subs.disposed.wait()

    async def when_queue_ends(self) -> None:
        """Until the mutation queue drains (Go: WhenQueueEnds); raises if disposed."""
        if self._disposed or not self._queue_running:
            await self._check_disposed()
            return
        w = Waiter(lambda: True, ())
        subs = self._subscriptions()
        subs.queue_end.add(w)
        try:
            await self._wait_event(w)
        finally:
            subs.queue_end.discard(w)

    # state scopes -------------------------------------------------------

    def state_scope(self, state: str) -> trio.CancelScope:
        """A cancel scope that ends with the state's current activation (Go: NewStateCtx).

        Cancelled when the state's tick moves (activation, deactivation, Multi
        re-activation) or on dispose; for an inactive state, valid until it
        next activates.
        """
        self._must(state)
        scope = trio.CancelScope()
        if self._disposed:
            scope.cancel()
            return scope
        self._subscriptions().scopes.setdefault(state, weakref.WeakSet()).add(scope)
        return scope

    # dispose ------------------------------------------------------------

    def on_dispose(self, fn: Callable[[str], None]) -> None:
        """Call ``fn(machine_id)`` on dispose (Go: OnDispose)."""
        self._subscriptions().on_dispose.append(fn)

    def dispose(self) -> None:
        """Fail every wait with MachineDisposedError, cancel state scopes, run callbacks.

        Go: Dispose (which closes the waits' channels instead).
        """
        if self._disposed:
            return
        self._disposed = True
        subs = self._subs
        if subs is None:
            return
        subs.close_all()
        if subs.disposed is not None:
            subs.disposed.set()
        fns, subs.on_dispose = subs.on_dispose, []
        for fn in fns:
            try:
                fn(self.id)
            except Exception:
                log.exception("[%s] on_dispose callback failed", self.id[:5])

    # helpers for subclasses ----------------------------------------------

    def _settle(self, changed: Iterable[str], queue_tick: int) -> None:
        subs = self._subs
        if subs is not None:
            changed = list(changed)
            if subs.scopes:
                subs.cancel_scopes(changed)
            subs.settle(changed, queue_tick)
