"""Run a scenario on the model network: N real Topics in one Trio run, virtual time.

Runs under ``trio.testing.MockClock(autojump_threshold=0)``: whenever every
task is blocked the clock jumps to the next deadline, so CPU time costs no
virtual time. A latency here is therefore the sum of link delays and the
Topic's own timers (push coalescing, relay/answer delays, heartbeats), never
processing time: the protocol's best case on the given links.

On the ``managed`` topology every peer also runs the real connection manager
(:mod:`._model_connect`), starting from the bootstrap peer 0; scenarios
(:mod:`._scenarios`) kill it or split the network, and :mod:`._network_watch`
reports connectivity and time to heal.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    # trio-stubs (installed with libp2p) shadow trio's own types and lack trio.TaskStatus
    from trio_typing import TaskStatus
import trio.testing

from ..machine import Machine
from ..pubsub import ConnectSettings, Topic, TopicSettings, open_topic
from ._config import SimConfig
from ._convergence import MirrorTracker
from ._determinism import seeded_trio_scheduler
from ._interrupt import catch_sigint
from ._metrics import Recorder
from ._model_connect import ModelConnections
from ._model_net import ModelNetwork
from ._network_watch import NetworkWatch, exact_every
from ._report import build_report, write_network_graph
from ._resources import Meter
from ._scenarios import kill_bootstrap, partition
from ._topology import attach, bootstrap_peers, build_topology
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
        self.tracker = MirrorTracker(self.capacity, cfg.machines)
        self.managed = cfg.topology == "managed"
        self.conns = (
            ModelConnections(
                self.net, ConnectSettings(low=cfg.conn_low, high=cfg.conn_high), cfg.seed
            )
            if self.managed
            else None
        )
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
        self.watch = NetworkWatch(self.net, self.tracker, self.alive, 0.0, exact_every(cfg.peers))

    def _index_of(self, peer_id: str) -> int | None:
        return self.net.ids.get(peer_id)

    def _expected(self) -> int:
        a = len(self.alive)
        return a * (a - 1) * self.cfg.machines

    def _discovered(self, r: int, owner: int, index: int, at: float) -> None:
        self.rec.on_discovered(r, owner, index, at)
        self.tracker.on_discovered(r, owner, index, at)

    def _removed(self, r: int, owner: int, index: int) -> None:
        self.rec.on_removed(r, owner, index)
        self.tracker.on_removed(r, owner, index, trio.current_time())

    def _clock(self, r: int, owner: int, index: int, at: float, clock_sum: int) -> None:
        self.rec.on_clock(r, owner, index, at, clock_sum)
        self.tracker.on_clock(r, owner, index, at, clock_sum)

    def kill(self, idx: int) -> None:
        """Peer ``idx`` dies abruptly (no bye): see ``ModelNetwork.kill``."""
        self.net.kill(idx)
        self._gone(idx)

    def _gone(self, idx: int) -> None:
        """``idx`` left or died: it no longer counts as a receiver or owner."""
        now = trio.current_time()
        self.alive.remove(idx)
        self.rec.forget_peer(idx)
        self.tracker.remove_peer(idx, now)
        self.rec.set_expected(self._expected(), now)
        scope = self.scopes[idx]
        if scope is not None:
            scope.cancel()

    async def _peer(
        self,
        idx: int,
        neighbours: list[int],
        task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Peer ``idx``: a Topic, and on a managed network its connection manager
        (starting from ``neighbours``; on a static topology they are its links)."""
        machines = make_machines(idx, self.cfg.machines)
        self.machines[idx] = machines
        conns = self.conns
        links = [] if conns is not None else neighbours
        transport = self.net.join(idx, peer_id_for(idx), links)
        self.tracker.add_peer(idx, [sum(m.clock().values()) for m in machines])
        obs = make_observer(idx, self._index_of, self._discovered, self._removed, self._clock)
        try:
            with trio.CancelScope() as scope:
                self.scopes[idx] = scope
                async with trio.open_nursery() as nursery:
                    if conns is not None:
                        conns.attach(idx)
                        nursery.start_soon(conns.run_peer, idx, neighbours)
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
            self.tracker.on_mutation(idx, i, s)
            self.watch.on_mutation()

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
            self._gone(self.alive[rng.randrange(len(self.alive))])
            self.left_total += 1
            idx = self.next_idx
            self.next_idx += 1
            neighbours = attach(self.adj, self.alive, cfg.degree, rng)
            self.alive.append(idx)
            self.joined_total += 1
            self.rec.set_expected(self._expected(), now)
            await nursery.start(self._peer, idx, neighbours)

    def _scenarios(self, nursery: trio.Nursery) -> None:
        cfg, start = self.cfg, self.rec.start
        if cfg.kill_bootstrap_at is not None:
            nursery.start_soon(kill_bootstrap, self, self.watch, start + cfg.kill_bootstrap_at)
        p_at = cfg.partition_start
        if p_at is not None:
            nursery.start_soon(partition, self, self.watch, cfg, start + p_at, cfg.partition)

    def _traffic_totals(self) -> tuple[int, int, int]:
        """Hops sent, their bytes, and copies received (duplicates too) so far."""
        tr = self.net.traffic
        return sum(t.sent for t in tr), sum(t.bytes_sent for t in tr), sum(t.received for t in tr)

    async def _sampler(self) -> None:
        cfg = self.cfg
        total = cfg.duration + cfg.settle
        frozen = False
        while True:
            now = trio.current_time()
            self.rec.sample(now, len(self.alive), *self._traffic_totals())
            if not frozen and self.rec.full_discovery_at is not None:
                frozen = True
                _freeze_heap()
            self.watch.sample(now)
            if self.progress is not None:
                phase = "mutating" if now - self.rec.start < cfg.duration else "settling"
                self.progress(min(total, now - self.rec.start), total, phase)
            # sample just before the tick: no deadline ties with other tasks
            k = round((now - self.rec.start) / cfg.sample_interval) + 1
            await trio.sleep_until(self.rec.start + k * cfg.sample_interval - 1e-7)

    def _done(self) -> bool:
        r = self.rec
        return (
            r.discovered >= r.expected
            and len(r.latencies) >= r.sync_expected
            and self.tracker.stale == 0
            and not self.watch.pending()
        )

    async def main(self) -> dict[str, Any]:
        cfg = self.cfg
        meter = Meter()
        self.rec.start = self.watch.start = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.net.run)
            peers_scope = trio.CancelScope()

            async def peers() -> None:
                with peers_scope:
                    async with trio.open_nursery() as pn:
                        for idx in range(cfg.peers):
                            first = (
                                bootstrap_peers(self.adj, idx) if self.managed else self.adj[idx]
                            )
                            await pn.start(self._peer, idx, first)
                            self.alive.append(idx)
                        self.rec.set_expected(self._expected(), trio.current_time())
                        until = self.rec.start + cfg.duration
                        pn.start_soon(self._mutations, until)
                        pn.start_soon(self._churn, pn, until)
                        self._scenarios(pn)
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
        doc = build_report(
            cfg,
            self.rec,
            traffic=self.net.traffic[: self.next_idx],
            topic_metrics=self.topic_metrics,
            usage=[usage],
            virtual_s=end - self.rec.start,
            extra={
                "churn": {"left": self.left_total, "joined": self.joined_total},
                "network": self.watch.report(
                    self.managed,
                    (cfg.conn_low, cfg.conn_high),
                    self.conns.counters() if self.conns is not None else None,
                ),
            },
            partial=interrupt.received,
        )
        # the model mutates from the start: quiet = no discovery message published any more
        last = [m["discovery_sent_at"] for m in self.topic_metrics if m["discovery_sent_at"]]
        doc["discovery"]["quiet_s"] = round(max(last) - self.rec.start, 6) if last else None
        return doc


