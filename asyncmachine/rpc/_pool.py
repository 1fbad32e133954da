"""A supervised pool of worker processes on one peer (Go: pkg/node's Supervisor).

``async with run_pool(server, "sum", "mymod:factory", size=4) as pool`` starts ``size``
worker processes, exposes one worker machine per process (tag ``worker:sum``) through
the rpc ``server`` and restarts crashed processes. The pool's own machine
(``pool-<kind>-<peer>``, tag ``pool:<kind>``) shows whether workers are available, and
``get("status")`` on it returns the counts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

from ..machine import Machine, State
from ._server import RpcServer
from ._worker import CLIENT_STATES, WorkerSlot, ws

POOL_SCHEMA = {
    "Running": State(),
    "WorkersAvailable": State(require=["Running"]),
    "AllBusy": State(require=["Running"], remove=["WorkersAvailable"]),
}


class WorkerPool:
    """The slots of one kind on this peer, and the pool machine summarising them."""

    def __init__(self, kind: str, slots: list[WorkerSlot], pool_id: str) -> None:
        self.kind = kind
        self.slots = slots
        self.mach = Machine(POOL_SCHEMA, id=pool_id, tags=[f"pool:{kind}"])

    def status(self, caller: str = "") -> dict[str, Any]:
        """Counts: workers, ready (process up), idle, busy, restarts, jobs done; pids."""
        return {
            "kind": self.kind,
            "workers": len(self.slots),
            "ready": sum(s.proc is not None for s in self.slots),
            "idle": sum(s.mach.is1(ws.Idle) for s in self.slots),
            "busy": sum(s.job is not None for s in self.slots),
            "restarts": sum(s.restarts for s in self.slots),
            "jobs_done": sum(s.jobs_done for s in self.slots),
            "pids": [s.proc.pid if s.proc is not None else 0 for s in self.slots],
        }

    def _refresh(self, *_: object) -> None:
        idle = any(s.mach.is1(ws.Idle) for s in self.slots)
        self.mach.add1("WorkersAvailable" if idle else "AllBusy")
        if idle:
            self.mach.remove1("AllBusy")


@asynccontextmanager
async def run_pool(
    server: RpcServer,
    kind: str,
    target: str,
    size: int,
    *,
    allow_peers: tuple[str, ...] = ("*",),
    lease: float = 30.0,
    on_start: Callable[[WorkerSlot, int], None] | None = None,
) -> AsyncIterator[WorkerPool]:
    """Run ``size`` workers of ``kind`` (job function from ``target``, ``module:factory``)
    until the block exits; ``allow_peers`` may submit work (default: any peer)."""
    if size < 1:
        raise ValueError(f"pool size must be >= 1, got {size}")
    if not kind or any(c.isspace() or c == ":" for c in kind):
        raise ValueError(f"bad worker kind {kind!r}")
    sfx = server.topic.peer_id[-6:]
    slots = [
        WorkerSlot(f"worker-{kind}-{sfx}-{i}", kind, target, lease, on_start) for i in range(size)
    ]
    pool = WorkerPool(kind, slots, f"pool-{kind}-{sfx}")
    allow = {peer: list(CLIENT_STATES) for peer in allow_peers}
    async with trio.open_nursery() as nursery:
        pool.mach.add1("Running")
        pool.mach.add1("AllBusy")
        server.expose(pool.mach, values={"status": pool.status})
        for slot in slots:
            slot.mach.bind_nursery(nursery)
            slot.mach.on_change(pool._refresh)
            server.expose(slot.mach, allow=allow, values={"result": slot.result})
            nursery.start_soon(slot.supervise)
        try:
            yield pool
        finally:
            nursery.cancel_scope.cancel()
            for slot in slots:
                slot.mach.dispose()
            pool.mach.dispose()


__all__ = ["POOL_SCHEMA", "WorkerPool", "run_pool"]
