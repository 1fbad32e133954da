"""The clock-based state machine: mutations, the queue and handlers (Go: Machine)."""

from __future__ import annotations

import logging
import os
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

import trio

from .._lifetime import Lifetime
from ._base import MachineBase
from ._clock import Time
from ._errors import EvalTimeoutError, SchemaError
from ._handlers import Bindings
from ._hooks import Hooks
from ._log_level import LogLevel, _env_log_level
from ._mutation import EXCEPTION_ARG, ExceptionArgs, Mutation, MutationSource
from ._mutations import Mutations
from ._queue_reads import QueueReads
from ._reads import log
from ._result import MutationType, Result
from ._schema import EXCEPTION, CompiledSchema, StateLike
from ._schema_ops import SchemaOps
from ._tracer import Tracer, Tracers
from ._transition import Transition

_ADD, _REMOVE, _SET, _EVAL = (
    MutationType.ADD,
    MutationType.REMOVE,
    MutationType.SET,
    MutationType.EVAL,
)
_EXECUTED, _CANCELED = Result.EXECUTED, Result.CANCELED


class Machine(Hooks, QueueReads, Mutations, SchemaOps):
    """A clock-based state machine (Go: Machine).

    Mutations run synchronously: called from outside, a mutation runs the
    queue until it is empty and returns its own transition's result; called
    from a handler, it is queued and returns its queue tick. A handler
    raising a BaseException (``KeyboardInterrupt``, ``SystemExit``,
    ``trio.Cancelled``) rolls its transition back (entered states are
    deactivated, ticks only move forward), drops the queue and propagates to
    the caller of the mutation.

    ``queue_limit`` (Go: QueueLimit) caps the queue: while it is full, new
    mutations are canceled, counted in :attr:`queue_dropped` and logged once
    per queue run at warning level.
    """

    __slots__ = (
        "_dispose_pending",
        "_disposing",
        "_lifetime",
        "_queue",
        "_queue_dropped",
        "_queue_dropped_logged",
        "_queue_pending",
        "_queue_tick",
        "_tx",
        "_tx_count",
        "_tx_failed",
        "_tx_prefix",
        "handler_timeout",
        "log_level",
        "queue_limit",
    )

    _ticks: list[int]

    def __init__(
        self,
        schema: Mapping[str, StateLike] | CompiledSchema,
        *,
        id: str | None = None,
        handlers: object | None = None,
        parent: MachineBase | str | None = None,
        tags: Iterable[str] = (),
        names: Sequence[str] | None = None,
        handler_timeout: float | None = 0.1,
        queue_limit: int = 1000,
        tracers: Iterable[Tracer] = (),
        log_level: int | None = None,
    ) -> None:
        cs = schema if isinstance(schema, CompiledSchema) else CompiledSchema(schema, names)
        parent_id = parent if isinstance(parent, str) else parent.id if parent is not None else ""
        super().__init__(cs, [0] * len(cs.names), id=id, parent_id=parent_id)
        self.tags: list[str] = list(dict.fromkeys(tags))
        self._active: list[str] = []
        self._err: BaseException | None = None
        self._machine_tick = 0
        self._queue_running = False
        if handler_timeout is not None and handler_timeout <= 0:
            raise ValueError("handler_timeout must be positive or None")
        if queue_limit < 1:
            raise ValueError(f"queue_limit must be at least 1, got {queue_limit}")
        self.handler_timeout = handler_timeout
        self.queue_limit = queue_limit
        self.log_level: int = _env_log_level() if log_level is None else LogLevel(log_level)
        self._queue: deque[Mutation] = deque()
        self._queue_tick = 1
        self._queue_pending = 0
        self._queue_dropped = 0
        self._queue_dropped_logged = 0
        self._tx: Transition | None = None
        self._tx_count = 0
        self._tx_prefix = os.urandom(4).hex()
        self._tx_failed = False
        self._bindings = Bindings()
        self._has_handlers = False
        self._tracers = Tracers(self.id)
        self._disposing = False
        self._dispose_pending = False
        self._nursery: trio.Nursery | None = None
        self._forks: weakref.WeakSet[trio.CancelScope] = weakref.WeakSet()
        self._lifetime = Lifetime(self._running, f"machine {self.id} in 'async with'")
        self._on_error: list[Callable[[Machine, BaseException], None]] = []
        self._on_change: list[Callable[[Machine, Time, Time], None]] = []
        for t in tracers:
            self.add_tracer(t)
        if cs.conflicts:
            self.add_err(SchemaError("schema error: " + "; ".join(cs.conflicts)))
        if cs.topo_error:
            self._log(LogLevel.CHANGES, "[resolver] relation error: %s", cs.topo_error)
        if handlers is not None:
            self.bind_handlers(handlers)

    def _active_order(self) -> list[str]:
        """Active states in the order the resolver activated them."""
        return self._active

    # logging ------------------------------------------------------------

    def _log(self, level: int, msg: str, *args: object) -> None:
        if level <= self.log_level:
            log.log(
                logging.INFO if level <= LogLevel.CHANGES else logging.DEBUG,
                "[%s] " + msg,
                self.id[:5],
                *args,
            )

    def log(self, msg: str, *args: object) -> None:
        """An external log line, ``[exter] msg`` (Go: Log)."""
        self._log(LogLevel.EXTERNAL, "[exter] " + msg, *args)

    def _rollback(self, states: list[str]) -> None:
        """Deactivate states whose State handlers did not complete."""
        idx = self._c.index
        drop = [s for s in states if self._ticks[idx[s]] % 2]
        for s in drop:
            self._ticks[idx[s]] += 1
        self._active = [s for s in self._active if s not in drop]

    def _queue_auto(self) -> None:
        """Prepend an Add of every inactive, unblocked Auto state (Go: NewAutoMutation)."""
        autos = self._c.auto_states
        if not autos:
            return
        inactive = [s for s in autos if not self._is(s)]
        if not inactive:
            return
        schema = self._c.schema
        blocked: set[str] = set()
        for a in self._active:
            blocked.update(schema[a].remove)
        to_add = [s for s in inactive if s not in blocked]
        if to_add:
            self._log(LogLevel.OPS, "[auto] %s", " ".join(to_add))
            self._queue.appendleft(Mutation(_ADD, to_add, {}, is_auto=True))

    def _apply(self, tx: Transition) -> bool:
        """Apply ticks and the active list (Go: setActiveStates); True if changed."""
        ticks = self._ticks
        idx = self._c.index
        before = tx.before
        for s in tx.enters:
            ticks[idx[s]] += 2 if s in before else 1
        for s in tx.exits:
            ticks[idx[s]] += 1
        self._active = list(tx.target)
        if not tx.enters and not tx.exits:
            return False
        if self.log_level >= LogLevel.CHANGES:
            on = " ".join(f"+{s}" for s in tx.enters)
            off = " ".join(f"-{s}" for s in tx.exits)
            kind = "auto_" if tx.mutation.is_auto else "state"
            self._log(LogLevel.CHANGES, "[%s] %s %s", kind, on, off)
        subs = self._subs
        if subs is not None and subs.scopes:
            subs.cancel_scopes([*tx.enters, *tx.exits])
        return True

    def _run_queue(self, own: Mutation | None) -> Result:
        """Drain the queue; returns ``own``'s result (Go: processQueue)."""
        result = _EXECUTED
        self._queue_running = True
        queue = self._queue
        try:
            while queue:
                mut = queue.popleft()
                if mut.queue_tick:
                    self._queue_tick += 1
                    self._queue_pending -= 1
                if mut.eval_fn is not None:
                    self._run_eval(mut)
                    continue
                self._tx_failed = False
                self._tx_count += 1
                tx = Transition(self, mut, self._tx_count)
                try:
                    res = tx.run()
                except BaseException:
                    if tx.time_after != tx.time_before:  # rolled back, ticks moved
                        self._settle([*tx.enters, *tx.exits], self._queue_tick)
                    raise
                if mut is own:
                    result = res
                if not mut.is_check:
                    for fn in self._on_change:
                        fn(self, tx.time_before, tx.time_after)
                    if tx.is_accepted and self._subs is not None:
                        self._subs.settle([*tx.enters, *tx.exits], self._queue_tick)
        finally:
            self._queue_running = False
            self._tx = None
            self._queue_pending = 0
            queue.clear()
            self._queue_ended()
        if self._dispose_pending:
            self.dispose()
        return result

    def _queue_ended(self) -> None:
        """Release queue-end waits, call tracers, report mutations dropped by a full queue."""
        if self._subs is not None:
            self._subs.end_queue()
        if self._tracers.hooks:
            self._tracers.call("queue_end", self)
        if dropped := self._queue_dropped - self._queue_dropped_logged:
            self._queue_dropped_logged = self._queue_dropped
            log.warning(
                "[%s] [queue:full] %d mutations canceled: queue_limit %d reached",
                self.id[:5],
                dropped,
                self.queue_limit,
            )

    def _run_eval(self, mut: Mutation) -> None:
        assert mut.eval_fn is not None
        try:
            mut.eval_fn()
        except Exception as err:
            self.add_err(err)

    def _enqueue(self, mut: Mutation, prepend: bool = False) -> Result:
        if prepend:
            self._queue.appendleft(mut)
        else:
            self._queue_pending += 1
            mut.queue_tick = self._queue_tick + self._queue_pending
            self._queue.append(mut)
        if self._tracers.hooks:
            self._tracers.call("mutation_queued", self, mut)
        if self._queue_running:
            self._log(LogLevel.OPS, "[queue:%s] %s", mut.type, " ".join(mut.called))
            return Result(mut.queue_tick) if mut.queue_tick > 1 else Result.QUEUED
        return self._run_queue(mut)

    # mutations ------------------------------------------------------------

    def _mutate(
        self,
        mtype: MutationType,
        states: Sequence[str],
        args: Mapping[str, Any] | None,
        *,
        check: bool = False,
        source: MutationSource | None = None,
        err_add: bool = False,
    ) -> Result:
        if self._disposed or self._disposing:
            return _CANCELED
        if type(states) is list and len(states) == 1 and states[0] in self._c.index:
            called = [states[0]]
        else:
            called = self._must_all(states)
        if args is None:
            a: dict[str, Any] = {}
        elif isinstance(args, Mapping):
            a = dict(args)
        else:
            raise TypeError(f"args must be a dict, got {type(args).__name__}")
        if len(self._queue) >= self.queue_limit:
            exc_ok = not err_add and (
                (mtype is _ADD and EXCEPTION in called and not self._is(EXCEPTION))
                or (mtype is _REMOVE and EXCEPTION in called and self._is(EXCEPTION))
            )
            if not exc_ok:
                self._log(LogLevel.OPS, "[queue:full] %s", " ".join(called))
                self._queue_dropped += 1
                return _CANCELED
        if check:
            return self._enqueue(Mutation(mtype, called, a, is_check=True), prepend=True)
        running = self._queue_running
        if running and mtype is _REMOVE and not self._queue and not any(map(self._is, called)):
            return _EXECUTED
        if running and not a and self._queue:
            schema = self._c.schema
            if not any(schema[s].multi for s in called):
                n = len(called)
                for m in self._queue:
                    if (
                        m.type is mtype
                        and not m.args
                        and len(m.called) == n
                        and all(s in m.called for s in called)
                    ):
                        return _EXECUTED
        return self._enqueue(Mutation(mtype, called, a, source=source))

    def add_err_state(
        self, state: str, err: BaseException | None, args: Mapping[str, Any] | None = None
    ) -> Result:
        """Store ``err`` and activate ``state`` and Exception (Go: AddErrState)."""
        self._must(state)
        if self._disposed or err is None or isinstance(err, trio.Cancelled):
            return _CANCELED
        if not isinstance(err, BaseException):
            raise TypeError(f"err must be an exception, got {type(err).__name__}")
        if len(self._queue) >= self.queue_limit:
            self._queue_dropped += 1
            return _CANCELED
        self._err = err
        for fn in self._on_error:
            fn(self, err)
        info = ExceptionArgs(err=err, trace="".join(traceback.format_exception(err)))
        merged = {**(args or {}), EXCEPTION_ARG: info}
        states = [state] if state == EXCEPTION else [state, EXCEPTION]
        return self._mutate(_ADD, states, merged, err_add=True)

    def eval(self, fn: Callable[[], None], source: str = "") -> bool:
        """Run ``fn`` inside the queue, between transitions (Go: Eval).

        From a handler (the queue is busy) it would deadlock in Go: here it
        returns False and adds an EvalTimeoutError.
        """
        if self._disposed:
            return False
        if self._queue_running:
            self.add_err(EvalTimeoutError(f"nested eval from {source or 'handler'}"))
            return False
        mut = Mutation(_EVAL, [], {}, eval_fn=fn)
        self._queue.appendleft(mut)
        err_before = self._err
        self._run_queue(None)
        return self._err is err_before or self._err is None

    # async with ------------------------------------------------------------

    async def __aenter__(self) -> Machine:
        """``async with mach:`` runs the machine in a nursery of its own.

        Leaving the block disposes the machine and cancels every task started
        with :meth:`fork`. Delegates to an ``asynccontextmanager``.
        """
        return await self._lifetime.enter()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await self._lifetime.exit(exc_type, exc, tb)

    # dispose -----------------------------------------------------------------

    def dispose(self) -> None:
        """Dispose the machine (Go: Dispose).

        Waits raise MachineDisposedError, state scopes and forked tasks are
        cancelled; a raising tracer is only logged.
        """
        if self._disposed:
            return
        if self._queue_running:
            self._dispose_pending = True
            return
        if "Start" in self._c.index and self._is("Start"):
            self.remove1("Start")
        self._disposing = True
        self._tracers.call("machine_dispose", self)
        self._bindings = Bindings()
        super().dispose()
        self._ticks = [0] * len(self._c.names)
        self._active = []
        for scope in list(self._forks):
            scope.cancel()
