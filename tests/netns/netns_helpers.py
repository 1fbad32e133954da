"""A private virtual network of Linux network namespaces, and ``asyncmachine node``
processes running inside it.

Layout (every name below lives inside a namespace the test created, so nothing touches the
host's interfaces and no packet leaves the test; parallel runs differ in their namespace
names only, and may use the same addresses)::

    namespace <tag>-sw:   br0 ---- up0 <-veth-> up1 ---- br1
                           |  \\                          |  \\
                          p1  p2 ...                    p5  p6 ...     (veth ends)
    namespace <tag>-n1:  eth0 10.77.0.11/24
    namespace <tag>-n2:  eth0 10.77.0.12/24 ...

Nodes of the first half hang on ``br0``, the others on ``br1``; the ``up0``/``up1`` veth
joins the two bridges. :meth:`VirtualNet.partition` sets ``up0`` down (two halves that
still reach each other inside), :meth:`VirtualNet.cut` one node's port.

``<tag>`` is ``amtest<pid>x<random>``: :func:`clean_stale` removes namespaces (and kills
their processes) left by runs whose process is gone, never those of a live run.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field

import trio

from tests.node.node_helpers import CLI, ROOT, NodeProc

PREFIX = "amtest"
SUBNET = "10.77.0"
"""The /24 of the node addresses: node i is ``10.77.0.(10 + i)``."""
PORT = 4001
_TAG = re.compile(rf"^{PREFIX}(\d+)x[0-9a-f]+-")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", *args], capture_output=True, text=True, check=check, stdin=subprocess.DEVNULL
    )


def netns_unavailable() -> str | None:
    """Why namespaces cannot be used here (None when they can): tried for real."""
    if shutil.which("ip") is None:
        return "the 'ip' command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs these tests as root)"
    probe = f"{PREFIX}{os.getpid()}x0-probe"
    r = _ip("netns", "add", probe, check=False)
    if r.returncode != 0:
        return f"'ip netns add' failed: {r.stderr.strip() or r.returncode}"
    _ip("netns", "del", probe, check=False)
    return None


def list_netns() -> list[str]:
    """Names of all named network namespaces."""
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def delete_netns(name: str) -> None:
    """Kill every process inside namespace ``name`` (SIGKILL), then delete it (its veth
    ends go with it)."""
    pids = _ip("netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    _ip("netns", "del", name, check=False)


def clean_stale() -> list[str]:
    """Delete the namespaces of earlier runs whose process is gone; returns their names."""
    stale = []
    for name in list_netns():
        m = _TAG.match(name)
        if m is not None and not _alive(int(m.group(1))):
            delete_netns(name)
            stale.append(name)
    return stale


@dataclass
class VirtualNet:
    """``size`` namespaces on two bridges in a switch namespace (see the module doc)."""

    size: int
    tag: str = field(default_factory=lambda: f"{PREFIX}{os.getpid()}x{secrets.token_hex(3)}")
    created: list[str] = field(default_factory=list)

    @property
    def switch(self) -> str:
        return f"{self.tag}-sw"

    def ns(self, i: int) -> str:
        """The namespace of node ``i`` (1-based)."""
        return f"{self.tag}-n{i}"

    def ip(self, i: int) -> str:
        return f"{SUBNET}.{10 + i}"

    def half(self, i: int) -> int:
        """0 for the first half of the nodes (on br0), 1 for the others (on br1)."""
        return 0 if i <= (self.size + 1) // 2 else 1

    def listen(self, i: int) -> str:
        return f"/ip4/{self.ip(i)}/tcp/{PORT}"

    def build(self) -> None:
        """Create the namespaces, bridges and veths (raises CalledProcessError)."""
        sw = self.switch
        self._add_ns(sw)
        for br in ("br0", "br1"):
            _ip("-n", sw, "link", "add", br, "type", "bridge", "forward_delay", "0")
            _ip("-n", sw, "link", "set", br, "up")
        _ip("-n", sw, "link", "add", "up0", "type", "veth", "peer", "name", "up1")
        for end, br in (("up0", "br0"), ("up1", "br1")):
            _ip("-n", sw, "link", "set", end, "master", br, "up")
        for i in range(1, self.size + 1):
            ns, port = self.ns(i), f"p{i}"
            self._add_ns(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("-n", sw, "link", "set", port, "master", f"br{self.half(i)}", "up")
            _ip("-n", ns, "addr", "add", f"{self.ip(i)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")

    def _add_ns(self, name: str) -> None:
        _ip("netns", "add", name)
        self.created.append(name)

    def teardown(self) -> None:
        """Kill every process in the namespaces and delete them (idempotent)."""
        for name in reversed(self.created):
            delete_netns(name)
        self.created.clear()

    def partition(self) -> None:
        """Split the network into its two halves (the bridges' link goes down)."""
        _ip("-n", self.switch, "link", "set", "up0", "down")

    def join(self) -> None:
        """Join the two halves again."""
        _ip("-n", self.switch, "link", "set", "up0", "up")

    def cut(self, i: int) -> None:
        """Disconnect node ``i`` from its bridge (its link goes down)."""
        _ip("-n", self.switch, "link", "set", f"p{i}", "down")

    def restore(self, i: int) -> None:
        _ip("-n", self.switch, "link", "set", f"p{i}", "up")

    def command(self, i: int, *argv: str) -> list[str]:
        """``argv`` run inside node ``i``'s namespace."""
        return ["ip", "netns", "exec", self.ns(i), *argv]


@contextlib.contextmanager
def virtual_net(size: int) -> Iterator[VirtualNet]:
    """A built :class:`VirtualNet`, torn down on exit whatever happened."""
    clean_stale()
    net = VirtualNet(size)
    try:
        net.build()
        yield net
    finally:
        net.teardown()


async def spawn_in(
    nursery: trio.Nursery, net: VirtualNet, i: int, *args: str, name: str = ""
) -> NodeProc:
    """Start ``asyncmachine node ARGS`` inside node ``i``'s namespace (stdin/stdout piped,
    as :func:`tests.node.node_helpers.spawn`); see :meth:`NodeProc.ready`."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = await trio.lowlevel.open_process(
        net.command(i, *CLI, "node", *args),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    node = NodeProc(proc, name or f"n{i}")
    nursery.start_soon(node._read_stdout)
    nursery.start_soon(node._read_stderr)
    return node


def kill9(node: NodeProc) -> None:
    """SIGKILL (``ip netns exec`` execs the command: the pid is the node's)."""
    if node.proc.returncode is None:
        node.proc.send_signal(signal.SIGKILL)


STATUS = re.compile(r"^status peers=(\d+) connected=(\d+) mesh=(\d+)")


def last_status(node: NodeProc, start: int = 0) -> tuple[int, int, int] | None:
    """(known, connected, mesh) of the node's last status line from index ``start``."""
    for line in reversed(node.lines[start:]):
        m = STATUS.search(line)
        if m is not None:
            return int(m.group(1)), int(m.group(2)), int(m.group(3))
    return None


__all__ = [
    "PORT",
    "PREFIX",
    "SUBNET",
    "VirtualNet",
    "clean_stale",
    "delete_netns",
    "kill9",
    "last_status",
    "list_netns",
    "netns_unavailable",
    "spawn_in",
    "virtual_net",
]
