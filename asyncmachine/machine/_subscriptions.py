"""Wait indexes settled after each accepted transition (Go: subscriptions.go)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import trio

Check = Callable[[], bool]


class Waiter:
    """One pending wait: a trio.Event set when ``check()`` holds, or on dispose.

    ``disposed`` tells the waiter which: set by :meth:`Subscriptions.close_all`.
    """

    __slots__ = ("check", "disposed", "event", "keys")

    def __init__(self, check: Check, keys: Iterable[str]) -> None:
        self.check = check
        self.event = trio.Event()
        self.keys = tuple(dict.fromkeys(keys))
        self.disposed = False


class ArgsWaiter:
    """A wait for a ``{state}State`` event with matching args (Go: WhenArgs)."""

    __slots__ = ("args", "disposed", "event", "state")

    def __init__(self, state: str, args: Mapping[str, Any]) -> None:
        self.state = state
        self.args = dict(args)
        self.event = trio.Event()
        self.disposed = False


class Subscriptions:
    """All of one machine's pending waits, state scopes and dispose callbacks.

    Created on first use (most mirrors are never waited on): a machine without
    any holds ``None`` instead.
    """

    __slots__ = (
        "by_args",
        "by_state",
        "disposed",
        "on_dispose",
        "queries",
        "queue_end",
        "queue_ticks",
        "scopes",
    )

    def __init__(self) -> None:
        self.disposed: trio.Event | None = None
        """Set on dispose (:meth:`MachineBase.when_disposed`); made by the first waiter."""
        self.on_dispose: list[Callable[[str], None]] = []
        self.by_state: dict[str, set[Waiter]] = {}
        self.by_args: dict[str, set[ArgsWaiter]] = {}
        self.queries: set[Waiter] = set()
        self.queue_ticks: dict[Waiter, int] = {}
        self.queue_end: set[Waiter] = set()
        self.scopes: dict[str, weakref.WeakSet[trio.CancelScope]] = {}

    def count(self) -> int:
        """Number of pending waits (for leak checks)."""
        states = {w for ws in self.by_state.values() for w in ws}
        return (
            len(states)
            + sum(len(v) for v in self.by_args.values())
            + len(self.queries)
            + len(self.queue_ticks)
            + len(self.queue_end)
        )

    # registration -------------------------------------------------------

    def add_state_waiter(self, w: Waiter) -> None:
        for k in w.keys:
            self.by_state.setdefault(k, set()).add(w)

    def remove_state_waiter(self, w: Waiter) -> None:
        for k in w.keys:
            ws = self.by_state.get(k)
            if ws is not None:
                ws.discard(w)
                if not ws:
                    del self.by_state[k]

    def add_args_waiter(self, w: ArgsWaiter) -> None:
        self.by_args.setdefault(w.state, set()).add(w)

    def remove_args_waiter(self, w: ArgsWaiter) -> None:
        ws = self.by_args.get(w.state)
        if ws is not None:
            ws.discard(w)
            if not ws:
                del self.by_args[w.state]

    # settling -----------------------------------------------------------

    def settle(self, changed: Iterable[str], queue_tick: int) -> None:
        """Release the waits satisfied after an accepted transition."""
        if self.by_state:
            for s in changed:
                ws = self.by_state.get(s)
                if not ws:
                    continue
                for w in [w for w in ws if w.check()]:
                    self.remove_state_waiter(w)
                    w.event.set()
        if self.queries:
            for w in [w for w in self.queries if w.check()]:
                self.queries.discard(w)
                w.event.set()
        if self.queue_ticks:
            for w, tick in list(self.queue_ticks.items()):
                if queue_tick >= tick:
                    del self.queue_ticks[w]
                    w.event.set()

    def settle_args(self, state: str, args: Mapping[str, Any]) -> None:
        """Release WhenArgs waits on a ``{state}State`` event."""
        ws = self.by_args.get(state)
        if not ws:
            return
        for w in list(ws):
            if all(k in args and args[k] == v for k, v in w.args.items()):
                self.remove_args_waiter(w)
                w.event.set()

    def end_queue(self) -> None:
        if self.queue_end:
            ws, self.queue_end = self.queue_end, set()
            for w in ws:
                w.event.set()

    def cancel_scopes(self, states: Iterable[str]) -> None:
        """Cancel the state scopes of states whose tick moved."""
        for s in states:
            scopes = self.scopes.pop(s, None)
            if scopes:
                for sc in list(scopes):
                    sc.cancel()

    def close_all(self) -> None:
        """Release every wait as disposed and cancel every scope (on dispose)."""
        waiters: list[Waiter | ArgsWaiter] = [
            *{w for ws in self.by_state.values() for w in ws},
            *(aw for aws in self.by_args.values() for aw in aws),
            *self.queries,
            *self.queue_ticks,
            *self.queue_end,
        ]
        for w in waiters:
            w.disposed = True
            w.event.set()
        self.by_state.clear()
        self.by_args.clear()
        self.queries.clear()
        self.queue_ticks.clear()
        self.queue_end.clear()
        self.cancel_scopes(list(self.scopes))
