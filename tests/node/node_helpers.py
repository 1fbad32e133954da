"""Run ``asyncmachine node`` as a real subprocess and wait for its output lines."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from tests.helpers import TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
_SCRIPT = Path(sys.executable).parent / "asyncmachine"
CLI: list[str] = (
    [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [sys.executable, "-c", "import sys; from asyncmachine.cli import main; sys.exit(main())"]
)
LISTENING = re.compile(r"^peer (\S+) listening on (\S+)$")


def node_cmd(*args: str) -> list[str]:
    """The command line of ``asyncmachine node ARGS``."""
    return [*CLI, "node", *args]


class NodeProc:
    """A running ``asyncmachine node``: collects stdout lines, writes console commands."""

    def __init__(self, proc: trio.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.lines: list[str] = []
        self.stderr = b""
        self._changed = trio.Event()
        self.peer_id = ""
        self.addr = ""

    async def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        buf = b""
        async for chunk in self.proc.stdout:
            buf += chunk
            *done, buf = buf.split(b"\n")
            for raw in done:
                self.lines.append(raw.decode("utf-8", "replace"))
            if done:
                self._changed.set()
                self._changed = trio.Event()
        self._changed.set()

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        async for chunk in self.proc.stderr:
            self.stderr += chunk

    async def ready(self) -> None:
        """Wait for the first ``peer <id> listening on <addr>`` line; sets peer_id, addr."""
        line = await self.wait_line(lambda s: LISTENING.search(s) is not None, timeout=TIMEOUT)
        m = LISTENING.search(line)
        assert m is not None
        self.peer_id, self.addr = m.group(1), m.group(2)

    async def wait_line(
        self, match: Callable[[str], bool] | str, *, start: int = 0, timeout: float = TIMEOUT
    ) -> str:
        """The first line from index ``start`` on that matches (a predicate or a regex)."""
        rx = None if callable(match) else re.compile(match)
        pred = match if callable(match) else lambda s: rx is not None and bool(rx.search(s))
        i = start
        with trio.fail_after(timeout):
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i]):
                        return self.lines[i]
                    i += 1
                if self.proc.returncode is not None and i >= len(self.lines):
                    await trio.sleep(0)  # let the reader drain
                    if i >= len(self.lines):
                        raise AssertionError(
                            f"{self.name} exited ({self.proc.returncode}) without {match!r};"
                            f"\nstdout: {self.lines}\nstderr: {self.stderr.decode()}"
                        )
                await self._changed.wait()

    async def command(self, line: str, reply: str, *, timeout: float = TIMEOUT) -> str:
        """Send a console command; returns its first reply line (``reply...`` or ``error:``)."""
        start = len(self.lines)
        await self.send(line)
        return await self.wait_line(
            lambda s: s.startswith((reply, "error:")), start=start, timeout=timeout
        )

    async def list_machines(self, *, timeout: float = TIMEOUT) -> list[str]:
        """The console's ``list`` reply: the header and one line per machine."""
        start = len(self.lines)
        await self.send("list")
        head = await self.wait_line("^list: \\d+ local, \\d+ remote$", start=start, timeout=timeout)
        m = re.search(r"(\d+) local, (\d+) remote", head)
        assert m is not None
        want = 1 + int(m.group(1)) + int(m.group(2))
        i = self.lines.index(head, start)
        with trio.fail_after(timeout):
            while len([s for s in self.lines[i:] if s.startswith("list: ")]) < want:
                await self._changed.wait()
        return [s for s in self.lines[i:] if s.startswith("list: ")][:want]

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        await self.proc.stdin.send_all((line + "\n").encode())

    def terminate(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)

    async def wait_exit(self, timeout: float = TIMEOUT) -> int:
        with trio.fail_after(timeout):
            return await self.proc.wait()


async def spawn(
    nursery: trio.Nursery, *args: str, name: str = "node", cwd: Path | None = None
) -> NodeProc:
    """Start ``asyncmachine node ARGS`` (not waiting for it); see :meth:`NodeProc.ready`."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = await trio.lowlevel.open_process(
        node_cmd(*args),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd or ROOT,
    )
    node = NodeProc(proc, name)
    nursery.start_soon(node._read_stdout)
    nursery.start_soon(node._read_stderr)
    return node


async def stop(node: NodeProc) -> None:
    """Kill the node if it still runs and reap it (cleanup, shielded)."""
    if node.proc.returncode is None:
        node.proc.kill()
    with trio.CancelScope(shield=True), trio.move_on_after(5):
        await node.proc.wait()


@asynccontextmanager
async def run_node(
    nursery: trio.Nursery, *args: str, name: str = "node", cwd: Path | None = None
) -> AsyncIterator[NodeProc]:
    """Start a node, wait for its listen line, kill it on exit if it still runs."""
    node = await spawn(nursery, *args, name=name, cwd=cwd)
    try:
        await node.ready()
        yield node
    finally:
        await stop(node)


async def run_once(args: Sequence[str], timeout: float = TIMEOUT) -> tuple[int, str, str]:
    """Run ``asyncmachine node ARGS`` to completion: (exit code, stdout, stderr)."""
    with trio.fail_after(timeout):
        r = await trio.run_process(
            node_cmd(*args),
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
        )
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def short(peer_id: str) -> str:
    return peer_id[-6:]
