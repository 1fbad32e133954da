"""Run a scenario on real py-libp2p hosts, sharded over ``--procs`` OS processes.

The parent hosts no peers: it spawns ``python -m asyncmachine.simulator._shard``
children (peers ``idx % procs == k`` go to shard ``k``), relays their listen
addresses so every shard dials its topology edges over loopback TCP (so the
same mechanism works across hosts), starts them at one ``time.monotonic()``
instant, stops them when the network converged (or after ``--settle``), and
merges their event logs into one :class:`Recorder`. Latencies are wall-clock
and include all CPU time (py-libp2p costs ~1.5-2 ms CPU per RPC hop).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from ._config import SimConfig
from ._interrupt import catch_sigint
from ._metrics import Recorder, latency_summary
from ._report import build_report, cdf_points
from ._resources import Usage
from ._runner_model import Progress
from ._stages import stage_breakdown
from ._traffic import ShardTraffic


class _Child:
    def __init__(self, k: int, proc: trio.Process) -> None:
        self.k = k
        self.proc = proc
        self.buf = b""
        self.status: dict[str, Any] = {}

    async def line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while b"\n" not in self.buf:
            chunk = await self.proc.stdout.receive_some(65536)
            if not chunk:
                raise RuntimeError(f"shard {self.k} exited early (rc={self.proc.poll()})")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\n", 1)
        obj: dict[str, Any] = json.loads(raw)
        return obj

    async def expect(self, kind: str) -> dict[str, Any]:
        while True:
            msg = await self.line()
            if msg.get("type") == kind:
                return msg
            if msg.get("type") == "progress":
                self.status = msg

    async def send(self, obj: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        await self.proc.stdin.send_all((json.dumps(obj) + "\n").encode())


async def _gather(children: list[_Child], kind: str, timeout: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{} for _ in children]

    async def one(c: _Child) -> None:
        out[c.k] = await c.expect(kind)

    with trio.fail_after(timeout):
        async with trio.open_nursery() as n:
            for c in children:
                n.start_soon(one, c)
    return out


@dataclass
class Timeline:
    """``time.monotonic()`` instants of one run, as the parent saw them."""

    t0: float | None = None
    """When the shards started their Topics (the ``start`` signal)."""
    go_at: float | None = None
    """When the workload started (the ``go`` signal)."""
    until: float | None = None
    """When every shard's mutations end: sent with ``go``, one instant for all shards."""
    stopped_at: float | None = None
    """When the parent sent ``stop``."""
    duration: float = 0.0
    """Length of the workload (``--duration``)."""
    quiet_at: float | None = None
    """Since when nothing was published or delivered, when that started the workload
    (None: ``warmup`` ran out first, or the workload started with the Topics)."""


async def _spawn(
    cfg: SimConfig, tmp: Path, graph: Path | None, errs: list[Any], children: list[_Child]
) -> None:
    """Start the shard processes, appending each to ``children`` as soon as it runs (so a
    Ctrl-C in between still finds every one to kill)."""
    for k in range(cfg.procs):
        cmd = [
            sys.executable,
            "-m",
            "asyncmachine.simulator._shard",
            "--shard",
            str(k),
            "--config",
            json.dumps(cfg.to_dict()),
            "--log",
            str(tmp / f"shard{k}.json"),
        ]
        if k == 0 and graph is not None:
            cmd += ["--graph", str(graph)]
        # a session of its own: Ctrl-C in a terminal signals the whole foreground process
        # group, and a shard still importing would die of it; the parent stops the shards
        # (with "stop", or by closing their stdin when it dies)
        proc = await trio.lowlevel.open_process(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errs[k],
            start_new_session=True,
        )
        children.append(_Child(k, proc))


async def _run_shards(
    cfg: SimConfig, children: list[_Child], progress: Progress | None, tl: Timeline
) -> None:
    """Set up, start and watch the shards until the workload is over (or Ctrl-C)."""
    setup = 60.0 + cfg.peers * 1.0
    addrs = await _gather(children, "addrs", setup)
    all_addrs: dict[str, str] = {}
    all_ids: dict[str, str] = {}
    for a in addrs:
        all_addrs.update(a["addrs"])
        all_ids.update(a["ids"])
    for c in children:
        await c.send({"type": "peers", "addrs": all_addrs, "ids": all_ids})
    await _gather(children, "ready", setup)
    tl.t0 = time.monotonic() + 0.5
    for c in children:
        await c.send({"type": "start", "t0": tl.t0})
    if cfg.warmup == 0:  # from the first mutation: the workload starts with the Topics
        await _go(children, tl, tl.t0)
    await _watch(cfg, children, progress, tl)


async def _go(children: list[_Child], tl: Timeline, at: float) -> None:
    """Start the workload at ``at``: every shard mutates until ``at + duration``."""
    tl.go_at, tl.until = at, at + tl.duration
    for c in children:
        await c.send({"type": "go", "until": tl.until})


