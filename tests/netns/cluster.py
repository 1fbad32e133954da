"""N ``asyncmachine node`` processes, one per namespace, bootstrapped through node 1."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from tests.netns.netns_helpers import VirtualNet, last_status, spawn_in
from tests.node.node_helpers import NodeProc, short, stop

TOPIC = "netns"
DISCOVERY_TIMEOUT = 120.0
"""Eight Python nodes starting at once on a loaded 2-core machine are slow."""


def node_args(net: VirtualNet, i: int, keys: Path, *extra: str) -> list[str]:
    """Node ``i``: fixed address and key, a console, 1 s status lines, no demo driver."""
    return [
        "--listen",
        net.listen(i),
        "--key",
        str(keys / f"n{i}.key"),
        "--topic",
        TOPIC,
        "--console",
        "--status-interval",
        "1",
        "--demo-interval",
        "0",
        *extra,
    ]


@asynccontextmanager
async def cluster(
    nursery: trio.Nursery, net: VirtualNet, keys: Path
) -> AsyncIterator[list[NodeProc]]:
    """Start node 1, then the others with ``--bootstrap`` node 1; all listening. Every
    process is killed and reaped on exit."""
    nodes: list[NodeProc] = []
    try:
        first = await spawn_in(nursery, net, 1, *node_args(net, 1, keys))
        nodes.append(first)
        await first.ready()
        for i in range(2, net.size + 1):
            args = node_args(net, i, keys, "--bootstrap", first.addr)
            nodes.append(await spawn_in(nursery, net, i, *args))
        for node in nodes[1:]:
            await node.ready()
        yield nodes
    finally:
        for node in nodes:
            await stop(node)


def demo_of(node: NodeProc) -> str:
    return f"demo-{short(node.peer_id)}"


async def wait_discovery(nodes: list[NodeProc], timeout: float = DISCOVERY_TIMEOUT) -> None:
    """Every node shows a mirror of every other node's demo machine."""

    async def one(node: NodeProc) -> None:
        for other in nodes:
            if other is not node:
                await node.wait_line(f"^machine\\+ {re.escape(demo_of(other))} ", timeout=timeout)

    async with trio.open_nursery() as n:
        for node in nodes:
            n.start_soon(one, node)


def change_rx(owner: NodeProc, state: str) -> str:
    """A change line for ``owner``'s demo machine adding ``state``."""
    return rf"^change {re.escape(demo_of(owner))} @\S+ .*\+{state}\b"


def saw_change(node: NodeProc, owner: NodeProc, state: str) -> bool:
    """``node`` printed a change line for ``owner``'s demo machine adding ``state``."""
    rx = re.compile(change_rx(owner, state))
    return any(rx.search(s) for s in node.lines)


def connections(nodes: list[NodeProc]) -> str:
    """``n2=known/connected/mesh ...`` from each node's last status line (diagnostics)."""
    parts = []
    for node in nodes:
        st = last_status(node)
        parts.append(f"{node.name}={'?' if st is None else '/'.join(map(str, st))}")
    return " ".join(parts)
