"""``asyncmachine dbg`` as a user runs it: bad input fails before the UI, and in a real
terminal (tmux) it shows a tick mutated on one of three ``asyncmachine node`` processes."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
import trio

from tests.helpers import TIMEOUT, ghost_addr
from tests.node.node_helpers import CLI, ROOT, run_node, short

SCREEN_TIMEOUT = 60.0
"""Bound of waiting for text on the screen (nodes and the UI start on a loaded machine)."""


async def run_dbg(*args: str) -> tuple[int, str, str]:
    with trio.fail_after(TIMEOUT):
        r = await trio.run_process(
            [*CLI, "dbg", *args],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
        )
    return r.returncode, r.stdout.decode(), r.stderr.decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bootstrap", "/ip4/127.0.0.1/tcp/1"], "needs /p2p/<peer id>"),
        (["--bootstrap", "not-a-multiaddr"], "bootstrap"),
        ([], "at least one --bootstrap"),
        (["--bootstrap", "ADDR", "--fps", "0"], "must be > 0"),
        (["--bootstrap", "ADDR", "--log-file", "/nonexistent/dbg.log"], "--log-file"),
    ],
)
async def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    args = [ghost_addr() if a == "ADDR" else a for a in args]
    rc, out, err = await run_dbg(*args)
    assert rc == 2, (out, err)
    assert message in err, err
    assert "Traceback" not in err, err
    assert out == ""


async def test_unreachable_bootstrap_is_one_line_and_exit_2() -> None:
    rc, out, err = await run_dbg("--bootstrap", ghost_addr(), "--connect-timeout", "5")
    assert rc == 2, (out, err)
    assert err.startswith("asyncmachine dbg: error: could not reach any bootstrap peer"), err
    assert len(err.strip().splitlines()) == 1, err
    assert out == ""  # the UI never started


class Pane:
    """A tmux session on a private server socket, running one command in a 200x50 pane."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        r = subprocess.run(
            ["tmux", "-u", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=TIMEOUT,
        )
        return r.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "dbg")

    async def wait_for(self, pattern: str, timeout: float = SCREEN_TIMEOUT) -> str:
        """Poll the screen until ``pattern`` shows (a screen has no event to wait on)."""
        rx = re.compile(pattern)
        screen = ""
        with trio.move_on_after(timeout):
            while not rx.search(screen := self.screen()):
                await trio.sleep(0.25)
            return screen
        raise AssertionError(f"{pattern!r} not on screen within {timeout} s:\n{screen}")


@asynccontextmanager
async def tmux_pane(command: list[str], tmp: Path) -> AsyncIterator[Pane]:
    """``command`` in a fresh tmux server (its own socket: other sessions are untouched);
    the pane prints ``EXIT <code>`` when it ends and stays open."""
    pane = Pane(f"am-dbg-test-{os.getpid()}-{tmp.name}")
    # COLUMNS/LINES inherited from a test runner would override the pane's real size
    shell = f"unset COLUMNS LINES; {shlex.join(command)}; echo EXIT $?; sleep {int(TIMEOUT)}"
    pane.tmux("new-session", "-d", "-x", "200", "-y", "50", "-s", "dbg", "-c", str(ROOT), shell)
    try:
        yield pane
    finally:
        subprocess.run(["tmux", "-L", pane.socket, "kill-server"], check=False, timeout=TIMEOUT)


@pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
)
async def test_dbg_in_a_terminal_shows_a_tick_mutated_on_another_node(tmp_path: Path) -> None:
    quiet = ("--demo-interval", "0", "--status-interval", "0")
    async with trio.open_nursery() as nursery, AsyncExitStack() as stack:
        a = await stack.enter_async_context(run_node(nursery, *quiet, name="A"))
        b = await stack.enter_async_context(
            run_node(nursery, *quiet, "--console", "--bootstrap", a.addr, name="B")
        )
        await stack.enter_async_context(run_node(nursery, *quiet, "--bootstrap", a.addr, name="C"))
        mach = f"demo-{short(b.peer_id)}"
        dbg = [*CLI, "dbg", "--bootstrap", a.addr, "--machine", mach]
        pane = await stack.enter_async_context(tmux_pane(dbg, tmp_path))

        await pane.wait_for(f"states of {mach}")
        await pane.wait_for(r"peers 3 \(")
        for _ in range(3):  # Tick is a multi state: 1, 3, 5
            reply = await b.command(f"add {mach} Tick", "add ")
            assert reply.startswith(f"add {mach}: executed"), reply
        await pane.wait_for(r"Tick\s+●\s+5\b")
        # the log pane may be drawn a frame after the states table
        screen = await pane.wait_for(rf"change {mach} @\S+ .*[+~]Tick:5")

        observer = re.search(r"observer \S+…(\w{6})", screen)
        assert observer is not None, screen
        pane.tmux("send-keys", "-t", "dbg", "q")
        await pane.wait_for("EXIT 0")
        await a.wait_line(rf"^peer- \S+{observer.group(1)} \(bye\)")  # quitting said bye
        nursery.cancel_scope.cancel()
