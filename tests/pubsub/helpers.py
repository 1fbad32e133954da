"""Shared helpers of the network tests (pubsub, node, graph): memory-network peers,
worker machines, fast Topic settings and event-driven waits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Literal

import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from trio.testing import MockClock

from asyncmachine import Machine, State
from asyncmachine.pubsub import (
    MemoryNetwork,
    MemoryTransport,
    Topic,
    TopicEvent,
    TopicSettings,
    open_topic,
)
from asyncmachine.pubsub._libp2p_host import HostParts, build_host, parse_listen_addrs

WORKER_SCHEMA = {
    "Foo": State(require=["Bar"]),
    "Bar": State(),
    "Baz": State(multi=True),
}
"""Go's pubsub test fixture: Foo requires Bar (plus a Multi state)."""

FAST = TopicSettings(
    heartbeat=1.0,
    hello_delay=0.01,
    hello_wait=0.2,
    hello_retry=1.0,
    request_delay=0.05,
    request_interval=0.5,
    relay_delay=0.05,
    keepalive=5.0,
    peer_timeout=20.0,
)
"""Short delays for tests: discovery within tens of milliseconds, a heartbeat a second."""


def worker(
    id: str,
    *,
    parent: Machine | str | None = None,
    tags: Sequence[str] = (),
    schema: Mapping[str, State] = WORKER_SCHEMA,
) -> Machine:
    """A machine of ``schema`` (Go's worker fixture by default)."""
    return Machine(dict(schema), id=id, parent=parent or None, tags=tags)


@asynccontextmanager
async def memory_topics(
    network: MemoryNetwork,
    exposes: Sequence[Sequence[Machine]],
    *,
    name: str = "t",
    settings: TopicSettings = FAST,
    peer_ids: Sequence[str] | None = None,
) -> AsyncIterator[list[Topic]]:
    """One Topic per entry of ``exposes`` on ``network``, all joined."""
    async with AsyncExitStack() as stack:
        topics: list[Topic] = []
        for i, ex in enumerate(exposes):
            pid = peer_ids[i] if peer_ids else None
            tr = await stack.enter_async_context(network.join(name, pid))
            topic = await stack.enter_async_context(
                open_topic(name, transport=tr, expose=ex, settings=settings)
            )
            topics.append(topic)
        yield topics


async def wait_for(cond: Callable[[], bool], timeout: float = 5.0, step: float = 0.01) -> None:
    """Poll ``cond`` on Trio's clock (MockClock friendly) until true or time out."""
    with trio.fail_after(timeout):
        while not cond():
            await trio.sleep(step)


async def until_event(
    topics: Sequence[Topic], cond: Callable[[], bool], timeout: float = 10.0
) -> None:
    """Wait until ``cond()`` holds, re-checking it after every TopicEvent of ``topics``
    (discovery, removal, clocks, peers, links); fails after ``timeout`` (Trio's clock,
    so MockClock friendly). For conditions that only change with a Topic event."""
    if cond():
        return
    wake = trio.Event()

    def on_event(_ev: TopicEvent) -> None:
        wake.set()

    for t in topics:
        t.add_observer(on_event)
    try:
        with trio.fail_after(timeout):
            while True:
                await wake.wait()
                # a fresh Event before the check: no event after it can be missed
                wake = trio.Event()
                if cond():
                    return
    finally:
        for t in topics:
            t.remove_observer(on_event)


def all_discovered(topics: Sequence[Topic], per_peer: Sequence[int]) -> bool:
    total = sum(per_peer)
    return all(len(t.list_machines()) == total - per_peer[i] for i, t in enumerate(topics))


def all_synced(topics: Sequence[Topic]) -> bool:
    """Every mirror of every topic shows the clock of its source machine."""
    sources = {(t.peer_id, m.id): m for t in topics for m in t.exposed()}
    for t in topics:
        for rm in t.remote_machines():
            src = sources.get((rm.peer_id, rm.info.id))
            if src is None or list(rm.clock) != list(src.time()):
                return False
    return True


SETTLE = 1.0
"""Virtual seconds :func:`discovered` lets pass after sync, so that metrics asserted
afterwards are final (answers and relays that are still due run out by then)."""


async def discovered(topics: Sequence[Topic], per_peer: Sequence[int], timeout: float = 10) -> None:
    """Wait until every topic lists the others' machines with their sources' clocks, then
    let pending answers run out. Virtual time only (MockClock): checking that nothing
    *more* happens needs a window, which on a real clock could be too short."""
    assert isinstance(trio.lowlevel.current_clock(), MockClock), "discovered() needs MockClock"
    await until_event(
        topics, lambda: all_discovered(topics, per_peer) and all_synced(topics), timeout
    )
    await trio.sleep(SETTLE)


def mem(topic: Topic) -> MemoryTransport:
    """The memory transport of a topic (for loss hooks in tests)."""
    assert isinstance(topic.transport, MemoryTransport)
    return topic.transport


def tuned_host(muxer: Literal["yamux", "mplex"] = "yamux") -> HostParts:
    """A built, not started, tuned libp2p host (gossipsub's default degrees, 1 s heartbeat,
    a new key) listening on a free loopback port once run."""
    return build_host(
        create_new_key_pair(),
        "t",
        parse_listen_addrs(["/ip4/127.0.0.1/tcp/0"]),
        heartbeat_interval=1.0,
        degree=6,
        degree_low=4,
        degree_high=12,
        muxer=muxer,
    )
