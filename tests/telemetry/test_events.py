"""The event stream of an in-memory topic: every kind of line, each valid."""

from __future__ import annotations

import json
from pathlib import Path

import trio

from asyncmachine import Machine
from asyncmachine.pubsub import MemoryNetwork, open_topic
from asyncmachine.telemetry import EventType, Telemetry, TelemetryOptions
from tests.helpers import TIMEOUT
from tests.pubsub.helpers import FAST, WORKER_SCHEMA, until_event, wait_for
from tests.telemetry.tel_helpers import events


async def test_stream_of_a_topic(net: MemoryNetwork, tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    w1, w2 = Machine(WORKER_SCHEMA, id="w1"), Machine(WORKER_SCHEMA, id="w2")
    tel = Telemetry(TelemetryOptions(events=str(path)))
    try:
        async with (
            net.join("t") as ta,
            open_topic("t", transport=ta, expose=[w1], settings=FAST) as a,
            tel.attach(a),
        ):
            async with (
                net.join("t") as tb,
                open_topic("t", transport=tb, expose=[w2], settings=FAST) as b,
            ):
                await until_event([a], lambda: len(a.remote_machines()) == 1)
                (mirror,) = a.list_machines(id="w2")
                w1.add1("Foo")  # canceled: Foo requires Bar
                w1.add(["Foo", "Bar"])
                w2.add(["Baz"])
                await until_event([a], lambda: mirror.is1("Baz"))
                async with net.join("t") as raw:
                    await raw.publish(b"\xffnot cbor")
                    await wait_for(lambda: sum(a.metrics.rejected.values()) > 0, timeout=30)
                peer_b = b.peer_id
            with trio.fail_after(TIMEOUT):
                await until_event([a], lambda: not a.remote_machines())
    finally:
        tel.close()
    docs = events(path.read_text().splitlines())  # each validates against EVENT_SCHEMA
    by_kind: dict[str, list[dict[str, object]]] = {}
    for d in docs:
        by_kind.setdefault(str(d["kind"]), []).append(d)
    tx = by_kind[EventType.TRANSITION.value]
    assert [(t["called"], t["result"]) for t in tx] == [
        (["Foo"], "canceled"),
        (["Foo", "Bar"], "executed"),
    ]
    assert sorted(tx[1]["added"]) == ["Bar", "Foo"]
    assert tx[1]["clock"] == dict(w1.clock())
    (clock,) = by_kind[EventType.CLOCK.value]
    assert clock["machine"] == "w2" and clock["peer"] == peer_b and clock["added"] == ["Baz"]
    for kind in ("peer_discovered", "machine_added", "machine_removed", "peer_removed"):
        assert [d["peer"] for d in by_kind[kind]] == [peer_b], kind
    assert sum(int(str(d["count"])) for d in by_kind["rejected"]) == sum(
        a.metrics.rejected.values()
    )
    assert all(d["node"] == a.peer_id for d in docs)
    assert json.loads(path.read_text().splitlines()[0])["ts"] > 0
