"""Node options for the connection manager reach the libp2p transport."""

from __future__ import annotations

from asyncmachine.node import Node
from asyncmachine.pubsub import ConnectSettings
from asyncmachine.pubsub.libp2p import Libp2pTransport


async def test_connection_watermarks_reach_the_manager() -> None:
    async with Node(connections=ConnectSettings(low=1, high=3)) as node:
        t = node.topic.transport
        assert isinstance(t, Libp2pTransport)
        settings = t._connector.manager.settings
        assert (settings.low, settings.high) == (1, 3)
        assert t.connection_counters.dial_failures == 0
