"""Running one event's handlers: tracer hooks, errors and timeouts (Go: Machine.handle)."""

from __future__ import annotations

import time
import traceback
from typing import TYPE_CHECKING

from ._errors import HandlerTimeoutError
from ._mutation import EXCEPTION_ARG, Event, ExceptionArgs, Mutation
from ._reads import log
from ._result import MutationType
from ._schema import EXCEPTION

if TYPE_CHECKING:
    from ._machine import Machine
    from ._transition import Transition

_LOG_OPS = 3  # LogLevel.OPS


def handle(m: Machine, tx: Transition, name: str, is_final: bool) -> bool:
    """Run one event on every binding; False cancels (Go: handle).

    An Exception from a handler queues an Exception state and cancels; a
    BaseException propagates (the transition rolls back, see Transition.run).
    """
    fns = m._bindings.map.get(name)
    if not fns:
        return True
    tr = m._tracers if m._tracers.handler_hooks else None
    timeout = m.handler_timeout
    for bid, fn in fns:
        if tr:
            tr.call("handler_start", tx, bid, name)
        t0 = time.perf_counter()
        try:
            ret = fn(Event(name, m, tx))
        except Exception as err:
            _failed(m, tx, name, err)
            return False
        finally:
            if tr:
                tr.call("handler_end", tx, bid, name)
        if timeout is not None and (elapsed := time.perf_counter() - t0) > timeout:
            _timed_out(m, tx, name, bid, elapsed)
            return False
        if ret is False and not is_final:
            m._log(_LOG_OPS, "[cancel] (%s) by %s", " ".join(tx.target), name)
            return False
    return True


def _failed(m: Machine, tx: Transition, name: str, err: Exception) -> None:
    m._tx_failed = True
    called = tx.mutation.called
    trace = "".join(traceback.format_exception(err))
    if EXCEPTION in called:
        log.error("[%s] error in %s while handling Exception:\n%s", m.id[:5], name, trace)
        return
    log.error(
        "[%s] [error:%s] %s (%s %s: %s)",
        m.id[:5],
        tx.mutation.type,
        " ".join(called),
        name,
        type(err).__name__,
        err,
        exc_info=err,
    )
    m._err = err
    for fn in m._on_error:
        fn(m, err)
    info = ExceptionArgs(
        err=err,
        trace=trace,
        handler=name,
        called_states=list(called),
        states_before=list(tx.before),
        target_states=list(tx.target),
    )
    m._queue.appendleft(Mutation(MutationType.ADD, [EXCEPTION], {EXCEPTION_ARG: info}))


def _timed_out(m: Machine, tx: Transition, name: str, bid: str, elapsed: float) -> None:
    m._tx_failed = True
    err = HandlerTimeoutError(f"handler timeout: {name} from {bid} ({elapsed:.3f}s)")
    log.warning("[%s] [cancel] (%s) by timeout: %s", m.id[:5], " ".join(tx.target), err)