def run_model(
    cfg: SimConfig, progress: Progress | None = None, graph: Path | None = None
) -> dict[str, Any]:
    """Run the scenario (blocking) and return the JSON report dict; ``graph``: where to
    write the final network graph as the first alive peer sees it."""
    sim = ModelSim(cfg, progress, graph)
    clock = trio.testing.MockClock(autojump_threshold=0)
    with seeded_trio_scheduler(cfg.seed), _no_full_collections_while_growing():
        result: dict[str, Any] = trio.run(sim.main, clock=clock)
    return result


@contextmanager
def _no_full_collections_while_growing() -> Iterator[None]:
    """Python's collector runs a full pass each time the heap grew by a quarter, and
    discovery grows it to every peer's mirrors of every other peer (GBs at 1,000
    peers): those passes took 28 % of the CPU at 500 peers. So no automatic full pass
    until discovery is complete (:func:`_freeze_heap`; young generations are still
    collected), and the run's heap is handed back to the collector at the end."""
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], 1 << 30)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _freeze_heap() -> None:
    """Once every mirror exists: one full pass, then keep what survived out of later
    ones (they scan only what the run allocates from then on), and let them run again."""
    gc.collect()
    gc.freeze()
    t = gc.get_threshold()
    gc.set_threshold(t[0], t[1], 10)
