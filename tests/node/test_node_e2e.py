"""End to end: ``asyncmachine node`` as real subprocesses on 127.0.0.1."""

from __future__ import annotations

import signal
import stat
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import trio

from tests.helpers import ghost_addr
from tests.node.node_helpers import EXAMPLES, run_node, short, spawn, stop

pytestmark = pytest.mark.slow

QUIET = ("--status-interval", "0", "--demo-interval", "0")


async def test_three_nodes_discover_mutate_and_leave() -> None:
    topic = ("--topic", "e2e-three")
    ghost = ghost_addr()
    async with trio.open_nursery() as nursery, AsyncExitStack() as stack:
        a = await stack.enter_async_context(
            run_node(nursery, *QUIET, *topic, "--console", name="A")
        )
        b = await spawn(nursery, *QUIET, *topic, "--console", "--bootstrap", a.addr, name="B")
        stack.push_async_callback(stop, b)
        # C: one reachable and one unreachable bootstrap peer -> starts, redials the other
        c = await spawn(
            nursery,
            *QUIET,
            *topic,
            "--bootstrap",
            ghost,
            "--bootstrap",
            a.addr,
            "--expose",
            str(EXAMPLES / "worker.toml"),
            name="C",
        )
        stack.push_async_callback(stop, c)
        await b.ready()
        await c.ready()
        sa, sb, sc = short(a.peer_id), short(b.peer_id), short(c.peer_id)

        # everyone discovers everyone else's machines
        for node, others in ((a, (b, c)), (b, (a, c)), (c, (a, b))):
            for other in others:
                await node.wait_line(f"^machine\\+ demo-{short(other.peer_id)} ")
        for node in (a, b):
            await node.wait_line(f"^machine\\+ worker-{sc} @{sc}$")

        # a mutation through A's console reaches B's mirror
        reply = await a.command(f"add demo-{sa} Bar Foo", "add ")
        assert reply.startswith(f"add demo-{sa}: executed"), reply
        await b.wait_line(f"^change demo-{sa} @{sa} \\+Bar \\+Foo ")
        line = await b.command(f"inspect demo-{sa}", "inspect ")
        assert "(remote, read-only)" in line and "Foo" in line.split("active=[")[1], line
        assert "Foo:1" in line, line

        # remote machines are read-only in the console
        err = await b.command(f"remove demo-{sa} Foo", "remove ")
        assert err.startswith("error:") and "read-only" in err, err

        # SIGTERM: C says bye and exits 0 (not hanging on its bootstrap retries: wait_exit
        # fails after TIMEOUT); A and B drop its mirrors
        c.terminate()
        assert await c.wait_exit() == 0, c.stderr.decode()
        assert b"retrying in the background" in c.stderr, c.stderr.decode()
        assert b"Traceback" not in c.stderr, c.stderr.decode()
        for node in (a, b):
            await node.wait_line(f"^machine- worker-{sc} @{sc} ")
            await node.wait_line(f"^peer- {c.peer_id} ")
            listing = await node.list_machines()
            assert not any(sc in s for s in listing), listing
            assert any(f"remote demo-{sa if node is b else sb}" in s for s in listing), listing

        # Ctrl-C on B, `quit` on A: both exit 0
        b.proc.send_signal(signal.SIGINT)
        assert await b.wait_exit() == 0, b.stderr.decode()
        await a.wait_line(f"^peer- {b.peer_id} ")
        await a.send("quit")
        assert await a.wait_exit() == 0, a.stderr.decode()
        for node in (a, b, c):
            assert b"Traceback" not in node.stderr, node.stderr.decode()


async def test_peer_id_is_stable_with_a_key_file(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "node.key"
    ids: list[str] = []
    async with trio.open_nursery() as nursery:
        for _ in range(2):
            async with run_node(nursery, *QUIET, "--no-demo", "--key", str(key)) as n:
                ids.append(n.peer_id)
                n.terminate()
                assert await n.wait_exit() == 0, n.stderr.decode()
            if len(ids) == 1:
                first = key.read_bytes()
                assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.read_bytes() == first
    assert ids[0] == ids[1]
    assert ids[0].startswith("12D3KooW")