async def _coordinate(
    cfg: SimConfig, tmp: Path, progress: Progress | None, graph: Path | None = None
) -> tuple[list[dict[str, Any]], Timeline, bool]:
    """Run the shards; returns their logs, the run's timeline and whether Ctrl-C ended it
    (then the logs hold what was measured so far). Ctrl-C before the shards started their
    Topics kills them and raises KeyboardInterrupt: nothing was measured yet."""
    errs = [open(tmp / f"shard{k}.err", "wb") for k in range(cfg.procs)]  # noqa: SIM115
    tl = Timeline(duration=cfg.duration)
    children: list[_Child] = []
    try:
        with catch_sigint() as interrupt:
            try:
                with interrupt.scope:
                    await _spawn(cfg, tmp, graph, errs, children)
                    await _run_shards(cfg, children, progress, tl)
                if tl.t0 is None:
                    raise KeyboardInterrupt
                tl.stopped_at = time.monotonic()
                for c in children:
                    await c.send({"type": "stop"})
                await _gather(children, "done", 120.0)
                with trio.move_on_after(60):
                    for c in children:
                        await c.proc.wait()
            finally:
                for c in children:
                    if c.proc.returncode is None:
                        c.proc.kill()
                        await c.proc.wait()
    except (RuntimeError, trio.TooSlowError, BaseExceptionGroup) as e:
        cause: BaseException = e
        if isinstance(e, BaseExceptionGroup):
            inner = e.split((RuntimeError, trio.TooSlowError))[0]
            if inner is None:
                raise
            cause = inner.exceptions[0]
        tails = []
        for k in range(cfg.procs):
            p = tmp / f"shard{k}.err"
            if p.exists():
                tails.append(f"shard {k}: " + p.read_text(errors="replace")[-800:])
        raise RuntimeError(f"libp2p run failed: {cause!r}\n" + "\n".join(tails)) from None
    finally:
        for f in errs:
            f.close()
    logs = [json.loads((tmp / f"shard{k}.json").read_text()) for k in range(cfg.procs)]
    return logs, tl, interrupt.received


QUIET_S = 2.0
"""Seconds without Topic messages sent or delivered before a quiet-start workload
(``--warmup`` > 0) starts."""


def quiet_start_due(cfg: SimConfig, discovered: bool, quiet_for: float, since_t0: float) -> bool:
    """Whether a quiet-start workload (``warmup`` > 0) may start: every mirror is
    discovered and nothing was sent or delivered for :data:`QUIET_S`, or ``warmup``
    seconds passed since the Topics started (``warmup`` 0: at once, but the runner
    sends that ``go`` with ``start``)."""
    return (discovered and quiet_for >= QUIET_S) or since_t0 >= cfg.warmup


def workload_over(cfg: SimConfig, statuses: list[dict[str, Any]], now: float, until: float) -> bool:
    """Whether the run may stop: every mutation had ``settle`` seconds to arrive, or every
    mirror is discovered and up to date.

    Mutations end at ``until`` in every shard (one instant, sent with ``go``), so after
    ``until + settle`` every shard's last mutation had its settle time. Convergence is
    judged only on statuses taken after a shard's mutations ended (``mutations_done``,
    ``t >= until``): an earlier status hides mutations still to come, and a shard that got
    ``go`` late would otherwise mutate after the parent saw "converged".
    """
    if now >= until + cfg.settle:
        return True
    final = all(s.get("mutations_done") and s.get("t", 0.0) >= until for s in statuses)
    if now < until or not final:
        return False
    n, m = cfg.peers, cfg.machines
    mirrors = sum(s["mirrors"] for s in statuses)
    msum = sum(s["mirror_sum"] for s in statuses)
    own = sum(s["own_sum"] for s in statuses)
    return bool(mirrors == n * (n - 1) * m and msum == (n - 1) * own)


async def _watch(
    cfg: SimConfig, children: list[_Child], progress: Progress | None, tl: Timeline
) -> None:
    """Read progress; on a quiet start, send ``go`` (with the end of mutations) when
    :func:`quiet_start_due`; return when :func:`workload_over`."""
    assert tl.t0 is not None
    t0 = tl.t0
    full = cfg.peers * (cfg.peers - 1) * cfg.machines
    traffic = (-1, -1)
    quiet_since = time.monotonic()

    async def reader(c: _Child) -> None:
        while True:
            msg = await c.line()
            if msg.get("type") == "progress":
                c.status = msg

    async with trio.open_nursery() as nursery:
        for c in children:
            nursery.start_soon(reader, c)
        while True:
            await trio.sleep(0.5)
            now = time.monotonic()
            st = [c.status for c in children]
            if tl.until is None:
                mirrors = sum(s.get("mirrors", 0) for s in st)
                if progress is not None:
                    done = now - t0
                    progress(
                        done,
                        done + cfg.duration + cfg.settle,
                        f"discovering {100 * mirrors / full:.0f} %",
                    )
                # quiet: nothing published or delivered for QUIET_S (py-libp2p keeps
                # forwarding a backlog long after the last discovery message was sent)
                cur = (sum(s.get("messages", 0) for s in st), sum(s.get("received", 0) for s in st))
                if cur != traffic:
                    traffic, quiet_since = cur, now
                if quiet_start_due(cfg, mirrors == full, now - quiet_since, now - t0):
                    if mirrors == full and now - quiet_since >= QUIET_S:
                        tl.quiet_at = quiet_since
                    await _go(children, tl, now)
                continue
            if progress is not None:
                phase = "mutating" if now < tl.until else "settling"
                progress(now - t0, tl.until - t0 + cfg.settle, phase)
            if workload_over(cfg, st, now, tl.until):
                break
        nursery.cancel_scope.cancel()


