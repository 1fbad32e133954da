"""Counters of gossipsub control traffic and forwarding for py-libp2p's GossipSub router.

py-libp2p 0.8.1 counts nothing of what its GossipSub router sends or receives, so the
simulator's IHAVE/IWANT/GRAFT/PRUNE counts and the bandwidth a peer spends forwarding
other authors' messages had no source (go-libp2p-pubsub exposes them through its
``RawTracer``: ``SendRPC`` / ``RecvRPC``). :class:`GossipCountersMixin` counts them at the
router's two chokepoints, calling ``super()`` so routing is unchanged:

- ``send_rpc``: every RPC the router hands to a neighbour's send queue (control messages
  from the heartbeat and the ``emit_*`` methods, forwarded messages, IWANT answers);
- ``handle_rpc``: every inbound RPC that carries control messages.

A control message counts once per entry (an RPC with IHAVEs for two topics counts two).
Not seen: messages py-libp2p writes to a stream directly, bypassing the queue
(``flush_pending_messages`` and ``send_recent_messages``, the catch-up of a peer whose
identify or subscription was still pending), and control retries piggybacked on a later
RPC (they were counted when first sent).
"""

from __future__ import annotations

from dataclasses import dataclass

from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub


@dataclass(slots=True)
class GossipCounters:
    """One router's counts; bytes are payload bytes (``Message.data``).

    ``*_sent`` / ``*_received``: control entries handed to a send queue / received;
    ``iwant_ids_sent``: message ids asked for in the IWANTs sent (gossip repairs asked);
    ``forwarded`` / ``bytes_forwarded``: copies of other authors' messages sent to a
    neighbour (mesh forwards and IWANT answers; the peer's own publishes are not counted).
    """

    ihave_sent: int = 0
    ihave_received: int = 0
    iwant_sent: int = 0
    iwant_ids_sent: int = 0
    iwant_received: int = 0
    graft_sent: int = 0
    graft_received: int = 0
    prune_sent: int = 0
    prune_received: int = 0
    forwarded: int = 0
    bytes_forwarded: int = 0


class GossipCountersMixin(GossipSub):
    """Counts control traffic and forwards into :attr:`gossip` (see module docstring).

    The counters are created when the router is attached to its ``Pubsub`` (the ``Pubsub``
    constructor does that), which also fixes the own peer id that tells forwards apart
    from own publishes.
    """

    gossip: GossipCounters
    _own_id: bytes

    def attach(self, pubsub: Pubsub) -> None:
        self.gossip = GossipCounters()
        self._own_id = pubsub.my_id.to_bytes()
        super().attach(pubsub)

    def send_rpc(self, peer_id: ID, rpc: rpc_pb2.RPC, priority: bool = False) -> None:
        if self.pubsub is not None and peer_id in self.pubsub.peer_queues:
            g = self.gossip
            for msg in rpc.publish:
                if msg.from_id != self._own_id:
                    g.forwarded += 1
                    g.bytes_forwarded += len(msg.data)
            if rpc.HasField("control"):
                c = rpc.control
                g.ihave_sent += len(c.ihave)
                g.graft_sent += len(c.graft)
                g.prune_sent += len(c.prune)
                if c.iwant:
                    g.iwant_sent += len(c.iwant)
                    g.iwant_ids_sent += sum(len(w.messageIDs) for w in c.iwant)
        super().send_rpc(peer_id, rpc, priority)

    async def handle_rpc(self, rpc: rpc_pb2.RPC, sender_peer_id: ID) -> None:
        c = rpc.control
        g = self.gossip
        g.ihave_received += len(c.ihave)
        g.iwant_received += len(c.iwant)
        g.graft_received += len(c.graft)
        g.prune_received += len(c.prune)
        await super().handle_rpc(rpc, sender_peer_id)


__all__ = ["GossipCounters", "GossipCountersMixin"]
