"""The clock-based state machine: mutations, the queue and handlers (Go: Machine)."""

from __future__ import annotations

import enum
import logging
import os
import traceback
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import trio

from .._lifetime import Lifetime
from ._base import MachineBase
from ._clock import Time
from ._errors import EvalTimeoutError, SchemaError
from ._handlers import Bindings
from ._mutation import EXCEPTION_ARG, Event, ExceptionArgs, Mutation, MutationSource
from ._reads import _state_list, log
from ._result import MutationType, Result
from ._schema import EXCEPTION, CompiledSchema, StateLike
from ._tracer import Tracer, Tracers
from ._transition import Transition

_ADD, _REMOVE, _SET, _EVAL = (
    MutationType.ADD,
    MutationType.REMOVE,
    MutationType.SET,
    MutationType.EVAL,
)
_EXECUTED, _CANCELED = Result.EXECUTED, Result.CANCELED


class LogLevel(enum.IntEnum):
    """How much a machine logs (Go: LogLevel)."""

    NOTHING = 0
    EXTERNAL = 1
    CHANGES = 2
    OPS = 3
    DECISIONS = 4
    EVERYTHING = 5


def _env_log_level() -> LogLevel:
    try:
        return LogLevel(int(os.environ.get("AM_LOG", "0")))
    except ValueError:
        return LogLevel.NOTHING


