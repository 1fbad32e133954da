"""A node's telemetry: the sinks chosen by :class:`TelemetryOptions`, opened before the
node starts (so bad paths and busy ports fail fast) and attached to its Topic."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING

import trio

from asyncmachine.machine import Machine, ReadOnlyMachine, Tracer
from asyncmachine.pubsub import Topic

from ._metrics import LATENCY_BUCKETS, Buckets, MachineStats, machine_families, topic_families
from ._options import TelemetryError, TelemetryOptions
from ._recorder import Recorder
from ._server import MetricsServer
from ._store import HistoryStore
from ._stream import EventWriter
from ._watch import LocalTracer, TopicWatcher

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from prometheus_client.core import Metric

log = logging.getLogger(__name__)

TICK = 0.5
"""Seconds between flushes of the event file, polls of rejections and checks for
newly exposed machines."""


class Telemetry:
    """Opens every sink in ``options`` at once; :class:`TelemetryError` (one line) for an
    unwritable path or a port in use, after closing what was opened."""

    def __init__(self, options: TelemetryOptions | None = None, *, peer_id: str = "") -> None:
        self.options = options = options or TelemetryOptions()
        options.validate()
        self.server: MetricsServer | None = None
        self.events: EventWriter | None = None
        self.store: HistoryStore | None = None
        self.provider: TracerProvider | None = None
        try:
            if options.events:
                self.events = EventWriter(options.events)
            if options.history is not None:
                self.store = HistoryStore(
                    options.history, options.history_rows, options.history_age
                )
            if options.otel:
                from ._tracing import configure_otlp

                self.provider = configure_otlp(peer_id)
            if options.metrics:
                self.server = MetricsServer(options.metrics)
        except TelemetryError:
            self.close()
            raise

    def describe(self) -> Iterator[str]:
        """One line per running sink, for the node's start-up output."""
        if self.server is not None:
            yield f"metrics at {self.server.url}"
        if self.events is not None:
            yield f"events to {self.options.events}"
        if self.store is not None:
            yield f"history in {self.store.path}"
        if self.provider is not None:
            yield "traces over OTLP"

    def close(self) -> None:
        """Stop the server, flush and close the files, export pending spans."""
        if self.server is not None:
            self.server.close()
        if self.events is not None:
            self.events.close()
        if self.store is not None:
            self.store.close()
        if self.provider is not None:
            self.provider.shutdown()

    @asynccontextmanager
    async def attach(self, topic: Topic) -> AsyncIterator[None]:
        """Watch ``topic`` (running) and its exposed machines until the block exits."""
        session = _Session(self, topic)
        async with trio.open_nursery() as nursery:
            session.start()
            if session.recorder is not None:
                nursery.start_soon(session.recorder.run)
            nursery.start_soon(session.tick_loop)
            try:
                yield
            finally:
                session.stop()
                nursery.cancel_scope.cancel()


class _Session:
    """What :meth:`Telemetry.attach` hooks into one running Topic."""

    def __init__(self, tel: Telemetry, topic: Topic) -> None:
        self.tel = tel
        self.topic = topic
        self.peer_id = topic.peer_id
        self.stats: dict[str, MachineStats] = {}
        self.latency = Buckets(LATENCY_BUCKETS) if tel.server is not None else None
        self.recorder: Recorder | None = None
        if tel.store is not None:
            self.recorder = Recorder(tel.store, tel.options.history_machines)
        if tel.events is not None:
            tel.events.node = self.peer_id
        self.watcher = TopicWatcher(topic, tel.events, self.recorder, self.latency)
        self._tracers: list[tuple[Machine, Tracer]] = []
        self._seen: set[int] = set()

    def start(self) -> None:
        self.topic.add_observer(self.watcher)
        self.attach_new()
        if self.tel.server is not None:
            self.tel.server.collector.attach(self.families)

    def stop(self) -> None:
        if self.tel.server is not None:
            self.tel.server.collector.attach(None)
        with suppress(ValueError):
            self.topic.remove_observer(self.watcher)
        for mach, tracer in self._tracers:
            with suppress(ValueError):
                mach.remove_tracer(tracer)
        self._tracers.clear()
        self.watcher.poll_rejected()
        if self.tel.events is not None:
            self.tel.events.flush()

    def attach_new(self) -> None:
        """Add tracers to exposed machines not seen yet."""
        for mach in self.topic.exposed():
            if id(mach) in self._seen:
                continue
            self._seen.add(id(mach))
            tracers: list[Tracer] = []
            if self.tel.server is not None:
                self.stats[mach.id] = stats = MachineStats()
                tracers.append(stats)
            if self.tel.events is not None or self.recorder is not None:
                tracers.append(LocalTracer(self.tel.events, self.recorder, self.peer_id))
            if self.tel.provider is not None:
                from ._tracing import OtelTracer

                tracers.append(OtelTracer())
            for t in tracers:
                mach.add_tracer(t)
                self._tracers.append((mach, t))

    async def tick_loop(self) -> None:
        while True:
            await trio.sleep(TICK)
            self.attach_new()
            self.watcher.poll_rejected()
            if self.tel.events is not None:
                self.tel.events.flush()

    def families(self) -> Iterator[Metric]:
        """Every metric family, read on the Trio thread at scrape time."""
        mirrors: list[tuple[str, ReadOnlyMachine]] = [
            (rm.peer_id, rm.mirror)
            for rm in self.topic.remote_machines()
            if isinstance(rm.mirror, ReadOnlyMachine)
        ]
        yield from machine_families(self.topic.exposed(), self.stats, mirrors)
        yield from topic_families(self.topic, self.latency or Buckets(LATENCY_BUCKETS))


__all__ = ["Telemetry", "TelemetryError"]
