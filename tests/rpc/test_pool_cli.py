"""End to end with CLI processes: 3 nodes each running a pool of 2 worker processes,
``asyncmachine submit`` sends 200 jobs; every result comes back exactly once, also when
a worker process or a whole node is killed mid-run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
import trio

from tests.helpers import TIMEOUT
from tests.node.node_helpers import CLI, ROOT, NodeProc, run_node
from tests.pubsub.helpers import wait_for

WORKER_ARGS = ("--no-demo", "--workers", "sq=tests.rpc.jobs:factory", "--pool", "2")
WORKER_LINE = re.compile(r"^worker (\S+) pid (\d+)$")
JOBS = 200


@asynccontextmanager
async def three_nodes(nursery: trio.Nursery) -> AsyncIterator[list[NodeProc]]:
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(
            run_node(nursery, *WORKER_ARGS, "--status-interval", "0", name="n0")
        )
        nodes = [first]
        for i in (1, 2):
            nodes.append(
                await stack.enter_async_context(
                    run_node(
                        nursery,
                        *WORKER_ARGS,
                        "--status-interval",
                        "0",
                        "--bootstrap",
                        first.addr,
                        name=f"n{i}",
                    )
                )
            )
        for n in nodes:
            for _ in range(2):
                await n.wait_line(WORKER_LINE, timeout=TIMEOUT * 2)
        yield nodes


async def submit(nursery: trio.Nursery, nodes: list[NodeProc], hold: Path) -> NodeProc:
    """Start ``asyncmachine submit`` against every node (jobs of 20 ms each; the first run
    of job 50 writes its worker's pid to ``hold`` and blocks)."""
    boot = [a for n in nodes for a in ("--bootstrap", n.addr)]
    cmd = [*CLI, "submit", *boot, "--kind", "sq", "--jobs", str(JOBS), "--min-workers", "6"]
    cmd += [
        "--args",
        json.dumps({"sleep": 0.02, "hold": str(hold), "hold_n": 50}),
        "--timeout",
        str(TIMEOUT * 2),
    ]
    proc = await trio.lowlevel.open_process(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    client = NodeProc(proc, "submit")
    nursery.start_soon(client._read_stdout)
    nursery.start_soon(client._read_stderr)
    return client


async def check_all_once(client: NodeProc, held_pid: int) -> str:
    """Every job's result exactly once; job 50's from another process than the killed
    one it was held in (a retry, or a second claim after a claim that timed out under
    load but had started the job there)."""
    summary = await client.wait_line(r"^submit: \d+ jobs", timeout=TIMEOUT * 2)
    assert await client.wait_exit() == 0, client.stderr.decode()[-2000:]
    results = [s.split() for s in client.lines if s.startswith("result ")]
    jobs = sorted(int(r[1].split("-")[1]) for r in results)
    assert jobs == list(range(JOBS)), summary
    for r in results:
        n = int(r[1].split("-")[1])
        out = json.loads(" ".join(r[4:]))
        assert out["square"] == n * n
        if n == 50:
            assert out["pid"] != held_pid, summary
    assert f"{JOBS} ok, 0 failed" in summary and " 0 duplicates" in summary, summary
    return summary


async def held_worker(hold: Path, nodes: list[NodeProc]) -> tuple[int, NodeProc]:
    """The pid of the process running job 50 (blocked), and its node."""
    await wait_for(hold.exists, TIMEOUT)
    await wait_for(lambda: hold.read_text() != "", TIMEOUT)
    pid = int(hold.read_text())
    for n in nodes:
        if any(s.endswith(f" pid {pid}") for s in n.lines):
            return pid, n
    raise AssertionError(f"no node started worker pid {pid}")


async def test_200_jobs_exactly_once_with_a_worker_killed(tmp_path: Path) -> None:
    hold = tmp_path / "held.pid"
    async with trio.open_nursery() as nursery, three_nodes(nursery) as nodes:
        with trio.fail_after(TIMEOUT * 3):
            client = await submit(nursery, nodes, hold)
            pid, node = await held_worker(hold, nodes)
            os.kill(pid, signal.SIGKILL)
            await check_all_once(client, pid)
            # the supervisor started a new process for that worker
            wid = next(
                m.group(1)
                for s in node.lines
                if (m := WORKER_LINE.search(s)) and m.group(2) == str(pid)
            )
            await node.wait_line(f"^worker {wid} pid (?!{pid}$)")
        nursery.cancel_scope.cancel()


@pytest.mark.slow
async def test_200_jobs_exactly_once_with_a_node_killed(tmp_path: Path) -> None:
    hold = tmp_path / "held.pid"
    async with trio.open_nursery() as nursery, three_nodes(nursery) as nodes:
        with trio.fail_after(TIMEOUT * 3):
            client = await submit(nursery, nodes, hold)
            pid, node = await held_worker(hold, nodes)
            node.proc.send_signal(signal.SIGKILL)
            await check_all_once(client, pid)
        nursery.cancel_scope.cancel()
