"""Numbers a scrape reads: per-machine counters kept by a tracer, and the metric
families built from a Topic at scrape time (Go: pkg/telemetry/prometheus).

Nothing here touches ``prometheus_client`` on the hot path: the tracer bumps plain
ints, and :func:`families` turns them and the Topic's own :class:`TopicMetrics`
into metric families only when ``/metrics`` is read (no double counting).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from asyncmachine.machine import Machine, ReadOnlyMachine, TracerBase, Transition
from asyncmachine.pubsub import Topic

from . import _names as n
from ._names import Kind, MetricSpec

SECONDS_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Sync latency: stamps are whole milliseconds, and a relayed or re-requested clock
update can take seconds (``relay_delay``, ``request_interval``)."""


class Buckets:
    """A cumulative-at-read histogram of float observations (seconds)."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float] = SECONDS_BUCKETS) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        """``(le, count)`` pairs, ``+Inf`` last, as Prometheus wants them."""
        out: list[tuple[str, float]] = []
        acc = 0
        for le, c in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            acc += c
            out.append((le, float(acc)))
        return out


class MachineStats(TracerBase):
    """A tracer counting one machine's transitions and timing its handlers."""

    __slots__ = ("_t0", "canceled", "executed", "handlers")

    def __init__(self) -> None:
        self.executed = 0
        self.canceled = 0
        self.handlers = Buckets()
        self._t0 = 0.0

    def transition_end(self, tx: Transition, /) -> None:
        if tx.mutation.is_check:
            return
        if tx.is_accepted:
            self.executed += 1
        else:
            self.canceled += 1

    def handler_start(self, tx: Transition, binding_id: str, handler: str, /) -> None:
        self._t0 = time.perf_counter()

    def handler_end(self, tx: Transition, binding_id: str, handler: str, /) -> None:
        self.handlers.observe(time.perf_counter() - self._t0)


Scalar = CounterMetricFamily | GaugeMetricFamily
Mirror = tuple[str, ReadOnlyMachine]
"""(owner peer id, mirror)"""


def _scalar(spec: MetricSpec, extra: Sequence[str] = ()) -> Scalar:
    labels = [*extra, *spec.labels]
    if spec.kind is Kind.COUNTER:
        return CounterMetricFamily(spec.name, spec.help, labels=labels)
    assert spec.kind is Kind.GAUGE, spec
    return GaugeMetricFamily(spec.name, spec.help, labels=labels)


def _histogram(
    spec: MetricSpec, labels: list[str], values: Iterable[tuple[list[str], Buckets]]
) -> HistogramMetricFamily:
    assert spec.kind is Kind.HISTOGRAM, spec
    fam = HistogramMetricFamily(spec.name, spec.help, labels=[*labels, *spec.labels])
    for label_values, b in values:
        fam.add_metric(label_values, b.cumulative(), b.total)
    return fam


def machine_families(
    machines: Iterable[Machine], stats: dict[str, MachineStats], mirrors: Iterable[Mirror]
) -> Iterator[Metric]:
    """Per-machine metrics: local machines with their stats, then mirrors' clocks."""
    tx, ql, qd, mt, sa, st = (
        _scalar(s)
        for s in (
            n.TRANSITIONS,
            n.QUEUE_LENGTH,
            n.QUEUE_DROPPED,
            n.MACHINE_TIME,
            n.STATE_ACTIVE,
            n.STATE_TICK,
        )
    )
    handlers: list[tuple[list[str], Buckets]] = []
    clocks: list[tuple[str, str, bool, Machine | ReadOnlyMachine]] = []
    for m in machines:
        s = stats.get(m.id)
        if s is not None:
            tx.add_metric([m.id, "executed"], s.executed)
            tx.add_metric([m.id, "canceled"], s.canceled)
            handlers.append(([m.id], s.handlers))
        ql.add_metric([m.id], m.queue_len())
        qd.add_metric([m.id], m.queue_dropped)
        clocks.append((m.id, "", True, m))
    clocks.extend((r.id, peer, False, r) for peer, r in mirrors)
    for mid, peer, local, mach in clocks:
        ticks = mach.time()
        mt.add_metric([mid, peer, "true" if local else "false"], sum(ticks))
        for name, t in zip(mach.state_names(), ticks, strict=False):
            sa.add_metric([mid, peer, name], t % 2)
            st.add_metric([mid, peer, name], t)
    yield from (tx, _histogram(n.HANDLER_SECONDS, [], handlers), ql, qd, mt, sa, st)


def topic_families(topic: Topic, latency: Buckets) -> Iterator[Metric]:
    """Per-topic metrics from the Topic's own counters, peers, mirrors and transport."""
    tm = topic.metrics
    t = [topic.name]

    def fam(spec: MetricSpec) -> Scalar:
        return _scalar(spec, ("topic",))

    sent, recv, rej, dfr = fam(n.MSGS_SENT), fam(n.MSGS_RECEIVED), fam(n.REJECTED), fam(n.DEFERRED)
    for f, counts in ((sent, tm.sent_by_type), (recv, tm.received_by_type)):
        for k, v in sorted(counts.items()):
            f.add_metric([*t, k], v)
    for f, counts in ((rej, tm.rejected), (dfr, tm.deferred)):
        for k, v in sorted(counts.items()):
            f.add_metric([*t, k], v)
    yield from (sent, recv, rej, dfr)
    for spec, value in (
        (n.BYTES_SENT, tm.bytes_sent),
        (n.BYTES_RECEIVED, tm.bytes_received),
        (n.DUPLICATES, tm.duplicates),
        (n.CLOCK_UPDATES, tm.clock_updates),
        (n.PUBLISH_ERRORS, tm.publish_errors),
        (n.MIRRORS, len(topic.remote_machines()) if topic.transport is not None else 0),
    ):
        f = fam(spec)
        f.add_metric(t, value)
        yield f
    peers = fam(n.PEERS)
    tr = topic.transport
    peers.add_metric([*t, "known"], len(topic.peers()))
    peers.add_metric([*t, "subscribed"], len(topic.topic_peers()))
    peers.add_metric([*t, "connected"], len(tr.connected_peers()) if tr is not None else 0)
    peers.add_metric([*t, "mesh"], len(tr.mesh_peers()) if tr is not None else 0)
    yield peers
    yield _histogram(n.SYNC_LATENCY, ["topic"], [(t, latency)])
    yield from _libp2p_families(topic, t)


def _libp2p_families(topic: Topic, t: list[str]) -> Iterator[Metric]:
    """The py-libp2p transport's counters, when the topic runs on libp2p."""
    counters = getattr(topic.transport, "counters", None)
    if counters is None:
        return
    msgs, size = _scalar(n.LIBP2P, ("topic",)), _scalar(n.LIBP2P_BYTES, ("topic",))
    for event in ("published", "received", "dropped", "outbound_dropped", "undecodable_rpcs"):
        msgs.add_metric([*t, event], getattr(counters, event))
    size.add_metric([*t, "published"], counters.bytes_published)
    size.add_metric([*t, "received"], counters.bytes_received)
    size.add_metric([*t, "forwarded"], counters.bytes_forwarded)
    control = _scalar(n.LIBP2P_CONTROL, ("topic",))
    for kind in ("ihave", "iwant", "graft", "prune"):
        for direction in ("sent", "received"):
            control.add_metric([*t, kind, direction], getattr(counters, f"{kind}_{direction}"))
    control.add_metric([*t, "forwarded", "sent"], counters.forwarded)
    yield from (msgs, size, control)
