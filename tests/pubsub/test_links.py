"""Links records: each peer reports its connections and mesh peers, for peer graphs."""

from __future__ import annotations

import dataclasses
from contextlib import AsyncExitStack
from typing import Any

import networkx as nx
import trio
from trio.testing import MockClock

from asyncmachine.graph._build import CONNECTED_TO, peer_node
from asyncmachine.graph._topic import graph_from_topic
from asyncmachine.pubsub import (
    EventKind,
    MemoryNetwork,
    Topic,
    TopicEvent,
    TopicSettings,
    open_topic,
)

from .helpers import FAST, all_discovered, memory_topics, until_event, wait_for, worker


def _edge(g: nx.MultiDiGraph, a: str, b: str) -> dict[str, Any]:
    """The ``connected_to`` edge a -> b's attributes ({} when absent)."""
    u, v = peer_node(a), peer_node(b)
    if not g.has_edge(u, v, key=CONNECTED_TO):
        return {}
    return dict(g.edges[u, v, CONNECTED_TO])


async def test_remote_links_make_a_full_graph_not_a_star(autojump_clock: MockClock) -> None:
    net = MemoryNetwork()
    events: list[TopicEvent] = []
    settings = dataclasses.replace(FAST, links_interval=3.0)
    async with memory_topics(net, [[worker(f"w{i}")] for i in range(3)], settings=settings) as ts:
        ts[0].add_observer(events.append)
        await wait_for(lambda: all_discovered(ts, [1, 1, 1]))
        # links records follow the first heartbeat
        await wait_for(lambda: len(ts[0].peer_links()) == 2, timeout=10)
        assert any(e.kind is EventKind.LINKS_UPDATED for e in events)
        a, b, c = (t.peer_id for t in ts)
        assert ts[0].peer_links()[b] == (tuple(sorted([a, c])), tuple(sorted([a, c])))
        g = graph_from_topic(ts[0])
        e = _edge(g, b, c)
        assert e and e["connected"] and e["mesh"] and e["reported_by"] == b
        assert _edge(g, a, b)["reported_by"] == a
        # unchanged links are not re-sent on later heartbeats
        sent = ts[1].metrics.sent_by_type["links"]
        await trio.sleep(5)
        assert ts[1].metrics.sent_by_type["links"] == sent == 1
        # a peer that leaves takes its reported links along
        # new links: re-sent, but at most once per links_interval
        async with memory_topics(net, [[]], settings=settings) as (d,):
            await wait_for(lambda: d.peer_id in ts[0].peer_links().get(b, ((), ()))[0], timeout=10)
        await wait_for(lambda: d.peer_id not in ts[0].peer_links().get(b, ((), ()))[0], timeout=10)
        assert ts[1].engine.local.links_seq == 3  # own records: first, +d, -d


async def test_mesh_only_changes_are_paced_by_links_refresh(autojump_clock: MockClock) -> None:
    """Gossip meshes churn on their own: a mesh-only change waits for ``links_refresh``
    (growing with the peers known), a connection change only for ``links_interval``."""
    net = MemoryNetwork()
    settings = dataclasses.replace(
        FAST, links_interval=3.0, links_refresh=20.0, links_refresh_per_peer=15.0
    )
    async with memory_topics(net, [[worker(f"m{i}")] for i in range(3)], settings=settings) as ts:
        await wait_for(lambda: all_discovered(ts, [1, 1, 1]))
        a, b, _ = ts
        await wait_for(lambda: len(a.peer_links()) == 2, timeout=10)
        assert b.engine.links_refresh() == 30.0  # 2 known peers x 15 s > 20 s
        sent = b.metrics.sent_by_type["links"]
        t0 = trio.current_time()
        # b's mesh drops c, its connections stay: reported only after links_refresh
        b.transport.mesh_peers = lambda: {a.peer_id}  # type: ignore[method-assign]
        await wait_for(lambda: a.peer_links()[b.peer_id][1] == (a.peer_id,), timeout=60)
        assert trio.current_time() - t0 >= 25.0
        assert b.metrics.sent_by_type["links"] == sent + 1
        # a new connection is reported within links_interval (+ a heartbeat)
        t1 = trio.current_time()
        async with memory_topics(net, [[]], settings=settings) as (d,):
            await wait_for(lambda: d.peer_id in a.peer_links()[b.peer_id][0], timeout=10)
            assert trio.current_time() - t1 <= 3.0 + 2 * settings.heartbeat


async def test_links_records_are_not_shared_when_disabled(autojump_clock: MockClock) -> None:
    net = MemoryNetwork()
    settings = TopicSettings(heartbeat=1.0, hello_wait=0.2, share_links=False)
    async with memory_topics(net, [[worker("x")], []], settings=settings) as ts:
        await wait_for(lambda: all_discovered(ts, [1, 0]))
        await trio.sleep(3)
        assert ts[0].peer_links() == {} and ts[1].metrics.sent_by_type["links"] == 0


async def test_libp2p_line_graph_shows_the_far_link() -> None:
    """a - b - c on real hosts: a's graph has b -> c, reported by b."""
    settings = TopicSettings(heartbeat=1.0, hello_delay=0.05, hello_retry=2.0)
    async with AsyncExitStack() as stack:
        ts: list[Topic] = []
        for i in range(3):
            boot = ts[-1].addrs() if ts else []
            ts.append(
                await stack.enter_async_context(
                    open_topic(
                        "am-links",
                        bootstrap=boot,
                        expose=[worker(f"l{i}")],
                        settings=settings,
                        shutdown_grace=0.05,
                    )
                )
            )
        a, b, c = ts
        await until_event([a], lambda: c.peer_id in a.peer_links().get(b.peer_id, ((), ()))[0], 30)
        g = graph_from_topic(a)
        e = _edge(g, b.peer_id, c.peer_id)
        assert e and e["connected"] and e["reported_by"] == b.peer_id
