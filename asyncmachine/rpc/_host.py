"""The libp2p host under a Topic: the one place asyncmachine.rpc reaches into the
pubsub transport.

# SHIM: replace with the public accessor ``Libp2pTransport.host`` once the transport
# has one (this reads its private ``_host``); nothing else in asyncmachine.rpc does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..pubsub import Topic

if TYPE_CHECKING:
    from libp2p.abc import IHost


def libp2p_host(topic: Topic) -> IHost:
    """The running py-libp2p host of ``topic``; RuntimeError for other transports."""
    transport = topic.transport
    host = getattr(transport, "_host", None)  # SHIM: Libp2pTransport.host
    if host is None:
        kind = type(transport).__name__ if transport is not None else "no transport"
        raise RuntimeError(f"remote mutations need a libp2p topic that is running (got {kind})")
    return host  # type: ignore[no-any-return]


__all__ = ["libp2p_host"]