class Machine(MachineBase):
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
        "_active",
        "_bindings",
        "_dispose_pending",
        "_disposing",
        "_err",
        "_forks",
        "_has_handlers",
        "_lifetime",
        "_machine_tick",
        "_nursery",
        "_on_change",
        "_on_error",
        "_queue",
        "_queue_dropped",
        "_queue_dropped_logged",
        "_queue_pending",
        "_queue_running",
        "_queue_tick",
        "_tracers",
        "_tx",
        "_tx_count",
        "_tx_failed",
        "_tx_prefix",
        "handler_timeout",
        "log_level",
        "queue_limit",
        "tags",
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

    # handlers and tracers ------------------------------------------------

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

    def _rollback(self, states: list[str]) -> None:
        """Deactivate states whose State handlers did not complete."""
        idx = self._c.index
        drop = [s for s in states if self._ticks[idx[s]] % 2]
        for s in drop:
            self._ticks[idx[s]] += 1
        self._active = [s for s in self._active if s not in drop]

    # queue ----------------------------------------------------------------

    def queue_len(self) -> int:
        """Mutations waiting in the queue (Go: QueueLen)."""
        return len(self._queue)

    def queue_tick(self) -> int:
        """The queue tick (Go: QueueTick)."""
        return self._queue_tick

    def queue(self) -> list[Mutation]:
        return list(self._queue)

    def transition(self) -> Transition | None:
        """The running transition, if any (Go: Transition)."""
        return self._tx

    def is_queued(
        self,
        mut_type: MutationType,
        states: Sequence[str],
        *,
        without_args_only: bool = False,
        strict_equal: bool = False,
        min_queue_tick: int = 0,
    ) -> tuple[bool, int, int]:
        """Find a queued mutation: (found, index, queue tick) (Go: IsQueued)."""
        for i, mut in enumerate(self._queue):
            if (
                mut.type is mut_type
                and (not without_args_only or not mut.args)
                and (not strict_equal or len(mut.called) == len(states))
                and all(s in mut.called for s in states)
                and mut.queue_tick >= min_queue_tick
                and not mut.is_check
            ):
                return True, i, mut.queue_tick
        return False, -1, 0

    def will_be(self, states: Sequence[str]) -> bool:
        """States queued for activation (Go: WillBe)."""
        names = self._must_all(states)
        return any(
            m.type in (_ADD, _SET) and all(s in m.called for s in names) for m in self._queue
        )

    def will_be1(self, state: str) -> bool:
        return self.will_be([state])

    def will_be_removed(self, states: Sequence[str]) -> bool:
        names = self._must_all(states)
        return any(m.type is _REMOVE and all(s in m.called for s in names) for m in self._queue)

    def _queue_auto(self) -> None:
        """Prepend an Add of every inactive, unblocked Auto state (Go: NewAutoMutation)."""
        autos = self._c.auto_states
        if not autos:
            return
        schema = self._c.schema
        blocked: set[str] = set()
        for a in self._active:
            blocked.update(schema[a].remove)
        to_add = [s for s in autos if not self._is(s) and s not in blocked]
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

    @property
    def queue_dropped(self) -> int:
        """Mutations canceled because the queue was full (``queue_limit``), in total."""
        return self._queue_dropped

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

    def add(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        """Activate states, keeping the active ones (Go: Add)."""
        return self._mutate(_ADD, states, args)

    def add1(self, state: str, args: Mapping[str, Any] | None = None) -> Result:
        """Activate one state (Go: Add1)."""
        return self._mutate(_ADD, [state], args)

    def remove(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        """Deactivate states (Go: Remove)."""
        return self._mutate(_REMOVE, states, args)

    def remove1(self, state: str, args: Mapping[str, Any] | None = None) -> Result:
        """Deactivate one state (Go: Remove1)."""
        return self._mutate(_REMOVE, [state], args)

    def set(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        """Activate exactly these states (Go: Set)."""
        return self._mutate(_SET, states, args)

    def toggle(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        """Remove if all are active, else Add (Go: Toggle)."""
        if self.is_(states):
            return self.remove(states, args)
        return self.add(states, args)

    def toggle1(self, state: str, args: Mapping[str, Any] | None = None) -> Result:
        return self.toggle((state,), args)

    def ev_add(
        self, source: Any, states: Sequence[str], args: Mapping[str, Any] | None = None
    ) -> Result:
        """Add with a source event (Go: EvAdd)."""
        return self._mutate(_ADD, states, args, source=_source_of(source))

    def ev_add1(self, source: Any, state: str, args: Mapping[str, Any] | None = None) -> Result:
        return self.ev_add(source, (state,), args)

    def ev_remove(
        self, source: Any, states: Sequence[str], args: Mapping[str, Any] | None = None
    ) -> Result:
        """Remove with a source event (Go: EvRemove)."""
        return self._mutate(_REMOVE, states, args, source=_source_of(source))

    def ev_remove1(self, source: Any, state: str, args: Mapping[str, Any] | None = None) -> Result:
        return self.ev_remove(source, (state,), args)

    def can_add(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        """Dry-run an Add: relations and negotiation only (Go: CanAdd)."""
        return self._mutate(_ADD, states, args, check=True)

    def can_add1(self, state: str, args: Mapping[str, Any] | None = None) -> Result:
        return self.can_add((state,), args)

    def can_remove(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        """Dry-run a Remove (Go: CanRemove)."""
        return self._mutate(_REMOVE, states, args, check=True)

    def can_remove1(self, state: str, args: Mapping[str, Any] | None = None) -> Result:
        return self.can_remove((state,), args)

    def add_err(self, err: BaseException | None, args: Mapping[str, Any] | None = None) -> Result:
        """Store ``err`` and activate Exception (Go: AddErr)."""
        return self.add_err_state(EXCEPTION, err, args)

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

    # schema ----------------------------------------------------------------

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

    # async work -------------------------------------------------------------

    @asynccontextmanager
    async def _running(self) -> AsyncIterator[Machine]:
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

    async def when_queue(self, tick: int) -> None:
        """Until the queue tick reaches ``tick`` after an accepted tx (Go: WhenQueue).

        Raises :class:`MachineDisposedError` if the machine is or gets disposed.
        """
        from ._subscriptions import Waiter

        if self._disposed or self._queue_tick >= tick:
            await self._check_disposed()
            return
        w = Waiter(lambda: True, ())
        subs = self._subscriptions()
        subs.queue_ticks[w] = tick
        try:
            await self._wait_event(w)
        finally:
            subs.queue_ticks.pop(w, None)


def _source_of(source: Any) -> MutationSource | None:

    if isinstance(source, Event):
        tx = source.transition
        return MutationSource(source.machine.id, tx.id, sum(tx.time_before))
    if source is None or isinstance(source, MutationSource):
        return source
    raise TypeError(f"source must be an Event, got {type(source).__name__}")
