"""Eight ``asyncmachine node`` processes, each in its own network namespace with its own
address on a private virtual network, bootstrapped through node 1 (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.netns.cluster import TOPIC, cluster, connections, demo_of, wait_discovery
from tests.netns.netns_helpers import VirtualNet, list_netns, virtual_net
from tests.node.node_helpers import CLI

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("netns_ok")]

SIZE = 8


async def observe_in(net: VirtualNet, i: int, bootstrap: str, out: Path) -> dict[str, Any]:
    """Run ``asyncmachine graph`` in namespace ``i``; its JSON ``graph.connectivity``."""
    args = ["--bootstrap", bootstrap, "--topic", TOPIC, "--listen", f"/ip4/{net.ip(i)}/tcp/0"]
    cmd = net.command(i, *CLI, "graph", *args, "--timeout", "30", "--json", str(out))
    with trio.fail_after(90):
        r = await trio.run_process(cmd, capture_stdout=True, capture_stderr=True, check=False)
    assert r.returncode == 0, r.stderr.decode()
    conn: dict[str, Any] = json.loads(out.read_text())["graph"]["connectivity"]
    return conn


async def test_eight_namespaces_discover_each_other(tmp_path: Path) -> None:
    with virtual_net(SIZE) as net:
        names = set(net.created)
        async with trio.open_nursery() as nursery:
            async with cluster(nursery, net, tmp_path) as nodes:
                assert [n.addr.split("/")[2] for n in nodes] == [
                    net.ip(i) for i in range(1, SIZE + 1)
                ]
                await wait_discovery(nodes)
                # a change on the last node reaches node 2 (through the network)
                last = nodes[-1]
                reply = await last.command(f"add {demo_of(last)} Bar", "add ")
                assert "executed" in reply, reply
                await nodes[1].wait_line(f"^change {demo_of(last)} @\\S+ \\+Bar", timeout=30)
                # every node's status line counts the seven others as known peers
                for node in nodes:
                    await node.wait_line(f"^status peers={SIZE - 1} ", start=0, timeout=30)
                print("connections (known/connected/mesh):", connections(nodes))
                # an ``asyncmachine graph`` observer inside node 8's namespace sees them all
                conn = await observe_in(net, SIZE, nodes[0].addr, tmp_path / "g.json")
                assert conn["peers"] == SIZE, conn
                print("peer graph:", conn)
            nursery.cancel_scope.cancel()
    assert not names & set(list_netns()), "namespaces left behind"
