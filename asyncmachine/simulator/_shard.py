"""One libp2p shard process: ``python -m asyncmachine.simulator._shard --shard K --config JSON``.

Line protocol (JSON, one object per line): the shard prints ``addrs``; the
parent answers ``peers`` (all addresses and ids); the shard dials its edges and
prints ``ready``; the parent sends ``start`` (a ``time.monotonic()`` instant);
the shard runs its peers' Topics, printing ``progress`` every half second; on
``go`` it starts the workload (mutations and probes until the ``until`` instant the
parent sent, the same for every shard), and on ``stop`` it ends (the parent starts it in
a session of its own: Ctrl-C reaches only the parent, which stops the shards); it
then writes its event log to ``--log`` and prints ``done``. Times in the log are
``time.monotonic()``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    # trio-stubs (installed with libp2p) shadow trio's own types and lack trio.TaskStatus
    from trio_typing import TaskStatus

from ..machine import Machine
from ..pubsub import EventKind, Topic, TopicEvent, open_topic
from ..pubsub.libp2p import Libp2pTransport, open_libp2p_transport
from ._config import SimConfig
from ._probe import ProbeTransport, trio_to_mono
from ._report import write_network_graph
from ._resources import Meter
from ._runner_model import topic_settings
from ._topology import build_topology
from ._workload import TOPIC, make_machines, make_observer, mutate, stream

PAIR_AFTER_S = 0.005
"""A paired probe sent after its update leaves this long after the mutation (the push
runs within ~1-2 ms: the stage breakdown's ``push_wait``)."""


class Shard:
    """The peers ``idx % procs == shard`` of a libp2p scenario."""

    def __init__(self, cfg: SimConfig, shard: int) -> None:
        self.cfg = cfg
        self.shard = shard
        self.mine = [i for i in range(cfg.peers) if i % cfg.procs == shard]
        self.adj = build_topology(cfg.topology, cfg.peers, cfg.degree, stream(cfg.seed, "topo"))
        self.transports: dict[int, ProbeTransport] = {}
        self.libp2p: dict[int, Libp2pTransport] = {}
        """The transports under :attr:`transports`, for their counters."""
        self.topics: dict[int, Topic] = {}
        self.machines: dict[int, list[Machine]] = {}
        self.ids: dict[str, int] = {}
        self.log: list[list[Any]] = []
        self.frozen = False
        self.off = 0.0
        self.mutations_done = False
        """Set when this shard's mutation phase ended (all its mutations are logged)."""
        self.last_mutation: float | None = None
        self.traffic: list[list[Any]] = []
        """``[t, sent, bytes sent, received, [mesh size per peer]]`` samples (report)."""
        self.work: list[list[Any]] = []
        """``--stages``: ``[peer, work, due, started, ended]`` per outgoing work run."""
        self.stages: list[list[Any]] = []
        """``--stages``: ``["s", received, receiver, owner, index, clock sum, stamp,
        applied, from the owner]`` per mirror clock change (see ``_stages``)."""
        self._lines: trio.MemoryReceiveChannel[dict[str, Any]] | None = None

    def emit(self, obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    async def _stdin_reader(self, send: trio.MemorySendChannel[dict[str, Any]]) -> None:
        async with send:
            while True:
                line = await trio.to_thread.run_sync(  # type: ignore[call-arg,unused-ignore]
                    sys.stdin.readline, abandon_on_cancel=True
                )
                if not line:
                    return
                await send.send(json.loads(line))

    async def _expect(self, kind: str) -> dict[str, Any]:
        assert self._lines is not None
        async for msg in self._lines:
            if msg.get("type") == kind:
                return msg
        raise RuntimeError(f"parent closed stdin before {kind!r}")

    # --- recorder callbacks: log with monotonic times ---

    def _disc(self, r: int, o: int, i: int, at: float) -> None:
        if not self.frozen:
            self.log.append(["d", at, r, o, i])

    def _rem(self, r: int, o: int, i: int) -> None:
        if not self.frozen:
            self.log.append(["r", trio.current_time() + self.off, r, o, i])

    def _clock(self, r: int, o: int, i: int, at: float, s: int) -> None:
        if not self.frozen:
            self.log.append(["c", at, r, o, i, s])

    def _mono(self, t: float) -> float:
        return t + self.off

    async def _peer_topic(self, idx: int, task_status: TaskStatus[None]) -> None:
        t = self.transports[idx]
        machines = make_machines(idx, self.cfg.machines)
        self.machines[idx] = machines
        obs = make_observer(idx, self.ids.get, self._disc, self._rem, self._clock, self._mono)
        async with open_topic(
            TOPIC, transport=t, expose=machines, settings=topic_settings(self.cfg), suffix=str(idx)
        ) as topic:
            topic.add_observer(obs)
            if self.cfg.stages:
                self._trace_stages(idx, topic)
            self.topics[idx] = topic
            task_status.started()
            await trio.sleep_forever()

    def _trace_stages(self, idx: int, topic: Topic) -> None:
        """Log peer ``idx``'s work runs and mirror clock changes (``--stages``)."""
        off = self.off
        wall_to_mono = time.monotonic() - time.time()

        def run(work: Any, due: float, started: float, ended: float) -> None:  # a RunTracer
            if not self.frozen:
                self.work.append([idx, work.name, due + off, started + off, ended + off])

        authors: dict[float, str] = {}
        self.transports[idx].authors = authors

        def changed(ev: TopicEvent) -> None:
            owner = self.ids.get(ev.peer_id)
            if ev.kind is not EventKind.CLOCK_UPDATED or owner is None or self.frozen:
                return
            assert ev.time is not None and ev.stamp_ms is not None
            stamp = ev.stamp_ms / 1000.0 + wall_to_mono
            applied = trio.current_time() + off
            direct = authors.get(ev.at) == ev.peer_id
            self.stages.append(
                ["s", ev.at + off, idx, owner, ev.index, sum(ev.time), stamp, applied, direct]
            )

        topic.engine.scheduler.tracer = run
        topic.add_observer(changed)

    async def _mutations(self, until: float) -> None:
        """Mutate random machines of this shard until ``until`` (Trio time), which is the
        same instant in every shard."""
        try:
            await self._mutate_until(until)
        finally:
            self.mutations_done = True

    async def _mutate_until(self, until: float) -> None:
        cfg = self.cfg
        rate = cfg.mutation_rate * len(self.mine) / cfg.peers
        if rate <= 0:
            return
        rng = stream(cfg.seed, f"mutations-{self.shard}")
        paired = stream(cfg.seed, f"paired-probes-{self.shard}")
        share = cfg.probe_rate / cfg.mutation_rate if cfg.probe_timing == "paired" else 0.0
        while True:
            await trio.sleep(rng.expovariate(rate))
            if trio.current_time() >= until:
                return
            idx = self.mine[rng.randrange(len(self.mine))]
            i = rng.randrange(cfg.machines)
            s = mutate(self.machines[idx][i], rng)
            self.last_mutation = self._mono(trio.current_time())
            self.log.append(["m", self.last_mutation, idx, i, s])
            if share and paired.random() < share:
                await self._paired_probe(idx, first=paired.random() < 0.5)

    async def _paired_probe(self, idx: int, *, first: bool) -> None:
        """A probe from the host that just mutated, at the same moment as the update's
        push: before it (``first``; the push runs once this task yields) or
        :data:`PAIR_AFTER_S` after it. Each path leads half the time: the one behind
        waits for the other's forwarding (and the update's processing) at every hop."""
        if not first:
            await trio.sleep(PAIR_AFTER_S)
        await self.transports[idx].send_probe(idx)

    async def _probes(self, until: float) -> None:
        cfg = self.cfg
        rate = cfg.probe_rate * len(self.mine) / cfg.peers
        if rate <= 0 or cfg.probe_timing == "paired":  # paired: sent with the mutations
            return
        rng = stream(cfg.seed, f"probes-{self.shard}")
        while True:
            await trio.sleep(rng.expovariate(rate))
            if trio.current_time() >= until:
                return
            idx = self.mine[rng.randrange(len(self.mine))]
            await self.transports[idx].send_probe(idx)

    def _status(self) -> dict[str, Any]:
        mirrors = 0
        mirror_sum = 0
        for t in self.topics.values():
            for rm in t.remote_machines():
                mirrors += 1
                mirror_sum += sum(rm.clock)
        own = sum(sum(m.clock().values()) for ms in self.machines.values() for m in ms)
        sent = sum(t.metrics.msgs_sent for t in self.topics.values())
        received = sum(t.metrics.msgs_received for t in self.topics.values())
        nbytes = sum(t.metrics.bytes_sent for t in self.topics.values())
        return {
            "type": "progress",
            "mirrors": mirrors,
            "mirror_sum": mirror_sum,
            "own_sum": own,
            "t": self._mono(trio.current_time()),
            "messages": sent,
            "received": received,
            "bytes": nbytes,
            "mutations_done": self.mutations_done,
            "last_mutation": self.last_mutation,
        }

    async def main(self) -> None:
        meter = Meter()
        send, self._lines = trio.open_memory_channel[dict[str, Any]](16)
        async with trio.open_nursery() as nursery, AsyncExitStack() as stack:
            nursery.start_soon(self._stdin_reader, send)
            for idx in self.mine:
                inner = await stack.enter_async_context(open_libp2p_transport(TOPIC))
                pt = ProbeTransport(inner)
                self.libp2p[idx] = inner
                self.transports[idx] = pt
                nursery.start_soon(pt.pump)
            self.off = trio_to_mono()
            self.emit(
                {
                    "type": "addrs",
                    "addrs": {i: t.addrs()[0] for i, t in self.transports.items()},
                    "ids": {i: t.peer_id for i, t in self.transports.items()},
                }
            )
            peers = await self._expect("peers")
            addrs = {int(k): v for k, v in peers["addrs"].items()}
            self.ids = {v: int(k) for k, v in peers["ids"].items()}
            limit = trio.Semaphore(8)

            async def dial(a: int, b: int) -> None:
                async with limit:
                    await self.transports[a].connect(addrs[b])

            async with trio.open_nursery() as dn:
                for a in self.mine:
                    for b in self.adj[a]:
                        if b > a:
                            dn.start_soon(dial, a, b)
            self.emit({"type": "ready"})
            start = await self._expect("start")
            await trio.sleep_until(float(start["t0"]) - self.off)
            async with trio.open_nursery() as tn:
                for idx in self.mine:
                    await tn.start(self._peer_topic, idx)
                await self._serve(tn)
                self.frozen = True
                if self.graph_path and self.topics:
                    write_network_graph(self.topics[min(self.topics)], Path(self.graph_path))
                self.finish(meter)
                tn.cancel_scope.cancel()
            nursery.cancel_scope.cancel()

    async def _serve(self, tn: trio.Nursery) -> None:
        """Report progress every half second; start the workload on ``go``; return on
        ``stop`` (or when the parent is gone for too long)."""
        cfg = self.cfg
        assert self._lines is not None
        with trio.move_on_after(cfg.warmup + cfg.duration + cfg.settle + 120):
            while True:
                self.emit(self._status())
                self._sample_traffic()
                with trio.move_on_after(0.5):
                    msg = await self._lines.receive()
                    if msg.get("type") == "go":
                        # the hosts' start-up heap would make every full collection a
                        # pause of all the shard's peers at once: keep it out of the GC
                        gc.collect()
                        gc.freeze()
                        # the parent's end of mutations, not ours: go may arrive late here
                        until = float(msg["until"]) - self.off
                        tn.start_soon(self._mutations, until)
                        tn.start_soon(self._probes, until)
                    elif msg.get("type") == "stop":
                        return

    def _sample_traffic(self) -> None:
        """Log this shard's traffic totals and every peer's gossipsub mesh size (for the
        report's time series and mesh-size-over-time); the routers' control and forward
        counts go to the report once, at the end (:meth:`finish`)."""
        if self.frozen:
            return
        ts = self.topics.values()
        self.traffic.append(
            [
                self._mono(trio.current_time()),
                sum(t.metrics.msgs_sent for t in ts),
                sum(t.metrics.bytes_sent for t in ts),
                sum(t.metrics.msgs_received for t in ts),
                [len(self.transports[i].mesh_peers()) for i in self.topics],
            ]
        )

    def finish(self, meter: Meter) -> None:
        usage = meter.stop()
        out = {
            "traffic": self.traffic,
            "shard": self.shard,
            "events": self.log,
            "probes": [t.probe_latencies for t in self.transports.values()],
            "probe_at": [t.probe_at for t in self.transports.values()],
            "probe_peers": list(self.transports),
            "work": self.work,
            "stages": self.stages,
            "probes_sent": sum(t.probes_sent for t in self.transports.values()),
            "topic_peers": list(self.topics),  # the peer of each topic_metrics/counters row
            "topic_metrics": [t.metrics.snapshot() for t in self.topics.values()],
            # per peer: the transport's counters (gossipsub control messages, forwards)
            "counters": [asdict(self.libp2p[i].counters) for i in self.topics],
            "usage": {"cpu_s": usage.cpu_s, "max_rss_mb": usage.max_rss_mb, "wall_s": usage.wall_s},
        }
        with open(self.log_path, "w") as f:
            json.dump(out, f)
        self.emit({"type": "done"})

    log_path = ""
    graph_path = ""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="asyncmachine.simulator._shard")
    p.add_argument("--shard", type=int, required=True)
    p.add_argument("--config", required=True, help="SimConfig as JSON")
    p.add_argument("--log", required=True, help="where to write the event log (JSON)")
    p.add_argument("--graph", default="", help="write the final network graph here")
    a = p.parse_args(argv)
    shard = Shard(SimConfig.from_dict(json.loads(a.config)), a.shard)
    shard.log_path = a.log
    shard.graph_path = a.graph
    trio.run(shard.main)
    return 0


if __name__ == "__main__":
    sys.exit(main())
