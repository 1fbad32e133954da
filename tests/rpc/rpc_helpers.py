"""Real libp2p peers over loopback for the rpc tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from asyncmachine import Machine
from asyncmachine.pubsub import Topic, open_topic
from tests.pubsub.helpers import FAST


@asynccontextmanager
async def libp2p_peers(
    exposes: Sequence[Sequence[Machine]], name: str = "am-rpc"
) -> AsyncIterator[list[Topic]]:
    """Peer 0 is the root; every other peer bootstraps to all earlier ones (so every pair
    is connected directly, as remote calls need)."""
    async with AsyncExitStack() as stack:
        topics: list[Topic] = []
        for ex in exposes:
            boot = [a for t in topics for a in t.addrs()[:1]]
            t = await stack.enter_async_context(
                open_topic(name, bootstrap=boot, expose=ex, settings=FAST, shutdown_grace=0.05)
            )
            topics.append(t)
        yield topics
