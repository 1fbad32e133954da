"""Optional transport capability: learning peers' listen addresses from signed records.

Info records carry their owner's listen addresses (multiaddr strings, at most
``WireLimits.max_addrs``), signed by the owner, so a relay can't forge where a peer
lives. A transport that can dial peers it learned about implements
:class:`AddressSink`; the engine calls it for every new info record with addresses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class AddressSink(Protocol):
    """A transport that wants the owner-signed listen addresses of remote peers."""

    def learn_addresses(self, peer_id: str, addrs: Sequence[str]) -> object:
        """``peer_id`` (base58) listens on ``addrs`` (full multiaddrs, as it signed them).
        Called synchronously from the receive path: must not block or raise; the result
        is ignored (a transport may return whether it kept any)."""
        ...


__all__ = ["AddressSink"]
