"""One worker machine and the process behind it (Go: pkg/node's Worker, WorkerStates).

The machine is the public face: it is exposed over pubsub (tag ``worker:KIND``) and
served over rpc; clients claim it, send work and watch it on their mirrors. The
:class:`WorkerSlot` owns it and the OS process that does the work.

Protocol (the owner side is this module; the client side is ``_jobs``):

- ``Idle``: free. Only a running process makes a worker Idle.
- ``WorkRequested`` (client, args ``job``, ``input``): the claim *and* the work, refused
  (CANCELED) unless Idle: the machine runs mutations one at a time, so of two clients
  racing for one worker exactly one wins. The winner is the worker's owner. It is Multi
  so that a second claim runs the check too (adding an active non-Multi state would
  execute without calling Enter).
- ``Working``: the job runs in the process.
- ``WorkReady``: done; the owner reads ``get("result")`` (anyone else: denied).
- ``ErrWork``: the process died mid-job; the owner retries elsewhere.
- the owner releases the worker with ``add1("Idle")``; a worker not released within
  ``lease`` seconds (a client that died) is released by the slot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio

from ..machine import EXCEPTION, Event, Machine, State
from ._proc import WorkerDiedError, WorkerProcess
from ._protocol import CALLER_ARG

log = logging.getLogger(__name__)


class WorkerStatesDef:
    """State names of a worker machine (Go: WorkerStatesDef, a subset)."""

    Exception = EXCEPTION
    Idle = "Idle"
    WorkRequested = "WorkRequested"
    Working = "Working"
    WorkReady = "WorkReady"
    ErrWork = "ErrWork"


ws = WorkerStatesDef

WORKER_SCHEMA: dict[str, State] = {
    ws.Idle: State(remove=[ws.WorkRequested, ws.Working, ws.WorkReady, ws.ErrWork, EXCEPTION]),
    ws.WorkRequested: State(multi=True, remove=[ws.Idle, ws.WorkReady, ws.ErrWork]),
    ws.Working: State(require=[ws.WorkRequested]),
    ws.WorkReady: State(remove=[ws.Working, ws.WorkRequested]),
    ws.ErrWork: State(remove=[ws.Working, ws.WorkRequested]),
}

CLIENT_STATES = (ws.WorkRequested, ws.Idle)
"""What a client may mutate on a worker (the allow-list of every worker)."""


def worker_tag(kind: str) -> str:
    return f"worker:{kind}"


@dataclass(slots=True)
class Job:
    id: str
    owner: str
    input: Any
    outcome: dict[str, Any] | None = None


class WorkerSlot:
    """Handlers and process of one worker machine (the owner side)."""

    def __init__(
        self,
        machine_id: str,
        kind: str,
        target: str,
        lease: float,
        on_start: Callable[[WorkerSlot, int], None] | None = None,
    ) -> None:
        self.kind = kind
        self.target = target
        self.lease = lease
        self.mach = Machine(WORKER_SCHEMA, id=machine_id, tags=[worker_tag(kind)], handlers=self)
        self.proc: WorkerProcess | None = None
        self.job: Job | None = None
        self.restarts = 0
        self.jobs_done = 0
        self._on_start = on_start

    # --- handlers (synchronous, Go names) --------------------------------------

    def IdleEnter(self, e: Event) -> bool:
        caller = e.args.get(CALLER_ARG)
        if caller is not None and (self.job is None or caller != self.job.owner):
            return False  # only the owner releases
        return self.proc is not None and not e.machine.is1(ws.Working)

    def IdleState(self, e: Event) -> None:
        self.job = None

    def WorkRequestedEnter(self, e: Event) -> bool:
        a = e.args
        return (
            e.machine.is1(ws.Idle)
            and self.proc is not None
            and isinstance(a.get("job"), str)
            and bool(a["job"])
        )

    def WorkRequestedState(self, e: Event) -> None:
        a = e.args
        self.job = Job(a["job"], str(a.get(CALLER_ARG, "")), a.get("input"))
        e.machine.add1(ws.Working)

    def WorkingState(self, e: Event) -> None:
        assert self.job is not None
        e.machine.fork(self._work, self.job)

    async def _work(self, job: Job) -> None:
        proc = self.proc
        try:
            if proc is None:
                raise WorkerDiedError("no worker process")
            job.outcome = await proc.run(job.id, job.input)
        except WorkerDiedError as e:
            if self.job is job:
                self.mach.add_err_state(ws.ErrWork, e, {"job": job.id})
                if self.proc is not None and self.proc is not proc:
                    self.mach.add1(ws.Idle)  # restarted already: free again
            return
        self.jobs_done += 1
        if self.job is job:
            self.mach.add1(ws.WorkReady, {"job": job.id})

    # --- values ------------------------------------------------------------------

    def result(self, caller: str) -> dict[str, Any]:
        """The owner's view of its job: phase working / ready / failed, with the outcome."""
        job = self.job
        if job is None or caller != job.owner:
            raise PermissionError("no job of yours on this worker")
        m = self.mach
        phase = "ready" if m.is1(ws.WorkReady) else "failed" if m.is1(ws.ErrWork) else "working"
        out: dict[str, Any] = {"job": job.id, "phase": phase}
        if phase == "ready" and job.outcome is not None:
            out.update(job.outcome)
        return out

    # --- process supervision ---------------------------------------------------------

    async def supervise(self, backoff: float = 0.2, max_backoff: float = 5.0) -> None:
        """Keep the process alive: start it, make the worker Idle, restart it when it dies."""
        delay = backoff
        while True:
            try:
                proc = await WorkerProcess.start(self.target)
            except (OSError, WorkerDiedError, trio.TooSlowError) as e:
                log.warning("worker %s: start failed: %s", self.mach.id, e)
                await trio.sleep(delay)
                delay = min(max_backoff, delay * 2)
                continue
            delay = backoff
            self.proc = proc
            if self._on_start is not None:
                self._on_start(self, proc.pid)
            if self.job is None or self.mach.is1(ws.ErrWork):
                self.mach.add1(ws.Idle)
            try:
                async with trio.open_nursery() as n:
                    n.start_soon(self._lease_loop)
                    code = await proc.wait()
                    n.cancel_scope.cancel()
            finally:
                self.proc = None
                await proc.aclose()
            self.restarts += 1
            log.warning("worker %s: process %d exited (%s)", self.mach.id, proc.pid, code)
            self.mach.remove1(ws.Idle)

    async def _lease_loop(self) -> None:
        """Release workers whose owner doesn't come back for the result."""
        m = self.mach

        def done(c: dict[str, int]) -> bool:
            return bool(c[ws.WorkReady] % 2 or c[ws.ErrWork] % 2)

        while True:
            if not done(m.clock()):  # when_query waits for the next change only
                await m.when_query(done)
            job = self.job
            with trio.move_on_after(self.lease):
                await m.when1(ws.Idle)
                continue
            if self.job is job and not m.is1(ws.Idle):
                log.warning("worker %s: lease of job %s expired", m.id, job.id if job else "?")
                m.add1(ws.Idle)
