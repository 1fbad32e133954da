"""``asyncmachine node --metrics/--events/--history`` as real processes on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

import pytest
import trio

from asyncmachine.pubsub.libp2p import open_libp2p_transport
from asyncmachine.telemetry import History, dashboard, queried_metrics
from tests.helpers import TIMEOUT
from tests.node.node_helpers import NodeProc, run_node, run_once, short, spawn, stop
from tests.telemetry.tel_helpers import events, scrape, scrape_names, value

pytestmark = pytest.mark.slow

QUIET = ("--status-interval", "0", "--demo-interval", "0")


async def metrics_url(node: NodeProc) -> str:
    line = await node.wait_line(r" metrics at http://")
    m = re.search(r"metrics at (http://\S+)$", line)
    assert m is not None
    return m.group(1)


async def test_scrape_moves_with_mutations_and_malformed_messages() -> None:
    topic = "tel-metrics"
    async with trio.open_nursery() as nursery, AsyncExitStack() as stack:
        a = await stack.enter_async_context(
            run_node(nursery, *QUIET, "--topic", topic, "--console", "--metrics", "127.0.0.1:0")
        )
        url = await metrics_url(a)
        demo = f"demo-{short(a.peer_id)}"
        tx = "asyncmachine_transitions_total"
        before = await scrape(url)
        reply = await a.command(f"add {demo} Bar", "add ")
        assert reply.startswith(f"add {demo}: executed"), reply
        after = await scrape(url)
        assert value(after, tx, machine=demo, result="executed") == (
            value(before, tx, machine=demo, result="executed") + 1
        )
        assert value(after, "asyncmachine_state_active", machine=demo, state="Bar") == 1
        # every metric the shipped dashboard queries exists on a libp2p node
        names = await scrape_names(url)
        assert queried_metrics(dashboard()) - names == set()

        # a peer publishing garbage: the rejected counter moves
        rejected = "asyncmachine_topic_rejected_total"
        assert value(after, rejected) == 0
        async with open_libp2p_transport(topic, bootstrap=[a.addr]) as rogue:
            with trio.fail_after(TIMEOUT):
                while value(await scrape(url), rejected) == 0:
                    if rogue.topic_peers():  # gossipsub knows A is subscribed
                        await rogue.publish(b"\xffnot cbor")
                    await trio.sleep(0.2)
        s = await scrape(url)
        reasons = {dict(ls)["reason"] for (n, ls), v in s.items() if n == rejected and v}
        assert reasons, s


async def test_three_nodes_events_show_remote_mutations(tmp_path: Path) -> None:
    topic = ("--topic", "tel-events")
    db = tmp_path / "a.db"
    async with trio.open_nursery() as nursery, AsyncExitStack() as stack:
        a = await stack.enter_async_context(
            run_node(
                nursery,
                *QUIET,
                *topic,
                "--console",
                "--events",
                "-",
                "--history",
                str(db),
                name="A",
            )
        )
        others = []
        for name in ("B", "C"):
            n = await spawn(nursery, *QUIET, *topic, "--console", "--bootstrap", a.addr, name=name)
            stack.push_async_callback(stop, n)
            others.append(n)
        for n in others:
            await n.ready()
            mid = f"demo-{short(n.peer_id)}"
            await a.wait_line(f'"kind":"machine_added","machine":"{mid}"')
        for n, states in zip(others, (["Bar", "Foo"], ["Bar"]), strict=True):
            mid = f"demo-{short(n.peer_id)}"
            reply = await n.command(f"add {mid} {' '.join(states)}", "add ")
            assert reply.startswith(f"add {mid}: executed"), reply
        for n, states in zip(others, (["Bar", "Foo"], ["Bar"]), strict=True):
            mid = f"demo-{short(n.peer_id)}"

            def added(line: str, mid: str = mid, states: list[str] = states) -> bool:
                if '"kind":"clock"' not in line:
                    return False
                doc = json.loads(line)
                return doc["machine"] == mid and sorted(doc["added"]) == states

            line = await a.wait_line(added)
            assert json.loads(line)["peer"] == n.peer_id
        await a.command(f"add demo-{short(a.peer_id)} Bar", "add ")
        own = await a.wait_line('"kind":"transition"')
        a.terminate()
        rc = await a.wait_exit()
        assert rc == 0, a.stderr.decode()
    docs = events(a.lines)  # every JSON line validates against EVENT_SCHEMA
    kinds = {d["kind"] for d in docs}
    assert {"peer_discovered", "machine_added", "clock", "transition"} <= kinds
    assert json.loads(own)["node"] == a.peer_id
    with History(db) as h:  # A's history holds the others' mutations too
        for n in others:
            act = h.last_active(f"demo-{short(n.peer_id)}", "Bar")
            assert act is not None and act.deactivated_at is None


@contextmanager
def otlp_receiver(got: trio.Event, needle: bytes) -> Iterator[str]:
    """A local OTLP/HTTP endpoint; sets ``got`` once a trace export contains ``needle``."""
    token = trio.lowlevel.current_trio_token()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()
            if self.path == "/v1/traces" and needle in body:
                trio.from_thread.run_sync(got.set, trio_token=token)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_otel_exports_transition_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    got = trio.Event()
    with otlp_receiver(got, b"add Bar") as endpoint:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        async with trio.open_nursery() as nursery, AsyncExitStack() as stack:
            a = await stack.enter_async_context(
                run_node(nursery, *QUIET, "--topic", "tel-otel", "--console", "--otel")
            )
            await a.wait_line("traces over OTLP$")
            reply = await a.command(f"add demo-{short(a.peer_id)} Bar", "add ")
            assert "executed" in reply, reply
            with trio.fail_after(TIMEOUT):
                await got.wait()
            a.terminate()
            assert await a.wait_exit() == 0, a.stderr.decode()


def _held_port() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--history", "/nonexistent-dir/h.db"), "cannot use history database"),
        (("--events", "/nonexistent-dir/ev.jsonl"), "cannot write --events file"),
        (("--metrics", "localhost"), "bad --metrics address"),
        (("--metrics", "PORT"), "cannot serve --metrics on"),
    ],
)
async def test_bad_telemetry_input_is_one_line_exit_2(args: tuple[str, ...], message: str) -> None:
    with _held_port() as held:
        port = held.getsockname()[1]
        argv = [a.replace("PORT", f"127.0.0.1:{port}") for a in args]
        rc, out, err = await run_once([*QUIET, *argv])
    assert rc == 2, (out, err)
    assert err.count("\n") == 1 and message in err, err
    assert err.startswith("asyncmachine node: error: ")
