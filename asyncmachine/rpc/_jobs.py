"""Sending jobs to a kind of worker found over pubsub (the client side of the worker
protocol; see ``_worker`` for the states).

Delivery is at-least-once with dedup: each job has an id; a job whose worker dies,
becomes unreachable, or is released under it is retried on another worker, so its
function may run twice, but its result is recorded once (later copies are counted in
:attr:`JobStats.duplicates`, never returned). A job function that raises is a result
(``ok: False``), not retried.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

from ..machine import MachineDisposedError, ReadOnlyMachine
from ..pubsub import MachineFilter, Topic, TopicEvent
from ._client import NetworkMachine, remote
from ._errors import RemoteError, RemoteTimeoutError, RemoteUnreachableError
from ._protocol import ErrorKind, RpcLimits
from ._worker import worker_tag, ws

log = logging.getLogger(__name__)

_TRANSIENT = frozenset({ErrorKind.RATE_LIMITED, ErrorKind.UNKNOWN_MACHINE})
"""Claim refusals that say "not now, not here" rather than "never"."""


@dataclass(frozen=True, slots=True)
class JobResult:
    """One job's outcome: ``output`` when ``ok``, else ``error`` (what the job raised, or
    why it was given up); ``worker`` ran it; ``attempts`` counts every try."""

    job: str
    ok: bool
    output: Any = None
    error: str = ""
    worker: str = ""
    attempts: int = 1


@dataclass(slots=True)
class JobStats:
    submitted: int = 0
    done: int = 0
    retries: int = 0
    duplicates: int = 0
    refused_claims: int = 0
    lost_workers: int = 0
    by_worker: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JobSettings:
    """``probe``: seconds between direct checks of a running job (besides the mirror);
    ``down_for``: seconds an unreachable peer is skipped; ``max_attempts`` per job;
    ``concurrency``: jobs in flight (default: every worker found)."""

    probe: float = 1.0
    down_for: float = 10.0
    max_attempts: int = 20
    concurrency: int = 0
    limits: RpcLimits = field(default_factory=lambda: RpcLimits(timeout=5.0))


class JobClient:
    """Runs jobs on workers of ``kind`` (create one per batch)."""

    def __init__(
        self,
        topic: Topic,
        kind: str,
        settings: JobSettings | None = None,
        on_result: Callable[[JobResult], None] | None = None,
    ) -> None:
        self.topic = topic
        self._on_result = on_result
        self.kind = kind
        self.settings = settings or JobSettings()
        self.stats = JobStats()
        self.results: dict[str, JobResult] = {}
        self._busy: set[tuple[str, str]] = set()
        self._down: dict[str, float] = {}
        self._changed = trio.Event()
        self._rng = random.Random()

    async def run(self, inputs: Sequence[Any], prefix: str = "job") -> list[JobResult]:
        """Run one job per input; results in input order, once all are done."""
        ids = [f"{prefix}-{i}" for i in range(len(inputs))]
        send, recv = trio.open_memory_channel[tuple[str, Any, int]](math.inf)
        for jid, value in zip(ids, inputs, strict=True):
            send.send_nowait((jid, value, 1))
        self.stats.submitted += len(ids)
        flt = MachineFilter(tags=[worker_tag(self.kind)])
        found = await self.topic.wait_machines(1, flt)
        lanes = self.settings.concurrency or max(1, len(found))
        self.topic.add_observer(self._on_event)
        try:
            async with trio.open_nursery() as n:
                for _ in range(lanes):
                    n.start_soon(self._lane, recv.clone(), send.clone())
                await self._all_done(len(ids))
                n.cancel_scope.cancel()
        finally:
            self.topic.remove_observer(self._on_event)
        return [self.results[j] for j in ids]

    async def _all_done(self, n: int) -> None:
        while len(self.results) < n:
            await self._wait_change(5.0)

    def _on_event(self, ev: TopicEvent) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _wait_change(self, at_most: float) -> None:
        with trio.move_on_after(at_most):
            await self._changed.wait()

    def _record(self, res: JobResult) -> None:
        if res.job in self.results:
            self.stats.duplicates += 1
            log.warning("job %s: a second result (from %s) ignored", res.job, res.worker)
            return
        self.results[res.job] = res
        self.stats.done += 1
        self.stats.by_worker[res.worker] = self.stats.by_worker.get(res.worker, 0) + 1
        if self._on_result is not None:
            self._on_result(res)
        self._changed.set()
        self._changed = trio.Event()

    async def _lane(
        self,
        jobs: trio.MemoryReceiveChannel[tuple[str, Any, int]],
        again: trio.MemorySendChannel[tuple[str, Any, int]],
    ) -> None:
        async for jid, value, attempt in jobs:
            if jid in self.results:
                continue
            if attempt > self.settings.max_attempts:
                self._record(JobResult(jid, False, error="gave up", attempts=attempt - 1))
                continue
            res = await self._attempt(jid, value, attempt)
            if res is None:
                self.stats.retries += 1
                again.send_nowait((jid, value, attempt + 1))
            else:
                self._record(res)

    def _idle_workers(self) -> list[tuple[str, ReadOnlyMachine]]:
        now = trio.current_time()
        out = []
        for rm in self.topic.remote_machines(tags=[worker_tag(self.kind)]):
            m = rm.mirror
            if not isinstance(m, ReadOnlyMachine) or not m.is1(ws.Idle):
                continue
            if (rm.peer_id, m.id) in self._busy or self._down.get(rm.peer_id, 0) > now:
                continue
            out.append((rm.peer_id, m))
        self._rng.shuffle(out)
        return out

    async def _claim(self, jid: str, value: Any) -> tuple[NetworkMachine, ReadOnlyMachine, Any]:
        """Claim an idle worker with the job; loops until one accepts."""
        while True:
            for peer, mirror in self._idle_workers():
                nm = remote(self.topic, mirror.id, peer_id=peer, limits=self.settings.limits)
                key = (peer, mirror.id)
                self._busy.add(key)
                try:
                    res = await nm.add1(ws.WorkRequested, {"job": jid, "input": value})
                except (RemoteUnreachableError, RemoteTimeoutError):
                    self._mark_down(peer)
                    self._busy.discard(key)
                    continue
                except RemoteError as e:
                    self._busy.discard(key)
                    if e.kind in _TRANSIENT:  # busy owner, or a pool that just stopped
                        continue
                    raise  # e.g. denied: this client may not use these workers
                if res == 0:
                    return nm, mirror, res.time
                self.stats.refused_claims += 1
                self._busy.discard(key)
            await self._wait_change(0.5)

    def _mark_down(self, peer: str) -> None:
        self.stats.lost_workers += 1
        self._down[peer] = trio.current_time() + self.settings.down_for

    async def _attempt(self, jid: str, value: Any, attempt: int) -> JobResult | None:
        """One try: claim, wait, fetch, release. None: lost, retry elsewhere."""
        nm, mirror, time = await self._claim(jid, value)
        key = (nm.peer_id, nm.id)
        try:
            return await self._follow(nm, mirror, time, jid, attempt)
        except (RemoteUnreachableError, RemoteTimeoutError) as e:
            log.info("job %s: worker %s lost (%s), retrying", jid, nm.id, e.kind)
            self._mark_down(nm.peer_id)
            return None
        except MachineDisposedError:  # its peer left the topic
            return None
        finally:
            self._busy.discard(key)

    async def _follow(
        self, nm: NetworkMachine, mirror: ReadOnlyMachine, time: Any, jid: str, attempt: int
    ) -> JobResult | None:
        def settled(clock: dict[str, int]) -> bool:
            return bool(clock[ws.WorkReady] % 2 or clock[ws.ErrWork] % 2 or clock[ws.Idle] % 2)

        while True:
            with trio.move_on_after(self.settings.probe):
                await mirror.when_time(mirror.state_names(), list(time))
                if not settled(mirror.clock()):  # when_query waits for the next change
                    await mirror.when_query(settled)
            try:
                st = await nm.get("result")
            except RemoteError as e:
                if e.kind is ErrorKind.RATE_LIMITED:
                    continue
                if e.kind in (ErrorKind.DENIED, ErrorKind.UNKNOWN_MACHINE):
                    return None  # released under us (lease, restart) or gone
                raise
            if st.get("job") != jid:
                return None
            phase = st.get("phase")
            if phase == "working":
                continue
            try:
                await nm.add1(ws.Idle)
            except RemoteError as e:
                log.debug("job %s: release of %s failed: %s", jid, nm.id, e)
            if phase == "failed":
                return None
            return JobResult(
                jid,
                bool(st.get("ok")),
                st.get("output"),
                str(st.get("error", "")),
                nm.id,
                attempt,
            )


async def run_jobs(
    topic: Topic,
    kind: str,
    inputs: Sequence[Any],
    settings: JobSettings | None = None,
    prefix: str = "job",
    on_result: Callable[[JobResult], None] | None = None,
) -> tuple[list[JobResult], JobStats]:
    """Run one job per input on workers of ``kind``; the results and the client's stats
    (``on_result`` is called with each result as it arrives)."""
    client = JobClient(topic, kind, settings, on_result)
    results = await client.run(inputs, prefix)
    return results, client.stats


__all__ = ["JobClient", "JobResult", "JobSettings", "JobStats", "run_jobs"]
