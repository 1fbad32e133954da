"""Pubsub sync benchmark on real py-libp2p hosts in one process.

For each N it starts N peers (each exposing ``--machines`` machines, dialling the root
and up to 2 random earlier peers), then measures:

- discovery: time until every peer lists every other peer's machines;
- settle: time until the network is quiet: 3 s without info/reqinfo/links sent and 2 s
  without any Topic message received (in one saturated process, gossipsub still forwards
  a backlog of discovery messages long after the last was sent; samples taken meanwhile
  would measure that backlog, not sync);
- sync: latency from a local mutation to each remote mirror's clock change (observer
  callback on every other peer), over ``--samples`` mutations on rotating peers;
- raw: gossipsub publish -> deliver latency of a plain payload published by the same
  hosts in the same run, interleaved with the mutations (same load), taken when the
  payload comes out of the transport's message channel (where the Topic reads it); sync
  latency additionally includes building, signing and encoding the update, decoding,
  the signature check and the mirror update;
- the ratio sync p99 / raw p99 (target <= 1.3).

The heap built during start-up is frozen (``gc.freeze()``) before sampling: with N hosts in
one process, every full garbage collection otherwise pauses all of them for 50-500 ms.

Usage::

    .venv/bin/python benchmarks/pubsub_sync.py                  # N = 10, 25, 50
    .venv/bin/python benchmarks/pubsub_sync.py --runs 3         # medians of 3 runs
    .venv/bin/python benchmarks/pubsub_sync.py --peers 10 25 --samples 30 \
        --machines 3 --gap 0.3 --json /tmp/pubsub_sync.json

Prints a rich table and writes JSON (default: benchmarks/results/pubsub_sync.json).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import struct
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, cast

import trio
from rich.console import Console
from rich.table import Table

from asyncmachine import Machine, State
from asyncmachine.pubsub import (
    EventKind,
    GossipMessage,
    Topic,
    TopicEvent,
    TopicSettings,
    open_topic,
)
from asyncmachine.pubsub.libp2p import Libp2pTransport, open_libp2p_transport

SCHEMA = {"Foo": State(require=["Bar"]), "Bar": State(), "Baz": State(multi=True)}
RAW = b"RAWBENCH"


class Tap:
    """A GossipTransport proxy whose message stream diverts raw benchmark payloads.

    The diversion happens as the Topic pulls from the transport's channel (no extra task
    or channel), so raw payloads and Topic messages take the same path up to that point.
    """

    def __init__(self, inner: Libp2pTransport, on_raw: Any) -> None:
        self._inner = inner
        self._on_raw = on_raw

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def messages(self) -> trio.MemoryReceiveChannel[GossipMessage]:
        return cast("trio.MemoryReceiveChannel[GossipMessage]", self)

    def __aiter__(self) -> Tap:
        return self

    async def __anext__(self) -> GossipMessage:
        async for gm in self._inner.messages:
            if gm.data.startswith(RAW):
                self._on_raw(gm)
            else:
                return gm
        raise StopAsyncIteration


def pct(xs: Sequence[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def summary(xs: Sequence[float]) -> dict[str, float]:
    ms = [x * 1000 for x in xs]
    return {
        "n": len(ms),
        "p50": pct(ms, 0.5),
        "p90": pct(ms, 0.9),
        "p99": pct(ms, 0.99),
        "max": max(ms) if ms else float("nan"),
        "mean": statistics.fmean(ms) if ms else float("nan"),
    }


async def run_one(
    n: int, machines: int, samples: int, gap: float, seed: int, settle_max: float
) -> dict[str, Any]:
    rng = random.Random(seed)
    settings = TopicSettings(hello_delay=0.5, hello_retry=5.0)
    raw_sent: dict[int, float] = {}
    raw_lat: list[float] = []
    raw_got: dict[int, int] = {}
    sync_lat: list[float] = []
    pending: dict[tuple[str, int], tuple[float, set[str]]] = {}

    def on_raw(gm: GossipMessage) -> None:
        (k,) = struct.unpack(">Q", gm.data[len(RAW) : len(RAW) + 8])
        if k in raw_sent:
            # measured where the Topic would get it: after the transport's channel
            raw_lat.append(trio.current_time() - raw_sent[k])
            raw_got[k] = raw_got.get(k, 0) + 1

    t_start = time.monotonic()
    async with AsyncExitStack() as stack:
        topics: list[Topic] = []
        machs = [[Machine(SCHEMA, id=f"p{i}-m{j}") for j in range(machines)] for i in range(n)]
        for i in range(n):
            boot = topics[0].addrs() if topics else []
            if i > 1:
                for j in rng.sample(range(1, i), min(2, i - 1)):
                    boot += topics[j].addrs()
            inner = await stack.enter_async_context(
                open_libp2p_transport("am-bench", bootstrap=boot, shutdown_grace=0.05)
            )
            tap = Tap(inner, on_raw)
            topic = await stack.enter_async_context(
                open_topic("am-bench", transport=tap, expose=machs[i], settings=settings)
            )
            topics.append(topic)

            def observer(ev: TopicEvent, me: str = topic.peer_id) -> None:
                if ev.kind is not EventKind.CLOCK_UPDATED or ev.time is None:
                    return
                key = (ev.machine_id, sum(ev.time))
                p = pending.get(key)
                if p is not None and me in p[1]:
                    p[1].discard(me)
                    sync_lat.append(trio.current_time() - p[0])

            topic.add_observer(observer)
        t_started = time.monotonic()
        want = (n - 1) * machines
        with trio.fail_after(600):
            while not all(len(t.list_machines()) == want for t in topics):
                await trio.sleep(0.05)
        t_disc = time.monotonic()

        # let discovery traffic (hello answers, pulls, repairs, links records) settle:
        # 3 s without info/reqinfo/links sent, 2 s without any delivery (backlog drained)
        def busy() -> int:
            return sum(
                t.metrics.sent_by_type["info"]
                + t.metrics.sent_by_type["reqinfo"]
                + t.metrics.sent_by_type["links"]
                for t in topics
            )

        def received() -> int:
            return sum(t.metrics.msgs_received for t in topics)

        with trio.move_on_after(settle_max) as settle_scope:
            last, quiet_since = busy(), time.monotonic()
            last_rx, rx_quiet_since = received(), time.monotonic()
            while time.monotonic() - quiet_since < 3.0 or time.monotonic() - rx_quiet_since < 2.0:
                await trio.sleep(0.1)
                if busy() != last:
                    last, quiet_since = busy(), time.monotonic()
                if received() != last_rx:
                    last_rx, rx_quiet_since = received(), time.monotonic()
        t_quiet = time.monotonic()
        # the start-up heap of N hosts in one process makes every full (gen-2) collection
        # a 50-500 ms pause that lands on whichever sample is in flight (a one-process
        # artifact: a real peer holds one host); freezing it keeps both paths' tails honest
        gc.collect()
        gc.freeze()

        for k in range(samples):
            src = k % n
            # a mutation on one machine of peer src
            m = machs[src][k % machines]
            m.add1("Baz")
            key = (m.id, sum(m.time()))
            others = {t.peer_id for i, t in enumerate(topics) if i != src}
            pending[key] = (trio.current_time(), set(others))
            with trio.move_on_after(30):
                while pending[key][1]:
                    await trio.sleep(0.002)
            await trio.sleep(gap)
            # a raw gossipsub publish from the same host
            raw_sent[k] = trio.current_time()
            await topics[src].transport.publish(RAW + struct.pack(">Q", k))  # type: ignore[union-attr]
            with trio.move_on_after(30):
                while raw_got.get(k, 0) < n - 1:
                    await trio.sleep(0.002)
            await trio.sleep(gap)
        missing_sync = sum(len(p[1]) for p in pending.values())
        missing_raw = sum(n - 1 - raw_got.get(k, 0) for k in raw_sent)
        traffic = {
            "msgs_sent": sum(t.metrics.msgs_sent for t in topics),
            "bytes_sent": sum(t.metrics.bytes_sent for t in topics),
            "by_type": {
                ty: sum(t.metrics.sent_by_type[ty] for t in topics)
                for ty in ("info", "updates", "gossip", "reqinfo", "requpdates", "bye")
            },
        }
        await stack.aclose()
    gc.unfreeze()
    sync = summary(sync_lat)
    raw = summary(raw_lat)
    return {
        "peers": n,
        "machines_per_peer": machines,
        "samples": samples,
        "startup_s": t_started - t_start,
        "discovery_s": t_disc - t_started,
        "settle_s": t_quiet - t_disc,
        "settled": not settle_scope.cancelled_caught,
        "sync_ms": sync,
        "raw_ms": raw,
        "ratio_p99": sync["p99"] / raw["p99"] if raw["p99"] else float("nan"),
        "ratio_p50": sync["p50"] / raw["p50"] if raw["p50"] else float("nan"),
        "missing_sync_deliveries": missing_sync,
        "missing_raw_deliveries": missing_raw,
        "traffic": traffic,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peers", type=int, nargs="+", default=[10, 25, 50])
    ap.add_argument("--machines", type=int, default=1, help="exposed machines per peer")
    ap.add_argument("--samples", type=int, default=60, help="mutations (and raw msgs) per N")
    ap.add_argument("--gap", type=float, default=0.3, help="idle seconds between samples")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--settle-max",
        type=float,
        default=600.0,
        help="max seconds to wait for a quiet network before sampling",
    )
    ap.add_argument(
        "--json", type=Path, default=Path(__file__).parent / "results" / "pubsub_sync.json"
    )
    ap.add_argument(
        "--runs",
        type=int,
        default=1,
        help="runs per N (different seeds); the report gives the median ratios",
    )
    args = ap.parse_args()
    results: list[dict[str, Any]] = []
    console = Console(width=160)
    for run in range(args.runs):
        for n in args.peers:
            console.print(f"[bold]N = {n}[/], run {run + 1}/{args.runs} ...")
            r = trio.run(
                run_one, n, args.machines, args.samples, args.gap, args.seed + run, args.settle_max
            )
            r["run"] = run
            results.append(r)
            console.print(json.dumps(r))
    table = Table(title="pubsub sync vs raw gossipsub (ms)")
    for col in (
        "N",
        "run",
        "start s",
        "discovery s",
        "settle s",
        "sync p50",
        "p90",
        "p99",
        "max",
        "raw p50",
        "p90",
        "p99",
        "max",
        "p99 ratio",
        "p50 ratio",
        "msgs",
    ):
        table.add_column(col, justify="right")
    medians: list[dict[str, Any]] = []
    for n in args.peers:
        rows = [r for r in results if r["peers"] == n]
        for r in rows:
            s, w = r["sync_ms"], r["raw_ms"]
            table.add_row(
                str(n),
                str(r["run"] + 1),
                f"{r['startup_s']:.1f}",
                f"{r['discovery_s']:.1f}",
                f"{r['settle_s']:.1f}",
                f"{s['p50']:.1f}",
                f"{s['p90']:.1f}",
                f"{s['p99']:.1f}",
                f"{s['max']:.1f}",
                f"{w['p50']:.1f}",
                f"{w['p90']:.1f}",
                f"{w['p99']:.1f}",
                f"{w['max']:.1f}",
                f"{r['ratio_p99']:.2f}",
                f"{r['ratio_p50']:.2f}",
                str(r["traffic"]["msgs_sent"]),
            )
        med = {
            "peers": n,
            "runs": len(rows),
            "ratio_p99": statistics.median(r["ratio_p99"] for r in rows),
            "ratio_p50": statistics.median(r["ratio_p50"] for r in rows),
        }
        medians.append(med)
        table.add_row(
            str(n),
            "median",
            *[""] * 11,
            f"[bold]{med['ratio_p99']:.2f}[/]",
            f"{med['ratio_p50']:.2f}",
            "",
        )
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"runs": results, "medians": medians}, indent=2))
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
