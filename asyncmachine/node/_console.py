"""A small line console for a running node, read from stdin inside Trio.

Commands (machine ids match exactly, else by a unique substring)::

    add M S...      activate states of a local machine
    remove M S...   deactivate states of a local machine
    set M S...      make exactly these states active
    list            local and remote machines with their active states
    inspect M       a machine's clock and active states (local or remote)
    peers           known peers
    help            this text
    quit            stop the node (like Ctrl-C)

Mutations of remote machines go to their owner over rpc (``add M S [key=value ...]``),
executed where its node allows this peer (``--allow``), else refused with a message.
Every reply line starts with the command's keyword or ``error:``.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable

import trio

from asyncmachine.machine import AsyncMachineError, Machine, ReadOnlyMachine

from ._config import short_id
from ._node import Node

Write = Callable[[str], None]

HELP = """\
help: add M S...      activate states S of local machine M
help: remove M S...   deactivate states S of local machine M
help: set M S...      make exactly S active on local machine M
help: list            local and remote machines (remote ones are read-only)
help: inspect M       clock and active states of machine M
help: peers           known peers
help: quit            stop the node"""

MUTATIONS = ("add", "remove", "set")
PROMPT = "am> "
"""Shown before each command when stdin is a terminal (``NodeConsole(prompt=...)``)."""


class NodeConsole:
    """Parses and runs console commands against a :class:`Node`; ``prompt`` (e.g.
    :data:`PROMPT`, for a terminal) is written without a newline while it waits for a line."""

    def __init__(
        self, node: Node, write: Write, on_quit: Callable[[], None], *, prompt: str = ""
    ) -> None:
        self.node = node
        self.write = write
        self.on_quit = on_quit
        self.prompt = prompt

    # --- commands ------------------------------------------------------------

    def execute(self, line: str) -> list[str]:
        """Run one command line; returns the reply lines (also for errors)."""
        try:
            words = shlex.split(line)
        except ValueError as e:
            return [f"error: {e}"]
        if not words:
            return []
        cmd, args = words[0].lower(), words[1:]
        if cmd in MUTATIONS:
            return self.mutate(cmd, args)
        if cmd in ("list", "ls"):
            return self.list_machines()
        if cmd == "inspect":
            if len(args) != 1:
                return ["error: usage: inspect MACHINE"]
            return self.inspect(args[0])
        if cmd == "peers":
            return self.peers()
        if cmd in ("help", "?"):
            return HELP.splitlines()
        if cmd in ("quit", "exit"):
            self.on_quit()
            return ["quit: stopping the node"]
        return [f"error: unknown command {cmd!r} (try 'help')"]

    def _find_local(self, ref: str) -> list[Machine]:
        machs = self.node.machines()
        exact = [m for m in machs if m.id == ref]
        return exact or [m for m in machs if ref in m.id]

    def _find_remote(self, ref: str) -> list[tuple[str, ReadOnlyMachine]]:
        exact = self.node.remote_owners(id=ref)
        return exact or self.node.remote_owners(id_partial=ref)

    def mutate(self, cmd: str, args: list[str]) -> list[str]:
        """``add``/``remove``/``set`` on a local machine; remote ones are refused."""
        if len(args) < (1 if cmd == "set" else 2):
            return [f"error: usage: {cmd} MACHINE STATE..."]
        ref, states = args[0], args[1:]
        local = self._find_local(ref)
        if not local:
            remote = self._find_remote(ref)
            if remote:
                pid, mirror = remote[0]
                return [
                    f"error: {mirror.id} is a remote machine of peer {short_id(pid)}: "
                    f"read-only here, mutate it on its own node"
                ]
            return [f"error: no machine {ref!r} (try 'list')"]
        if len(local) > 1:
            return [f"error: {ref!r} matches {', '.join(m.id for m in local)}; be exact"]
        mach = local[0]
        try:
            fn = {"add": mach.add, "remove": mach.remove, "set": mach.set}[cmd]
            res = fn(states)
        except (AsyncMachineError, LookupError, ValueError, TypeError) as e:
            return [f"error: {e}"]
        return [f"{cmd} {mach.id}: {res} {mach.string()}"]

    def list_machines(self) -> list[str]:
        """``list: N local, M remote`` then one line per machine."""
        local = self.node.machines()
        remote = self.node.remote_owners()
        out = [f"list: {len(local)} local, {len(remote)} remote"]
        out += [f"list: local {m.id} {m.string()}" for m in local]
        out += [
            f"list: remote {m.id} @{short_id(pid)} {m.string()} (read-only)" for pid, m in remote
        ]
        return out

    def inspect(self, ref: str) -> list[str]:
        """Clock and active states of every machine matching ``ref``."""
        out: list[str] = []
        found: list[tuple[str, Machine | ReadOnlyMachine, str]] = [
            ("self", m, "local") for m in self._find_local(ref)
        ]
        found += [(short_id(pid), m, "remote, read-only") for pid, m in self._find_remote(ref)]
        if not found:
            return [f"error: no machine {ref!r} (try 'list')"]
        for where, m, kind in found:
            clock = " ".join(f"{n}:{t}" for n, t in m.clock().items())
            active = " ".join(s for s in m.state_names() if m.is1(s))  # schema order, as list
            out.append(
                f"inspect {m.id} @{where} ({kind}) tick={sum(m.time())} "
                f"active=[{active}] clock=[{clock}]"
            )
        return out

    def peers(self) -> list[str]:
        """``peers: N known`` then one line per peer."""
        known = sorted(self.node.peers())
        connected = self.node.connected_peers()
        out = [f"peers: {len(known)} known, {len(connected)} connected"]
        out += [f"peers: {p}{' (connected)' if p in connected else ''}" for p in known]
        return out

    # --- input loop ----------------------------------------------------------

    async def run(self, lines: trio.abc.ReceiveStream | None = None) -> None:
        """Execute lines from ``lines`` (default: stdin) until EOF or cancellation."""
        if lines is not None:
            await self._loop(lines)
            return
        stream = open_stdin()
        try:
            await self._loop(stream)
        finally:
            await stream.aclose()

    async def _loop(self, stream: trio.abc.ReceiveStream) -> None:
        buf = b""
        while True:
            if self.prompt and b"\n" not in buf:
                sys.stdout.write(self.prompt)
                sys.stdout.flush()
            chunk = await stream.receive_some(4096)
            if not chunk:
                if buf.strip():
                    await self._run_line(buf)
                return
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                await self._run_line(raw)

    async def execute_async(self, line: str) -> list[str]:
        """Like :meth:`execute`, but ``add``/``remove``/``set`` on a remote machine go
        to its owner over rpc (``[key=value ...]`` are args), allowed if it allows."""
        words = line.split()
        mutation = len(words) > 1 and words[0].lower() in MUTATIONS
        found = self._find_remote(words[1]) if mutation and not self._find_local(words[1]) else []
        if not found:
            return self.execute(line)
        from asyncmachine.rpc import remote_command

        pid, mirror = found[0]
        return await remote_command(self.node.topic, pid, mirror.id, words[0].lower(), words[2:])

    async def _run_line(self, raw: bytes) -> None:
        for reply in await self.execute_async(raw.decode("utf-8", "replace")):
            self.write(reply)


def open_stdin() -> trio.abc.ReceiveStream:
    """A Trio stream on a duplicate of stdin (trio restores its blocking mode on close)."""
    return trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))


__all__ = ["HELP", "PROMPT", "NodeConsole", "open_stdin"]
