"""One transition: resolution, negotiation, ticks and final handlers (Go: Transition)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._clock import Clock, Time
from ._dispatch import handle
from ._mutation import Mutation
from ._resolver import plan
from ._result import MutationType, Result

if TYPE_CHECKING:
    from ._machine import Machine

_ADD, _REMOVE = MutationType.ADD, MutationType.REMOVE
_HEALTH = ("Healthcheck", "Heartbeat")
_EXECUTED, _CANCELED = Result.EXECUTED, Result.CANCELED
LOG_CHANGES, LOG_OPS, LOG_DECISIONS = 2, 3, 4


class Transition:
    """Processing of one mutation (Go: Transition).

    ``target`` is the resolved target list (handler order), ``enters`` and
    ``exits`` the states to activate / deactivate; ``time_after`` is set once
    the transition applied (equal to ``time_before`` when canceled).
    """

    __slots__ = (
        "_accepted",
        "_num",
        "_ta",
        "_tb",
        "before",
        "enters",
        "exits",
        "is_accepted",
        "is_completed",
        "machine",
        "mutation",
        "target",
    )

    @property
    def id(self) -> str:
        """Unique within the machine: a per-machine prefix and a counter."""
        return f"{self.machine._tx_prefix}{self._num:08x}"

    def __init__(self, mach: Machine, mut: Mutation, tx_num: int) -> None:
        self._num = tx_num
        self.machine = mach
        self.mutation = mut
        self._tb = mach._ticks.copy()
        self._ta: list[int] | None = None
        self.before: tuple[str, ...] = tuple(mach._active)
        self.is_accepted = True
        self.is_completed = False
        self.enters: list[str] = []
        self.exits: list[str] = []
        self.target: list[str] = []
        self._accepted = True
        mach._tx = self
        if mach._tracers.hooks:
            mach._tracers.call("transition_init", self)
        if mach.log_level >= LOG_OPS:
            kind = f"{mut.type}:auto" if mut.is_auto else str(mut.type)
            lvl = LOG_DECISIONS if mut.is_auto else LOG_OPS
            mach._log(lvl, "[%s] %s", kind, " ".join(mut.called))
        self._use_plan(tuple(mut.called), self.before, mut.is_check)
        self.is_accepted = self.is_accepted and self._accepted

    # read API (Go names) -------------------------------------------------

    @property
    def time_before(self) -> Time:
        """Machine time before the transition (Go: TimeBefore)."""
        return Time(self._tb)

    @property
    def time_after(self) -> Time:
        """Machine time after it (Go: TimeAfter).

        During negotiation an estimate from the planned enters and exits; the
        real time once applied; ``time_before`` when canceled.
        """
        if self._ta is not None:
            return Time(self._ta)
        est = list(self._tb)
        idx = self.machine._c.index
        for s in self.enters:
            est[idx[s]] += 2 if s in self.before else 1
        for s in self.exits:
            est[idx[s]] += 1
        return Time(est)

    def states_before(self) -> list[str]:
        """Active states before the transition (Go: StatesBefore)."""
        return list(self.before)

    @property
    def type(self) -> MutationType:
        return self.mutation.type

    @property
    def is_auto(self) -> bool:
        """Triggered by auto states (Go: IsAuto)."""
        return self.mutation.is_auto

    @property
    def args(self) -> dict[str, Any]:
        return self.mutation.args

    def called_states(self) -> list[str]:
        return list(self.mutation.called)

    def target_states(self) -> list[str]:
        return list(self.target)

    def clock_before(self) -> Clock:
        return dict(zip(self.machine._c.names, self._tb, strict=True))

    def clock_after(self) -> Clock:
        t = self._ta if self._ta is not None else self._tb
        return dict(zip(self.machine._c.names, t, strict=True))

    def is_health(self) -> bool:
        """A single-state Add of Healthcheck/Heartbeat (Go: IsHealth)."""
        c = self.mutation.called
        return self.mutation.type is _ADD and len(c) == 1 and c[0] in _HEALTH

    def __repr__(self) -> str:
        return f"<Transition {self.id} {self.mutation.type} {self.mutation.called}>"

    # setup ----------------------------------------------------------------

    def _use_plan(self, called: tuple[str, ...], before: tuple[str, ...], check: bool) -> None:
        m = self.machine
        t = self.mutation.type
        p = plan(m._c, t is _REMOVE, t is _ADD, self.mutation.is_auto, check, called, before)
        if p.logs and m.log_level >= LOG_OPS:
            for lvl, msg in p.logs:
                m._log(lvl, "%s", msg)
        self.target = list(p.target)
        self.exits = list(p.exits)
        self.enters = list(p.enters)
        self._accepted = p.accepted

    # negotiation ------------------------------------------------------------

    def _partial(self, state: str) -> bool:
        """In an auto tx, a rejection tied to an Auto state drops only that state."""
        m = self.machine
        return self.mutation.is_auto and m._c.schema[state].auto and not m._tx_failed

    def _drop_target(self, state: str) -> bool:
        """Partial auto acceptance: drop a rejected state; False if not a target."""
        try:
            self.target.remove(state)
        except ValueError:
            return False
        return True

    def _emit_exits(self) -> bool:
        # an auto tx can't drop an exiting state (Go panics): cancel it
        m = self.machine
        return all(handle(m, self, s + "Exit", False) for s in self.exits)

    def _emit_enters(self) -> bool:
        m = self.machine
        for s in self.enters:
            if not handle(m, self, s + "Enter", False):
                if not self._partial(s):
                    return False
                self._drop_target(s)
        return True

    def _emit_self(self) -> bool:
        # Go iterates the target while deleting from it in place: the state
        # after a rejected one is skipped, and the last handler decides.
        m = self.machine
        selfs = m._bindings.index(m._c.names).selfs
        if not selfs:  # no handler of this kind bound: every state accepts
            return True
        target = self.target
        n = len(target)
        ret = True
        for i in range(n):
            if i >= len(target):
                break
            s = target[i]
            if not m._is(s):
                continue
            if s not in selfs:  # no handler accepts
                ret = True
                continue
            ret = handle(m, self, s + s, False)
            if not ret:
                if not self._partial(s):
                    return False
                del target[i]
        return ret

    def _emit_pairs(self) -> bool:
        m = self.machine
        pairs = m._bindings.index(m._c.names).pairs
        if not pairs:
            return True
        after = list(self.target)
        for b in self.before:
            bound = pairs.get(b)
            if not bound:
                continue
            for t in after:
                if b == t or t not in bound:
                    continue
                if not handle(m, self, b + t, False):
                    if not self._partial(t):
                        return False
                    self._drop_target(t)
        return True

    def _emit_finals(self) -> bool:
        m = self.machine
        has_handlers = m._has_handlers
        subs = m._subs
        by_args = subs.by_args if subs is not None else None
        exits = self.exits
        finals = exits + self.enters
        args = self.mutation.args
        for k, s in enumerate(finals):
            is_enter = k >= len(exits)
            if has_handlers and not handle(m, self, s + ("State" if is_enter else "End"), True):
                if is_enter:
                    m._rollback(finals[k:])
                return False
            if is_enter and by_args and subs is not None:
                subs.settle_args(s, args)
        return True

    # run ----------------------------------------------------------------------

    def run(self) -> Result:
        """Negotiate, apply and finalize (Go: emitEvents).

        A BaseException from a handler (KeyboardInterrupt, SystemExit,
        trio.Cancelled) aborts: see :meth:`_abort`, then it propagates.
        """
        try:
            return self._run()
        except BaseException:
            self._abort()
            raise

    def _abort(self) -> None:
        """Roll back after a BaseException: leave no state half-entered.

        Before the ticks were applied nothing changed; after, every state this
        transition newly activated is deactivated again (tick + 1, so clocks
        only move forward), like Go's rollback of a failed final handler.
        Exits stay applied: their End handlers have run.
        """
        m = self.machine
        if self._ta is not None:
            m._rollback([s for s in self.enters if s not in self.before])
            self._ta = m._ticks.copy()
        else:
            self._ta = self._tb
        self.is_accepted = False
        self.is_completed = True
        if m._tracers.hooks:
            m._tracers.call("transition_end", self)

    def _run(self) -> Result:
        m = self.machine
        mut = self.mutation
        called = mut.called
        ok = self.is_accepted
        has_handlers = m._has_handlers
        tr = m._tracers if m._tracers.hooks else None
        if tr:
            tr.call("transition_start", self)

        if has_handlers and ok:
            ok = self._emit_exits() and self._emit_enters()
            if ok and mut.type is not _REMOVE:
                ok = self._emit_self()
            if ok:
                ok = self._emit_pairs()
            if mut.is_auto and not self.target:
                ok = False
            if ok:
                ok = handle(m, self, "AnyEnter", False)

        if mut.is_auto and ok:
            # recompute without the rejected auto states and their implications
            target = self.target
            clean = tuple(s for s in called if s in target)
            self._use_plan(clean, self.before, False)

        changed = False
        if ok and not mut.is_check:
            changed = m._apply(self)
            self._ta = m._ticks.copy()
            if has_handlers or (m._subs is not None and m._subs.by_args):
                ok = self._emit_finals()
        else:
            self._ta = self._tb

        if ok and has_handlers and not mut.is_check:
            ok = handle(m, self, "AnyState", True)

        if not ok:
            self.is_accepted = False
        elif (
            changed
            and m._c.auto_states
            and not mut.is_auto
            and not m._disposing
            and not self.is_health()
        ):
            m._queue_auto()

        self.is_completed = True
        if tr:
            tr.call("transition_end", self)
        if not ok:
            return _CANCELED
        if mut.type is _REMOVE and not mut.is_check:
            # a Multi state's Add relation can bring a removed state back
            return _CANCELED if any(m._is(s) for s in called) else _EXECUTED
        # accepted Add/Set: the target became the active list
        return _EXECUTED
