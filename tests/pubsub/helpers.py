"""Shared helpers for pubsub tests (memory-network peers, worker machines)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

import trio

from asyncmachine import Machine, State
from asyncmachine.pubsub import (
    MemoryNetwork,
    MemoryTransport,
    Topic,
    TopicEvent,
    TopicSettings,
    open_topic,
)

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


def worker(id: str, *, parent: str = "", tags: Sequence[str] = ()) -> Machine:
    return Machine(WORKER_SCHEMA, id=id, parent=parent or None, tags=tags)


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


async def discovered(topics: Sequence[Topic], per_peer: Sequence[int], timeout: float = 10) -> None:
    """Wait until every topic lists the others' machines, then let answers settle."""
    await wait_for(lambda: all_discovered(topics, per_peer), timeout)
    await trio.sleep(1.0)


def mem(topic: Topic) -> MemoryTransport:
    """The memory transport of a topic (for loss hooks in tests)."""
    assert isinstance(topic.transport, MemoryTransport)
    return topic.transport
