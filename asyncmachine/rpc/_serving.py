"""What ``asyncmachine node`` serves: its machines under allow-lists and its worker pools."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from ..machine import Machine
from ..pubsub import Topic
from ._access import Allow
from ._pool import WorkerPool, run_pool
from ._server import RpcServer, serve
from ._worker import WorkerSlot


def parse_workers(spec: str) -> tuple[str, str]:
    """``KIND=module:factory`` → ``(kind, target)``; ValueError naming the problem."""
    kind, sep, target = spec.partition("=")
    kind = kind.strip()
    if not sep or not kind or ":" not in target or any(c.isspace() or c == ":" for c in kind):
        raise ValueError(f"bad --workers {spec!r}: want KIND=module:factory")
    return kind, target.strip()


@asynccontextmanager
async def serve_node(
    topic: Topic,
    machines: Sequence[Machine],
    allow: Mapping[str, Allow],
    allow_all: Allow | None = None,
    workers: Sequence[tuple[str, str]] = (),
    pool_size: int = 2,
    write: Callable[[str], None] | None = None,
) -> AsyncIterator[tuple[RpcServer, list[WorkerPool]]]:
    """Serve ``machines`` (``allow[machine_id]`` plus ``allow_all`` for the states each
    machine has; default deny) and run one pool of
    ``pool_size`` per ``(kind, target)`` in ``workers`` until the block exits;
    ``write`` gets a line per worker process start (``worker <id> pid <pid>``)."""

    def started(slot: WorkerSlot, pid: int) -> None:
        if write is not None:
            write(f"worker {slot.mach.id} pid {pid}")

    async with serve(topic) as server, AsyncExitStack() as stack:
        for m in machines:
            server.expose(m, _merged(m, allow.get(m.id, {}), allow_all or {}))
        pools = [
            await stack.enter_async_context(
                run_pool(server, kind, target, pool_size, on_start=started)
            )
            for kind, target in workers
        ]
        yield server, pools


def _merged(mach: Machine, own: Allow, every: Allow) -> dict[str, list[str]]:
    has = set(mach.state_names())
    out = {peer: list(states) for peer, states in own.items()}
    for peer, states in every.items():
        out.setdefault(peer, [])
        out[peer] += [s for s in states if s in has and s not in out[peer]]
    return out


__all__ = ["parse_workers", "serve_node"]
