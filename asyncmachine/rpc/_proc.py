"""Worker OS processes: the parent's handle on one child, and the frames both use.

The child (``python -m asyncmachine.rpc._child module:factory``) imports the factory,
calls it once to get the job function ``fn(input) -> output`` (a plain function or
an ``async def`` run with Trio), says ``ready`` and then answers one job at a time.
Frames on stdin/stdout are a 4-byte big-endian length and a CBOR map; stderr is
inherited. A job function that raises is an answer (``ok: False``), not a crash.
"""

from __future__ import annotations

import importlib
import importlib.util
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import cbor2
import trio

MAX_FRAME = 16 * 1024 * 1024
_LEN = struct.Struct(">I")


class WorkerDiedError(RuntimeError):
    """The worker process exited (killed, crashed) before answering."""


def load_target(target: str) -> Callable[[Any], Any]:
    """``module:factory`` or ``path/file.py:factory`` → the job function the factory
    returns (ValueError naming the problem)."""
    module, sep, attr = target.rpartition(":")
    if not sep or not module or not attr:
        raise ValueError(f"bad worker target {target!r}: want module:factory or file.py:factory")
    try:
        if module.endswith(".py"):
            spec = importlib.util.spec_from_file_location(Path(module).stem, module)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {module}")
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
        else:
            mod = importlib.import_module(module)
        factory = getattr(mod, attr)
    except (ImportError, AttributeError, OSError) as e:
        raise ValueError(f"worker target {target!r}: {e}") from None
    fn = factory()
    if not callable(fn):
        raise ValueError(f"worker target {target!r}: the factory returned {type(fn).__name__}")
    return fn  # type: ignore[no-any-return]


def write_frame(out: BinaryIO, body: dict[str, Any]) -> None:
    data = cbor2.dumps(body)
    out.write(_LEN.pack(len(data)) + data)
    out.flush()


def read_frame(inp: BinaryIO) -> dict[str, Any] | None:
    head = inp.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    (size,) = _LEN.unpack(head)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes")
    body = cbor2.loads(inp.read(size))
    return body if isinstance(body, dict) else None


class WorkerProcess:
    """The parent's handle on one child: :meth:`start`, :meth:`run` jobs, :meth:`wait`."""

    def __init__(self, proc: trio.Process) -> None:
        self.proc = proc
        self.pid = proc.pid
        self._buf = b""
        self._lock = trio.Lock()

    @classmethod
    async def start(cls, target: str, start_timeout: float = 60.0) -> WorkerProcess:
        cmd = [sys.executable, "-m", "asyncmachine.rpc._child", target]
        proc = await trio.lowlevel.open_process(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self = cls(proc)
        try:
            with trio.fail_after(start_timeout):
                hello = await self._recv()
        except BaseException:
            self.kill()
            raise
        if "ready" not in hello:
            self.kill()
            raise WorkerDiedError(f"worker {target} did not start")
        return self

    async def run(self, job: str, value: Any) -> dict[str, Any]:
        """One job: ``{"ok": True, "output": ...}`` or ``{"ok": False, "error": ...}``;
        :class:`WorkerDiedError` when the process goes away first."""
        async with self._lock:
            data = cbor2.dumps({"job": job, "input": value})
            assert self.proc.stdin is not None
            try:
                await self.proc.stdin.send_all(_LEN.pack(len(data)) + data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                raise WorkerDiedError(f"worker {self.pid} is gone") from None
            return await self._recv()

    async def _recv(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            if len(self._buf) >= _LEN.size:
                (size,) = _LEN.unpack(self._buf[: _LEN.size])
                if size > MAX_FRAME:
                    raise WorkerDiedError(f"worker {self.pid} sent a frame of {size} bytes")
                end = _LEN.size + size
                if len(self._buf) >= end:
                    body = cbor2.loads(self._buf[_LEN.size : end])
                    self._buf = self._buf[end:]
                    if not isinstance(body, dict):
                        raise WorkerDiedError(f"worker {self.pid} sent a bad frame")
                    return body
            try:
                chunk = await self.proc.stdout.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                chunk = b""
            if not chunk:
                raise WorkerDiedError(f"worker {self.pid} exited")
            self._buf += chunk

    async def wait(self) -> int:
        return await self.proc.wait()

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()

    async def aclose(self) -> None:
        """Close stdin (the child exits), kill it if it lingers."""
        if self.proc.stdin is not None:
            with trio.CancelScope(shield=True):
                await self.proc.stdin.aclose()
                with trio.move_on_after(2):
                    await self.proc.wait()
        self.kill()
