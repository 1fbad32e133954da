"""Run a scenario on the model network: N real Topics in one Trio run, virtual time.

Runs under ``trio.testing.MockClock(autojump_threshold=0)``: whenever every
task is blocked the clock jumps to the next deadline, so CPU time costs no
virtual time. A latency here is therefore the sum of link delays and the
Topic's own timers (push coalescing, relay/answer delays, heartbeats), never
processing time: the protocol's best case on the given links.
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    # trio-stubs (installed with libp2p) shadow trio's own types and lack trio.TaskStatus
    from trio_typing import TaskStatus
import trio.testing

from ..machine import Machine
from ..pubsub import Topic, TopicSettings, open_topic
from ._config import SimConfig
from ._interrupt import catch_sigint
from ._metrics import Recorder
from ._model_net import ModelNetwork
from ._report import build_report, write_network_graph
from ._resources import Meter
from ._topology import attach, build_topology
from ._workload import TOPIC, make_machines, make_observer, mutate, peer_id_for, stream

Progress = Callable[[float, float, str], None]
"""progress(done, total, phase) in virtual seconds."""


def topic_settings(cfg: SimConfig) -> TopicSettings:
    """Topic settings of simulated peers (fixed seed and epoch: deterministic)."""
    return TopicSettings(seed=cfg.seed, epoch=1)


class ModelSim:
    """One model-backend simulation (use :func:`run_model`)."""

    def __init__(
        self, cfg: SimConfig, progress: Progress | None = None, graph: Path | None = None
    ) -> None:
        self.cfg = cfg
        self.progress = progress
        self.graph = graph
        joins = math.ceil(cfg.churn * (cfg.duration + cfg.settle) / 60.0) + 1 if cfg.churn else 0
        self.capacity = cfg.peers + joins
        self.net = ModelNetwork(
            TOPIC,
            capacity=self.capacity,
            rng=stream(cfg.seed, "net"),
            latency=cfg.latency_ms / 1000.0,
            jitter=cfg.jitter_ms / 1000.0,
            loss=cfg.loss,
            mesh_degree=cfg.mesh_degree,
            heartbeat=cfg.heartbeat,
        )
        self.rec = Recorder(self.capacity, cfg.machines)
        self.adj = build_topology(cfg.topology, cfg.peers, cfg.degree, stream(cfg.seed, "topo"))
        self.settings = topic_settings(cfg)
        self.machines: list[list[Machine]] = [[] for _ in range(self.capacity)]
        self.scopes: list[trio.CancelScope | None] = [None] * self.capacity
        self.topics: list[Topic | None] = [None] * self.capacity
        self.topic_metrics: list[dict[str, Any]] = []
        self.alive: list[int] = []
        self.next_idx = cfg.peers
        self.joined_total = 0
        self.left_total = 0

    def _index_of(self, peer_id: str) -> int | None:
        return self.net.ids.get(peer_id)

    def _expected(self) -> int:
        a = len(self.alive)
        return a * (a - 1) * self.cfg.machines

    async def _peer(
        self,
        idx: int,
        neighbours: list[int],
        task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        rec = self.rec
        machines = make_machines(idx, self.cfg.machines)
        self.machines[idx] = machines
        transport = self.net.join(idx, peer_id_for(idx), neighbours)
        obs = make_observer(idx, self._index_of, rec.on_discovered, rec.on_removed, rec.on_clock)
        try:
            with trio.CancelScope() as scope:
                self.scopes[idx] = scope
                async with open_topic(
                    TOPIC,
                    transport=transport,
                    expose=machines,
                    settings=self.settings,
                    suffix=str(idx),
                ) as topic:
                    topic.add_observer(obs)
                    self.topics[idx] = topic
                    task_status.started()
                    await trio.sleep_forever()
        finally:
            t = self.topics[idx]
            if t is not None:
                self.topic_metrics.append(t.metrics.snapshot())
            self.topics[idx] = None
            self.net.leave(idx)

    async def _mutations(self, until: float) -> None:
        cfg = self.cfg
        if cfg.mutation_rate <= 0:
            return
        rng = stream(cfg.seed, "mutations")
        while True:
            await trio.sleep(rng.expovariate(cfg.mutation_rate))
            now = trio.current_time()
            if now >= until:
                return
            if not self.alive:
                continue
            idx = self.alive[rng.randrange(len(self.alive))]
            i = rng.randrange(cfg.machines)
            s = mutate(self.machines[idx][i], rng)
            self.rec.on_mutation(idx, i, now, s)

    async def _churn(self, nursery: trio.Nursery, until: float) -> None:
        cfg = self.cfg
        if cfg.churn <= 0:
            return
        rng = stream(cfg.seed, "churn")
        while True:
            await trio.sleep(cfg.churn_interval * (0.5 + rng.random()))
            now = trio.current_time()
            if now >= until or self.next_idx >= self.capacity:
                return
            gone = self.alive.pop(rng.randrange(len(self.alive)))
            scope = self.scopes[gone]
            if scope is not None:
                scope.cancel()
            self.left_total += 1
            idx = self.next_idx
            self.next_idx += 1
            neighbours = attach(self.adj, self.alive, cfg.degree, rng)
            self.alive.append(idx)
            self.joined_total += 1
            self.rec.set_expected(self._expected(), now)
            await nursery.start(self._peer, idx, neighbours)

    def _traffic_totals(self) -> tuple[int, int, int]:
        """Hops sent, their bytes, and copies received (duplicates too) so far."""
        tr = self.net.traffic
        return sum(t.sent for t in tr), sum(t.bytes_sent for t in tr), sum(t.received for t in tr)

    async def _sampler(self) -> None:
        cfg = self.cfg
        total = cfg.duration + cfg.settle
        while True:
            now = trio.current_time()
            self.rec.sample(now, len(self.alive), *self._traffic_totals())
            if self.progress is not None:
                phase = "mutating" if now - self.rec.start < cfg.duration else "settling"
                self.progress(min(total, now - self.rec.start), total, phase)
            # sample just before the tick: no deadline ties with other tasks
            k = round((now - self.rec.start) / cfg.sample_interval) + 1
            await trio.sleep_until(self.rec.start + k * cfg.sample_interval - 1e-7)

    def _done(self) -> bool:
        r = self.rec
        return r.discovered >= r.expected and len(r.latencies) >= r.sync_expected

    async def main(self) -> dict[str, Any]:
        cfg = self.cfg
        meter = Meter()
        self.rec.start = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.net.run)
            peers_scope = trio.CancelScope()

            async def peers() -> None:
                with peers_scope:
                    async with trio.open_nursery() as pn:
                        for idx in range(cfg.peers):
                            await pn.start(self._peer, idx, self.adj[idx])
                            self.alive.append(idx)
                        self.rec.set_expected(self._expected(), trio.current_time())
                        until = self.rec.start + cfg.duration
                        pn.start_soon(self._mutations, until)
                        pn.start_soon(self._churn, pn, until)
                        await trio.sleep_forever()

            nursery.start_soon(peers)
            nursery.start_soon(self._sampler)
            # Ctrl-C ends the run here: a partial report of what was measured so far
            with catch_sigint() as interrupt, interrupt.scope:
                await trio.sleep_until(self.rec.start + cfg.duration)
                with trio.move_on_after(cfg.settle):
                    while not self._done():
                        await trio.sleep(0.25)
            end = trio.current_time()
            self.rec.sample(end, len(self.alive), *self._traffic_totals())
            self.rec.frozen = True
            if self.graph is not None:
                observer = next((t for t in self.topics if t is not None), None)
                if observer is not None:
                    write_network_graph(observer, self.graph)
            for t in self.topics:
                if t is not None:
                    self.topic_metrics.append(t.metrics.snapshot())
            self.topics = [None] * self.capacity
            peers_scope.cancel()
            nursery.cancel_scope.cancel()
        usage = meter.stop()
        return build_report(
            cfg,
            self.rec,
            traffic=self.net.traffic[: self.next_idx],
            topic_metrics=self.topic_metrics,
            usage=[usage],
            virtual_s=end - self.rec.start,
            extra={"churn": {"left": self.left_total, "joined": self.joined_total}},
            partial=interrupt.received,
        )


def trio_scheduler_rng() -> random.Random | None:
    """Trio's scheduler RNG (``trio._core._run._r``), or None on a Trio without it.

    Why a private name: Trio reverses each batch of runnable tasks at random on
    purpose (so code cannot rely on an order) and has no public way to seed it;
    its only hook is the Hypothesis plugin, which registers this same
    ``random.Random`` with ``hypothesis.register_random``. The model simulation
    needs a reproducible order: without it, same-seed runs differ (checked:
    three unseeded 40-peer runs with churn and loss gave three reports).
    The alternatives were worse: a single-task scheduler of our own would not
    run the real Topic code, and giving up reproducibility would break the
    ``--seed`` contract. So we touch exactly this one attribute, check its
    type, and ``tests/simulator/test_sim_model.py`` fails loudly on a Trio
    release that drops it (present up to Trio 0.35, the version tested).
    """
    from trio._core import _run

    r = getattr(_run, "_r", None)
    return r if isinstance(r, random.Random) else None


@contextmanager
def seeded_trio_scheduler(seed: int) -> Iterator[bool]:
    """Seed Trio's run-queue order for one ``trio.run`` (restored afterwards, so
    other Trio code in the process keeps its own randomness); yields False, and
    warns, when this Trio has no such RNG (the run is then not reproducible)."""
    r = trio_scheduler_rng()
    if r is None:
        warnings.warn(
            f"trio {version('trio')} has no seedable scheduler RNG: "
            "model simulations are not reproducible on it",
            RuntimeWarning,
            stacklevel=3,
        )
        yield False
        return
    state = r.getstate()
    r.seed(seed)
    try:
        yield True
    finally:
        r.setstate(state)


def run_model(
    cfg: SimConfig, progress: Progress | None = None, graph: Path | None = None
) -> dict[str, Any]:
    """Run the scenario (blocking) and return the JSON report dict; ``graph``: where to
    write the final network graph as the first alive peer sees it."""
    sim = ModelSim(cfg, progress, graph)
    clock = trio.testing.MockClock(autojump_threshold=0)
    with seeded_trio_scheduler(cfg.seed):
        result: dict[str, Any] = trio.run(sim.main, clock=clock)
    return result
