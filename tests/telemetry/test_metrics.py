"""Prometheus metrics of a Topic and its machines (in memory), and the Grafana file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from trio.testing import MockClock

from asyncmachine import Machine
from asyncmachine.pubsub import EventKind, MemoryNetwork, TopicEvent
from asyncmachine.telemetry import METRICS, Telemetry, TelemetryOptions, dashboard_json
from tests.pubsub.helpers import WORKER_SCHEMA, memory_topics, until_event, wait_for
from tests.telemetry.tel_helpers import scrape, scrape_names, value

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "docs" / "grafana" / "asyncmachine.json"


async def test_scrape_reads_machines_and_topic(net: MemoryNetwork) -> None:
    w1, w2 = Machine(WORKER_SCHEMA, id="w1"), Machine(WORKER_SCHEMA, id="w2")
    tel = Telemetry(TelemetryOptions(metrics="127.0.0.1:0"))
    assert tel.server is not None
    url = tel.server.url
    try:
        async with memory_topics(net, [[w1], [w2]]) as (a, b), tel.attach(a):
            await until_event([a], lambda: len(a.remote_machines()) == 1)
            w1.add1("Foo")  # canceled: Foo requires Bar
            w1.add(["Foo", "Bar"])
            w2.add1("Bar")
            (mirror,) = a.list_machines(id="w2")
            await until_event([a], lambda: mirror.is1("Bar"))
            async with net.join("t") as raw:  # a peer sending garbage
                await raw.publish(b"\xffnot cbor")
                await wait_for(lambda: sum(a.metrics.rejected.values()) > 0, timeout=30)
            s = await scrape(url)
            names = await scrape_names(url)
            received = dict(a.metrics.received_by_type)
    finally:
        tel.close()
    tx = "asyncmachine_transitions_total"
    assert value(s, tx, machine="w1", result="executed") == 1
    assert value(s, tx, machine="w1", result="canceled") == 1
    assert value(s, "asyncmachine_state_active", machine="w1", state="Foo") == 1
    assert value(s, "asyncmachine_state_active", machine="w2", peer=b.peer_id, state="Bar") == 1
    assert value(s, "asyncmachine_state_tick", machine="w1", state="Foo") == 1
    assert value(s, "asyncmachine_topic_mirrors", topic="t") == 1
    assert value(s, "asyncmachine_topic_peers", kind="known") == 1
    assert value(s, "asyncmachine_topic_rejected_total") >= 1
    (reason,) = {dict(ls)["reason"] for (n, ls) in s if n == "asyncmachine_topic_rejected_total"}
    assert reason == next(iter(a.metrics.rejected))
    for kind, count in received.items():
        assert value(s, "asyncmachine_topic_messages_received_total", type=kind) == count
    assert value(s, "asyncmachine_topic_sync_latency_seconds_count") >= 1
    # every metric but the libp2p transport's (in memory here) is present
    missing = [m.sample for m in METRICS if m.row != "libp2p" and m.sample not in names]
    assert missing == []


async def test_sync_latency_is_the_age_of_a_clock_change(autojump_clock: MockClock) -> None:
    """A mirror clock change delivered a fixed delay after its owner stamped it records
    one observation: the event's age when it was applied, at least that delay (virtual
    time: under MockClock the owner's stamp and the receiver's wall clock both follow
    Trio's clock, so there is no skew). The age is compared with what an observer of the
    same event saw rather than with the delay alone: a change may also arrive a little
    later in an answer or a repair, and the metric must record that as it happened."""
    delay = 0.25
    hist = "asyncmachine_topic_sync_latency_seconds"
    w1, w2 = Machine(WORKER_SCHEMA, id="w1"), Machine(WORKER_SCHEMA, id="w2")
    tel = Telemetry(TelemetryOptions(metrics="127.0.0.1:0"))
    assert tel.server is not None
    try:
        async with (
            MemoryNetwork(delay=lambda author, receiver, data: delay) as net,
            memory_topics(net, [[w1], [w2]]) as (a, _b),
            tel.attach(a),
        ):
            await until_event([a], lambda: len(a.remote_machines()) == 1)
            (mirror,) = a.list_machines(id="w2")
            await until_event([a], lambda: list(mirror.time()) == list(w2.time()))
            seen: list[float] = []
            a.add_observer(
                lambda ev: (
                    seen.append(ev.age() or 0.0) if ev.kind is EventKind.CLOCK_UPDATED else None
                )
            )
            before = await scrape(tel.server.url)
            w2.add1("Bar")
            await until_event([a], lambda: mirror.is1("Bar"))
            after = await scrape(tel.server.url)
    finally:
        tel.close()
    count = value(after, hist + "_count") - value(before, hist + "_count")
    total = value(after, hist + "_sum") - value(before, hist + "_sum")
    assert count == 1
    assert len(seen) == 1 and seen[0] >= delay - 0.001  # stamps are whole milliseconds
    assert total == pytest.approx(seen[0], abs=0.001)
    for le, n in (("0.1", 0), ("0.5", 1)):
        assert value(after, hist + "_bucket", le=le) - value(before, hist + "_bucket", le=le) == n


def test_event_age_is_none_without_a_stamp() -> None:
    """Only clock changes carry the owner's stamp; outside Trio the age uses time.time()."""
    assert TopicEvent(EventKind.PEER_JOINED, "p", 0.0).age() is None
    stamp = int(time.time() * 1000) - 1500
    ev = TopicEvent(EventKind.CLOCK_UPDATED, "p", 0.0, "m", 0, (1,), stamp_ms=stamp)
    age = ev.age()
    assert age is not None and 1.4 < age < 60


async def test_detached_server_serves_nothing(net: MemoryNetwork) -> None:
    tel = Telemetry(TelemetryOptions(metrics="127.0.0.1:0"))
    assert tel.server is not None
    try:
        async with memory_topics(net, [[]]) as (a,):
            async with tel.attach(a):
                assert await scrape(tel.server.url)
            assert await scrape(tel.server.url) == {}
    finally:
        tel.close()


def test_shipped_dashboard_is_generated() -> None:
    """``python -m asyncmachine.telemetry.grafana > docs/grafana/asyncmachine.json``"""
    assert DASHBOARD.read_text() == dashboard_json()
