"""The graph built live from pubsub Topics: memory network (virtual time) and real libp2p."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import networkx as nx
import pytest
import trio
import trio.testing

from asyncmachine.graph import (
    LiveGraph,
    active_states,
    find_machine,
    graph_from_topic,
    graph_from_topics,
    machine_path,
    machines,
    peers,
    stats,
    watch_topic,
)
from asyncmachine.machine import Machine
from asyncmachine.pubsub import MemoryNetwork, Topic, open_topic
from tests.graph.graph_helpers import parent, rich_worker
from tests.helpers import TIMEOUT
from tests.pubsub.helpers import FAST, until_event


def n_machines(n: int) -> Callable[[nx.MultiDiGraph], bool]:
    return lambda g: len(machines(g)) == n


def is_active(machine_id: str, state: str) -> Callable[[nx.MultiDiGraph], bool]:
    def check(g: nx.MultiDiGraph) -> bool:
        try:
            return state in active_states(g, machine_id)
        except KeyError:
            return False

    return check


@asynccontextmanager
async def mem_peer(net: MemoryNetwork, expose: list[Machine]) -> AsyncIterator[Topic]:
    async with (
        net.join("t") as tr,
        open_topic("t", transport=tr, expose=expose, settings=FAST) as topic,
    ):
        yield topic


async def test_live_graph_on_memory_network(
    net: MemoryNetwork, autojump_clock: trio.testing.MockClock
) -> None:
    p = parent("p1")
    child = rich_worker("w1", parent=p)
    other = rich_worker("w2")
    own = rich_worker("own")
    async with AsyncExitStack() as stack:
        obs = await stack.enter_async_context(mem_peer(net, [own]))
        live = await stack.enter_async_context(watch_topic(obs, refresh=0.5))
        assert [live.graph.nodes[n]["local"] for n in peers(live.graph)] == [True]
        a = await stack.enter_async_context(mem_peer(net, [p, child]))
        async with mem_peer(net, [other]) as b:
            with trio.fail_after(TIMEOUT):
                await live.wait_until(n_machines(4))
            g = live.graph
            w1 = find_machine(g, "w1")
            assert w1 == f"mach:{a.peer_id}/w1"
            assert g.nodes[w1]["mirror"] is True
            assert g.has_edge(w1, f"mach:{a.peer_id}/p1", key="child_of")
            assert g.has_edge(w1, f"peer:{a.peer_id}", key="hosted_by")
            assert len(peers(g)) == 3
            # clocks: a remote mutation and a local one both reach the graph
            child.add(["Foo", "Bar"])
            own.add1("Baz")
            with trio.fail_after(TIMEOUT):
                await live.wait_until(is_active("w1", "Foo"))
                await live.wait_until(is_active("own", "Baz"))
            assert active_states(g, w1) == ["Bar", "Foo", "Qux"]
            assert machine_path(g, "own", "w2") == [
                f"mach:{obs.peer_id}/own",
                f"peer:{obs.peer_id}",
                f"peer:{b.peer_id}",
                f"mach:{b.peer_id}/w2",
            ]
            b_peer = b.peer_id
        # b left (bye): its peer, machine and states disappear
        with trio.fail_after(TIMEOUT):
            await live.wait_until(lambda g: f"peer:{b_peer}" not in g)
        assert not any(n.startswith(f"state:{b_peer}/") for n in live.graph)
        assert sorted(live.graph.nodes[m]["id"] for m in machines(live.graph)) == [
            "own",
            "p1",
            "w1",
        ]
        assert live.events > 0 and live.version > 0
        assert live.graph.graph["topic"] == "t"
        assert any(type(t).__name__ == "_LocalTracer" for t in own.tracers)
    # the tracer on the local machine was removed on exit
    assert not any(type(t).__name__ == "_LocalTracer" for t in own.tracers)


async def test_snapshots_from_one_and_many_topics(
    net: MemoryNetwork, autojump_clock: trio.testing.MockClock
) -> None:
    async with AsyncExitStack() as stack:
        topics = [
            await stack.enter_async_context(mem_peer(net, [rich_worker(f"w{i}")])) for i in range(3)
        ]
        await until_event(topics, lambda: all(len(t.list_machines()) == 2 for t in topics), TIMEOUT)
        g = graph_from_topic(topics[0])
        assert len(machines(g)) == 3 and len(peers(g)) == 3
        assert g.graph["observer"] == topics[0].peer_id
        st = stats(g)
        assert st.peer_links == 2 and st.mesh_diameter == 2  # a star around the observer
        merged = graph_from_topics(topics)
        st = stats(merged)
        assert st.machines == 3 and st.peer_links == 3 and st.mesh_diameter == 1
        assert all(merged.nodes[p]["local"] for p in peers(merged))


async def test_live_graph_rejects_bad_refresh() -> None:
    with pytest.raises(ValueError):
        LiveGraph(None, refresh=0)  # type: ignore[arg-type]


# --- real py-libp2p hosts on 127.0.0.1 ----------------------------------------------


@asynccontextmanager
async def lp2p_peer(expose: list[Machine], bootstrap: list[str]) -> AsyncIterator[Topic]:
    async with open_topic(
        "am-graph-test", bootstrap=bootstrap, expose=expose, settings=FAST, shutdown_grace=0.05
    ) as topic:
        yield topic


@pytest.mark.slow
async def test_live_graph_on_libp2p_with_a_peer_leaving() -> None:
    p = parent("p1")
    child = rich_worker("w1", parent=p)
    other = rich_worker("w2")
    own = rich_worker("own")
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(lp2p_peer([p, child], []))
        boot = a.addrs()
        obs = await stack.enter_async_context(lp2p_peer([own], boot))
        live = await stack.enter_async_context(watch_topic(obs, refresh=0.5))
        async with lp2p_peer([other], boot) as b:
            b_peer = b.peer_id
            with trio.fail_after(TIMEOUT):
                await live.wait_until(n_machines(4))
                # the observer's own connection and gossip mesh to its bootstrap peer
                await live.wait_until(
                    lambda g: (
                        g.has_edge(f"peer:{obs.peer_id}", f"peer:{a.peer_id}", key="connected_to")
                        and g.edges[f"peer:{obs.peer_id}", f"peer:{a.peer_id}", "connected_to"][
                            "mesh"
                        ]
                    )
                )
            g = live.graph
            assert g.nodes[f"peer:{obs.peer_id}"]["addrs"] == obs.addrs()
            assert g.has_edge(f"mach:{a.peer_id}/w1", f"mach:{a.peer_id}/p1", key="child_of")
            child.add(["Foo", "Bar"])
            with trio.fail_after(TIMEOUT):
                await live.wait_until(is_active("w1", "Foo"))
            assert machine_path(g, "own", "w1") == [
                f"mach:{obs.peer_id}/own",
                f"peer:{obs.peer_id}",
                f"peer:{a.peer_id}",
                f"mach:{a.peer_id}/w1",
            ]
        with trio.fail_after(TIMEOUT):
            await live.wait_until(lambda g: f"peer:{b_peer}" not in g)
        assert sorted(g.nodes[m]["id"] for m in machines(g)) == ["own", "p1", "w1"]
        assert len(peers(g)) == 2
