"""Remote mutations vs a bare libp2p request/response ping, and jobs/s through a pool.

Run: ``python benchmarks/rpc.py [--n 500] [--concurrency 16] [--jobs 200] [--json out.json]``

Two py-libp2p hosts on loopback in one process (one core, like the pubsub numbers):
- ``ping``: py-libp2p's ``request_response`` echo of 64 bytes on a second protocol of
  the same hosts (the floor: one stream per call, varint framing, no CBOR, no machine);
- ``rpc add``: ``await rpc.remote(topic, "m").add(["Tick"])`` on a Multi state, allowed
  for the caller (request/reply in CBOR, access check, the mutation, the time after it);
- sequential calls give the round-trip p50/p99, ``concurrency`` calls in flight the
  throughput;
- ``jobs``: ``run_jobs`` of ``--jobs`` no-op jobs on a pool of ``--pool`` worker
  processes on the owner (claim, work, mirror wait, fetch, release per job). The
  client learns of finished work from the owner's clock gossip, so the owner's
  outgoing ``updates`` rate limit (``--updates``, the Topic's default 50/s) caps it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from rich.console import Console
from rich.table import Table

from asyncmachine import Machine, State, rpc
from asyncmachine.pubsub import RateLimits, TopicSettings, open_topic

PING = "/asyncmachine/bench-ping/1"


async def _timed(n: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        out.append(time.perf_counter() - t0)
    return out


async def _rate(n: int, conc: int, call: Callable[[], Awaitable[object]]) -> float:
    left = [n]

    async def lane() -> None:
        while left[0] > 0:
            left[0] -= 1
            await call()

    t0 = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(conc):
            nursery.start_soon(lane)
    return n / (time.perf_counter() - t0)


def _row(name: str, lat: list[float], rate: float) -> dict[str, Any]:
    qs = statistics.quantiles(lat, n=100)
    return {"case": name, "p50_ms": qs[49] * 1e3, "p99_ms": qs[98] * 1e3, "per_s": rate}


def settings(updates: int) -> TopicSettings:
    """Topic settings with ``updates`` clock messages per second out (and 3x in)."""
    out, inc = dict(RateLimits().out), dict(RateLimits().incoming)
    out["updates"], inc["updates"] = updates, updates * 3
    return TopicSettings(rates=RateLimits(out=out, incoming=inc))


async def bench(n: int, conc: int, jobs: int, pool: int, updates: int) -> list[dict[str, Any]]:
    from libp2p.custom_types import TProtocol
    from libp2p.peer.id import ID
    from libp2p.request_response import BytesCodec, RequestContext, RequestResponse

    from asyncmachine.rpc._host import libp2p_host  # the benchmark needs the raw host

    mach = Machine({"Tick": State(multi=True)}, id="m")
    async with (
        open_topic("bench-rpc", expose=[mach], settings=settings(updates)) as a,
        open_topic("bench-rpc", bootstrap=a.addrs(), settings=settings(updates)) as b,
        rpc.serve(a, rates=rpc.RpcRates(per_second=1e6, burst=1e6, max_inflight=1024)) as srv,
    ):
        srv.expose(mach, allow={b.peer_id: ["Tick"]})

        async def echo(req: bytes, ctx: RequestContext) -> bytes:
            return req

        RequestResponse(libp2p_host(a)).set_handler(TProtocol(PING), echo, BytesCodec())
        rr, pid, codec = RequestResponse(libp2p_host(b)), ID.from_base58(a.peer_id), BytesCodec()

        async def ping() -> None:
            await rr.send_request(pid, [TProtocol(PING)], b"x" * 64, codec)

        remote = rpc.remote(b, "m", peer_id=a.peer_id)

        async def add() -> None:
            await remote.add(["Tick"])

        rows = []
        for name, call in (("libp2p request/response ping", ping), ("rpc add (remote)", add)):
            await _timed(20, call)  # warm up
            rows.append(_row(name, await _timed(n, call), await _rate(n, conc, call)))
        async with rpc.run_pool(srv, "noop", "benchmarks/rpc.py:noop_factory", pool) as p:
            await b.wait_machines(pool, tags=["worker:noop"])
            while p.status()["idle"] < pool:
                await trio.sleep(0.05)
            t0 = time.perf_counter()
            results, _ = await rpc.run_jobs(b, "noop", list(range(jobs)))
            took = time.perf_counter() - t0
            assert all(r.ok for r in results)
        rows.append(
            {
                "case": f"jobs ({pool} workers, {updates} updates/s)",
                "p50_ms": None,
                "p99_ms": None,
                "per_s": jobs / took,
            }
        )
        return rows


def noop_factory() -> Callable[[Any], Any]:
    """The job function of the jobs row (run in the worker processes)."""
    return lambda value: value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--pool", type=int, default=2)
    ap.add_argument(
        "--updates", type=int, default=50, help="the Topics' clock updates/s out (default 50)"
    )
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    rows = trio.run(bench, args.n, args.concurrency, args.jobs, args.pool, args.updates)
    ping, add = rows[0], rows[1]
    table = Table(title=f"remote mutations, n={args.n}, {args.concurrency} in flight")
    for col in ("case", "p50 ms", "p99 ms", "calls/s"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for r in rows:
        fmt = [f"{r[k]:.2f}" if r[k] is not None else "-" for k in ("p50_ms", "p99_ms")]
        table.add_row(r["case"], *fmt, f"{r['per_s']:.0f}")
    console = Console()
    console.print(table)
    console.print(
        f"rpc/ping: p50 x{add['p50_ms'] / ping['p50_ms']:.2f}, "
        f"throughput x{add['per_s'] / ping['per_s']:.2f}"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
