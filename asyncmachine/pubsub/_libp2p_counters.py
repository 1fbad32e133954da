"""What a libp2p transport counts (:attr:`Libp2pTransport.counters`)."""

from __future__ import annotations

from dataclasses import dataclass

from ._gossip_counters import GossipCounters


@dataclass(slots=True)
class TransportCounters(GossipCounters):
    """Traffic counters; bytes are payload bytes (no libp2p framing, no relays).

    ``received`` counts every message from another author that reached this peer;
    ``dropped`` is the part of it that did not fit into ``messages``.
    ``outbound_dropped`` counts RPCs (own or relayed messages, control) libp2p dropped
    because a neighbour's 32-deep send queue was full: publishing faster than the
    network drains loses messages there, silently in libp2p. ``undecodable_rpcs`` counts
    inbound pubsub RPCs that did not parse (the sender's stream is reset).
    The gossipsub fields are inherited from the router's
    :class:`~._gossip_counters.GossipCounters` (control messages sent
    and received, other authors' messages forwarded).
    ``rejected`` / ``ignored``: messages the validator refused before they were relayed
    (with / without the invalid-message penalty); ``graylisted``: forwarders
    disconnected and blacklisted for a low score (:mod:`._libp2p_validation`).
    """

    published: int = 0
    bytes_published: int = 0
    received: int = 0
    bytes_received: int = 0
    dropped: int = 0
    peer_events_dropped: int = 0
    outbound_dropped: int = 0
    undecodable_rpcs: int = 0
    rejected: int = 0
    ignored: int = 0
    graylisted: int = 0
