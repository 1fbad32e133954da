"""A distributed job queue: workers found over pubsub, jobs sent as remote mutations.

Run it all in one process (an owner peer with a pool of 2 worker processes, and a
client peer that sends 20 jobs)::

    python examples/job_queue.py

or as separate nodes (repeat the first line on other machines with ``--bootstrap``)::

    asyncmachine node --no-demo --workers primes=examples/job_queue.py:factory --pool 2
    asyncmachine submit --bootstrap /ip4/127.0.0.1/tcp/PORT/p2p/12D3KooW... \\
        --kind primes --jobs 50

The job function counts the primes below ``1000 * (n + 1)``; ``factory`` is what
``--workers KIND=module:factory`` loads in each worker process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

from asyncmachine import rpc
from asyncmachine.pubsub import open_topic


def count_primes(value: Any) -> dict[str, int]:
    """``{"n": n}`` → how many primes are below ``1000 * (n + 1)``."""
    limit = 1000 * (int(value["n"]) + 1)
    sieve = bytearray([1]) * limit
    sieve[:2] = b"\x00\x00"
    for i in range(2, int(limit**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(range(i * i, limit, i)))
    return {"below": limit, "primes": sum(sieve)}


def factory() -> Callable[[Any], Any]:
    return count_primes


async def main() -> None:
    async with (
        open_topic("job-queue") as owner,
        open_topic("job-queue", bootstrap=owner.addrs()) as client,
        rpc.serve(owner) as server,
        rpc.run_pool(server, "primes", f"{__file__}:factory", size=2) as pool,
    ):
        with trio.fail_after(60):
            await client.wait_machines(2, tags=[rpc.worker_tag("primes")])
            results, stats = await rpc.run_jobs(client, "primes", [{"n": i} for i in range(20)])
        for r in results:
            print(f"{r.job} on {r.worker}: {r.output}")
        print(f"{stats.done} done, {stats.retries} retries; pool: {pool.status()}")


if __name__ == "__main__":
    trio.run(main)
