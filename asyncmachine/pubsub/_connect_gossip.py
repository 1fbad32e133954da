"""The gossipsub and swarm parts of connection management on py-libp2p 0.8.1.

- :class:`PeerExchangeGossipSub`: heartbeat PRUNEs carry PX; PX peer records go to the
  connection manager instead of being dialled; a fresh connection clears the PRUNE
  backoff (quick restarts).
- :class:`NoAutoConnector`: switches off libp2p's own auto-dialer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import multiaddr
import trio
from libp2p.custom_types import TProtocol
from libp2p.network.auto_connector import AutoConnector
from libp2p.peer.envelope import consume_envelope
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2

logger = logging.getLogger(__name__)


class PeerExchangeGossipSub(GossipSub):
    """GossipSub that hands PX peer records to :attr:`on_px` instead of dialing them
    (py-libp2p's ``_do_px`` connects directly, around any dial cap), and forgets PRUNE
    backoff for a peer that connects afresh (a quick restart).

    Quick restart: a peer that leaves sends PRUNE with the 10 s unsubscribe backoff. If it
    restarts with the same key within those 10 s, its GRAFT hits our backoff; libp2p
    0.8.1 (like go) then extends the backoff to the 60 s ``prune_back_off`` and PRUNEs
    the newcomer, which in turn backs off from us for 60 s, and GRAFT flood protection
    (``graft_flood_tracking``, 10 s after its PRUNE) refuses it too. Measured: a peer
    restarted 1 s after leaving was out of the survivor's mesh for 59 s. The backoff is
    meant to stop a peer re-grafting within one connection's lifetime, so a new
    connection (:meth:`add_peer`) clears both for that peer.
    """

    def _get_in_topic_gossipsub_peers_from_minus(
        self,
        topic: str,
        num_to_select: int,
        minus: Iterable[ID],
        backoff_check: bool = False,
    ) -> list[ID]:
        """py-libp2p 0.8.1 indexes ``pubsub.peer_topics[topic]``, which is gone once the
        last peer of the topic left or we unsubscribed: a GRAFT handled during shutdown
        (answered with a PX PRUNE) raised KeyError into the host's nursery."""
        if self.pubsub is None or topic not in self.pubsub.peer_topics:
            return []
        return super()._get_in_topic_gossipsub_peers_from_minus(
            topic, num_to_select, minus, backoff_check
        )

    px_records = 0
    on_px: Callable[[ID, list[multiaddr.Multiaddr]], None] = staticmethod(lambda peer, addrs: None)

    def add_peer(self, peer_id: ID, protocol_id: TProtocol | None) -> None:
        for peers in self.back_off.values():
            peers.pop(peer_id, None)
        self.graft_flood_tracking.pop(peer_id, None)
        super().add_peer(peer_id, protocol_id)

    async def _emit_control_msgs(
        self,
        peers_to_graft: dict[ID, list[str]],
        peers_to_prune: dict[ID, list[str]],
        peers_to_gossip: dict[ID, dict[str, list[bytes]]],
    ) -> None:
        """The heartbeat's PRUNEs (mesh above D_high) go out through ``emit_prune``:
        py-libp2p 0.8.1 sends them bare, with neither PX nor a backoff (go sends both),
        so ``do_px`` never reached the one PRUNE that happens in a healthy network."""
        for peer in [p for p in peers_to_prune if p not in peers_to_graft]:
            for topic in peers_to_prune.pop(peer):
                self._add_back_off(peer, topic, False)
                await self.emit_prune(topic, peer, self.do_px, False)
        await super()._emit_control_msgs(peers_to_graft, peers_to_prune, peers_to_gossip)

    async def _do_px(self, px_peers: list[rpc_pb2.PeerInfo]) -> None:
        """Learn PX peers from their signed peer records only (an unsigned entry has no
        address to learn); never dial here: the connection manager decides."""
        for peer in px_peers[: self.px_peers_count]:
            if not peer.signedPeerRecord:
                continue
            try:
                _, record = consume_envelope(peer.signedPeerRecord, "libp2p-peer-record")
                if record.peer_id != ID(peer.peerID):
                    raise ValueError("peer id mismatch in the PX record")
            except Exception as e:
                logger.debug("ignored a PX entry: %r", e)
                continue
            self.px_records += 1
            self.on_px(record.peer_id, list(record.addrs))


class NoAutoConnector(AutoConnector):
    """py-libp2p 0.8.1's AutoConnector (on by default) dials every peerstore peer until
    (low + high watermark) / 2 = 150 connections, blind to topics, and re-dials peers our
    connection manager trimmed. Ours is the only dialer, so this one does nothing."""

    async def maybe_connect(self) -> None:
        return None

    async def run_background_task(self, nursery: trio.Nursery) -> None:
        return None
