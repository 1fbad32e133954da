"""A supervised pool of real worker processes, served over real libp2p hosts."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import trio

from asyncmachine import Result, rpc
from asyncmachine.rpc import JobSettings, run_jobs, run_pool, ws
from tests.helpers import TIMEOUT
from tests.pubsub.helpers import wait_for

from .rpc_helpers import libp2p_peers

TARGET = "tests.rpc.jobs:factory"


async def test_jobs_run_once_each_and_errors_are_results() -> None:
    async with (
        libp2p_peers([[], []]) as (owner, client),
        rpc.serve(owner) as server,
        run_pool(server, "sq", TARGET, 2) as pool,
    ):
        with trio.fail_after(TIMEOUT * 2):
            inputs = [{"n": i} for i in range(20)] + [{"n": -1}]
            results, stats = await run_jobs(client, "sq", inputs)
        assert [r.output["square"] for r in results[:20]] == [i * i for i in range(20)]
        assert not results[20].ok and "negative: -1" in results[20].error
        assert stats.done == 21 and stats.duplicates == 0
        assert pool.status()["jobs_done"] == 21
        assert len({r.output["pid"] for r in results[:20]}) == 2  # both worked


async def test_a_killed_worker_process_is_restarted_and_its_job_retried(
    tmp_path: Path,
) -> None:
    pids: dict[str, list[int]] = {}

    def started(slot: rpc.WorkerSlot, pid: int) -> None:
        pids.setdefault(slot.mach.id, []).append(pid)

    hold = tmp_path / "held.pid"  # job 7's first run blocks there
    inputs = [{"n": i, "sleep": 0.01, "hold": str(hold), "hold_n": 7} for i in range(30)]
    out: list[tuple[list[rpc.JobResult], rpc.JobStats]] = []
    async with (
        libp2p_peers([[], []]) as (owner, client),
        rpc.serve(owner) as server,
        run_pool(server, "sq", TARGET, 2, on_start=started) as pool,
    ):

        async def submit() -> None:
            out.append(await run_jobs(client, "sq", inputs, JobSettings(probe=0.3)))

        with trio.fail_after(TIMEOUT * 2):
            async with trio.open_nursery() as n:
                n.start_soon(submit)
                await wait_for(lambda: hold.exists() and hold.read_text() != "", TIMEOUT)
                os.kill(int(hold.read_text()), signal.SIGKILL)
        results, stats = out[0]
        assert sorted(r.output["n"] for r in results) == list(range(30))
        assert stats.duplicates == 0 and stats.done == 30 and stats.retries == 1
        assert sorted(len(p) for p in pids.values()) == [1, 2]
        assert pool.status()["restarts"] == 1


async def test_two_clients_racing_for_one_worker_cannot_both_win() -> None:
    async with (
        libp2p_peers([[], [], []]) as (owner, c1, c2),
        rpc.serve(owner) as server,
        run_pool(server, "sq", TARGET, 1) as pool,
    ):
        wid = pool.slots[0].mach.id
        with trio.fail_after(TIMEOUT):
            await pool.slots[0].mach.when1(ws.Idle)
            results: list[Result] = []

            async def claim(t: object, job: str) -> None:
                nm = rpc.remote(t, wid, peer_id=owner.peer_id)  # type: ignore[arg-type]
                results.append(await nm.add1(ws.WorkRequested, {"job": job, "input": {"n": 1}}))

            async with trio.open_nursery() as n:
                n.start_soon(claim, c1, "a")
                n.start_soon(claim, c2, "b")
        assert sorted(results) == [Result.EXECUTED, Result.CANCELED]