def merge(
    cfg: SimConfig, logs: list[dict[str, Any]], start: float
) -> tuple[Recorder, ShardTraffic]:
    """Feed the shards' event logs to one Recorder in time order; the samples carry the
    shards' traffic totals (the ShardTraffic keeps the mesh sizes of the same instants)."""
    traffic = ShardTraffic(logs)
    rec = Recorder(cfg.peers, cfg.machines, start=start)
    rec.set_expected(cfg.peers * (cfg.peers - 1) * cfg.machines, start)
    events: list[list[Any]] = []
    for lg in logs:
        events.extend(lg["events"])
    order = {"m": 0, "d": 1, "c": 2, "r": 3}
    events.sort(key=lambda e: (e[1], order[e[0]]))
    next_sample = start
    for e in events:
        while e[1] >= next_sample:
            rec.sample(next_sample, cfg.peers, *traffic.at(next_sample, start))
            next_sample += cfg.sample_interval
        kind = e[0]
        if kind == "d":
            rec.on_discovered(e[2], e[3], e[4], e[1])
        elif kind == "c":
            rec.on_clock(e[2], e[3], e[4], e[1], e[5])
        elif kind == "m":
            rec.on_mutation(e[2], e[3], e[1], e[4])
        elif kind == "r":
            rec.on_removed(e[2], e[3], e[4])
    rec.sample(next_sample, cfg.peers, *traffic.at(next_sample, start))
    rec.frozen = True
    return rec, traffic


def gossipsub_section(
    cfg: SimConfig, logs: list[dict[str, Any]], traffic: ShardTraffic
) -> dict[str, Any]:
    """Raw gossipsub numbers: probe latencies (summary and CDF, for the same plot as the
    sync latency), the share of probes delivered and the mesh size over time."""
    probes = [x for lg in logs for per_peer in lg["probes"] for x in per_peer]
    sent = sum(int(lg["probes_sent"]) for lg in logs)
    delivered = round(min(1.0, len(probes) / (sent * (cfg.peers - 1))), 6) if sent else 1.0
    return {
        "latency_ms": latency_summary(probes),
        "latency_cdf": cdf_points(probes),
        "probes": sent,
        "delivered_ratio": delivered,
        "mesh_size": traffic.mesh,
    }


def by_peer(logs: list[dict[str, Any]], key: str) -> list[Any]:
    """The shards' per-peer list ``key`` merged in peer order (a shard holds the peers
    ``idx % procs == k``, so shard by shard would put peer 2 at index 1)."""
    rows = [(p, x) for lg in logs for p, x in zip(lg["topic_peers"], lg[key], strict=True)]
    return [x for _, x in sorted(rows, key=lambda r: int(r[0]))]


def run_libp2p(
    cfg: SimConfig, progress: Progress | None = None, graph: Path | None = None
) -> dict[str, Any]:
    """Run the scenario (blocking) and return the JSON report dict; ``graph``: where to
    write the final network graph as peer 0 sees it. Ctrl-C after the shards started
    gives a partial report (``partial: true``)."""
    wall0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="amsim-") as d:
        logs, tl, partial = trio.run(_coordinate, cfg, Path(d), progress, graph)
    # report times count from the instant the shards started their Topics
    assert tl.t0 is not None  # else _coordinate raised KeyboardInterrupt
    start = tl.t0
    rec, traffic = merge(cfg, logs, start)
    gossipsub = gossipsub_section(cfg, logs, traffic)
    usage = [Usage(**lg["usage"]) for lg in logs]
    wall = round(time.perf_counter() - wall0, 3)
    doc = build_report(
        cfg,
        rec,
        traffic=None,
        topic_metrics=by_peer(logs, "topic_metrics"),
        counters=by_peer(logs, "counters"),
        usage=usage,
        virtual_s=(rec.samples[-1].t if rec.samples else 0.0),
        gossipsub=gossipsub,
        partial=partial,
    )
    doc["resources"]["wall_s"] = wall
    mutations = [e[1] for lg in logs for e in lg["events"] if e[0] == "m"]

    def rel(t: float | None) -> float | None:
        return None if t is None else round(t - start, 3)

    doc["workload_start_s"] = rel(tl.go_at)
    doc["discovery"]["quiet_s"] = rel(tl.quiet_at)
    doc["workload_end_s"] = rel(tl.until)
    doc["last_mutation_s"] = rel(max(mutations, default=None))
    doc["stopped_s"] = rel(tl.stopped_at)
    if cfg.stages:
        doc["stages"] = stage_breakdown(logs, start, cfg.peers)
    return doc
