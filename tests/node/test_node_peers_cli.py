"""Restart without the bootstrap peer: real ``asyncmachine node`` processes on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import trio

from asyncmachine.pubsub.libp2p import load_or_create_key, peer_id_of
from tests.node.node_helpers import run_node, short, spawn, stop

pytestmark = pytest.mark.slow

QUIET = ("--status-interval", "0", "--demo-interval", "0", "--topic", "peers-cli")
GHOST_ID = "12D3KooWQN3MxfnYadkVntb37WFXbnjy68zYNmSAEn7bn3J5YUjs"
"""A valid peer id nobody runs."""
CONNECTED = r"^status peers=\d+ connected={} "


def closed_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening (free for a node to listen on)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_restart_rejoins_from_saved_peers(tmp_path: Path) -> None:
    port = closed_port()
    a_args = (
        *QUIET,
        "--status-interval",
        "0.5",
        "--key",
        str(tmp_path / "a.key"),
        "--listen",
        f"/ip4/127.0.0.1/tcp/{port}",
    )
    b_args = (*QUIET, "--key", str(tmp_path / "b.key"), "--data-dir", str(tmp_path / "b-data"))
    async with trio.open_nursery() as nursery, AsyncExitStack() as stack:
        a = await stack.enter_async_context(run_node(nursery, *a_args, name="A"))
        demo_a = f"^machine\\+ demo-{short(a.peer_id)} "

        # 1. B joins through A, then stops: A is in its saved peers
        b = await spawn(nursery, *b_args, "--bootstrap", a.addr, name="B1")
        stack.push_async_callback(stop, b)
        await b.ready()
        await b.wait_line(demo_a, timeout=30)
        b.terminate()
        assert await b.wait_exit(timeout=15) == 0, b.stderr.decode()
        saved = json.loads((tmp_path / "b-data" / f"{b.peer_id}.peers.json").read_text())
        assert [p["id"] for p in saved["peers"]] == [a.peer_id]
        assert saved["peers"][0]["addrs"] == [f"/ip4/127.0.0.1/tcp/{port}"]
        epoch1 = int((tmp_path / "b-data" / f"{b.peer_id}.epoch").read_text())

        line = await a.wait_line(CONNECTED.format(0), start=len(a.lines), timeout=15)
        start_a = a.lines.index(line)

        # 2. restarted with no --bootstrap at all: B dials its saved peers, is connected to
        # A again and its machines reach A within seconds (a fresh connection clears the
        # GRAFT backoff B's clean leave left on A: it used to take about a minute)
        demo_b = f"^machine\\+ demo-{short(b.peer_id)} "
        b2 = await spawn(nursery, *b_args, "--status-interval", "0.5", name="B2")
        stack.push_async_callback(stop, b2)
        await b2.ready()
        assert b2.peer_id == b.peer_id
        await b2.wait_line(CONNECTED.format(1), timeout=15)
        await a.wait_line(CONNECTED.format(1), start=start_a, timeout=15)
        await a.wait_line(demo_b, start=start_a, timeout=5)
        assert int((tmp_path / "b-data" / f"{b.peer_id}.epoch").read_text()) > epoch1
        b2.terminate()
        assert await b2.wait_exit(timeout=15) == 0, b2.stderr.decode()

        # 3. the same saved peers for identities new to A (no backoff): machines both ways,
        # with no bootstrap flag (C) and with a bootstrap peer that is gone (D: one warning)
        ghost = f"/ip4/127.0.0.1/tcp/{closed_port()}/p2p/{GHOST_ID}"
        for name, extra in (("C", ()), ("D", ("--bootstrap", ghost))):
            key = tmp_path / f"{name}.key"
            pid = peer_id_of(load_or_create_key(key))
            (tmp_path / f"{pid}.peers.json").write_text(json.dumps(saved))
            start_a = len(a.lines)
            n = await spawn(nursery, *QUIET, "--key", str(key), *extra, name=name)
            stack.push_async_callback(stop, n)
            await n.ready()
            await n.wait_line(demo_a, timeout=30)
            await a.wait_line(f"^machine\\+ demo-{short(pid)} ", start=start_a, timeout=30)
            n.terminate()
            assert await n.wait_exit(timeout=15) == 0, n.stderr.decode()
            warnings = re.findall(r"no bootstrap peer answered.*", n.stderr.decode())
            assert len(warnings) == len(extra) // 2, n.stderr.decode()
        nursery.cancel_scope.cancel()


async def test_unreachable_bootstrap_and_no_saved_peers_still_exits_2(tmp_path: Path) -> None:
    ghost = f"/ip4/127.0.0.1/tcp/{closed_port()}/p2p/{GHOST_ID}"
    async with trio.open_nursery() as nursery:
        n = await spawn(
            nursery, *QUIET, "--key", str(tmp_path / "n.key"), "--bootstrap", ghost, name="N"
        )
        try:
            assert await n.wait_exit(timeout=30) == 2
        finally:
            await stop(n)
        await trio.sleep(0)  # let the readers drain
        assert "could not reach any bootstrap peer" in n.stderr.decode()
        nursery.cancel_scope.cancel()


async def test_quick_restart_after_a_crash_is_seen_within_seconds(tmp_path: Path) -> None:
    """kill -9, restart with the same key 1 s later: A sees the new session's machine
    within 5 s (measured from the restarted node listening)."""
    key = ("--key", str(tmp_path / "b.key"))
    async with trio.open_nursery() as nursery, AsyncExitStack() as stack:
        a = await stack.enter_async_context(run_node(nursery, *QUIET, name="A"))
        b = await spawn(nursery, *QUIET, *key, "--bootstrap", a.addr, name="B1")
        stack.push_async_callback(stop, b)
        await b.ready()
        demo_b = f"^machine\\+ demo-{short(b.peer_id)} "
        await a.wait_line(demo_b, timeout=30)
        b.proc.kill()  # no bye: A still holds B's mirror and connection state
        await b.wait_exit()
        await trio.sleep(1.0)  # the scenario: a restart one second after the crash
        start = len(a.lines)
        b2 = await spawn(nursery, *QUIET, *key, "--bootstrap", a.addr, name="B2")
        stack.push_async_callback(stop, b2)
        await b2.ready()
        assert b2.peer_id == b.peer_id
        await a.wait_line(demo_b, start=start, timeout=5)
