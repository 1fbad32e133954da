"""The libp2p host under a Topic, where asyncmachine.rpc registers its stream protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..pubsub import Topic

if TYPE_CHECKING:
    from libp2p.abc import IHost


def libp2p_host(topic: Topic) -> IHost:
    """The running py-libp2p host of ``topic``; RuntimeError for other transports."""
    from ..pubsub.libp2p import Libp2pTransport

    transport = topic.transport
    if not isinstance(transport, Libp2pTransport):
        kind = type(transport).__name__ if transport is not None else "no transport"
        raise RuntimeError(f"remote mutations need a libp2p topic that is running (got {kind})")
    return transport.host
