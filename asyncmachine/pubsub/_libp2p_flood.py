"""Own messages past an empty mesh (go-libp2p-pubsub: ``WithFloodPublish``).

py-libp2p 0.8.1 publishes a peer's own messages into its topic mesh only. A peer whose
mesh is empty publishes to no one: no neighbour gets the message, so none can gossip
(IHAVE) it on either. Meshes do run empty: in 100 hosts starting at once on two cores,
20 to 36 of the 100 hellos went out from an empty mesh (with topic peers in sight), and
the smallest mesh was 0 or 1 for the first two minutes (GRAFTs refused by neighbours
whose meshes were full, PRUNE backoffs); peers then stayed unknown to most others for
minutes.

go-libp2p-pubsub sends every own message to all topic peers (flood publish, on by
default). Here only while the mesh is empty, and to ``degree`` topic peers at most (as a
topic without a mesh gets fanout peers): flooding always, or while the mesh is below
``degree_low`` (nearly every mesh in a start), sent each message to all of a host's
neighbours on hosts whose CPU is the limit (every received copy costs py-libp2p
milliseconds), and the 100-host start got slower. Forwarded messages go to the mesh
only, as before; the publish score gate still applies to every peer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub


class FloodPublishMixin(GossipSub):
    """Own messages go to ``degree`` gossipsub topic peers while the topic's mesh is
    empty (see module docstring). Forwarded messages, the hot path, pass straight
    through."""

    def _get_peers_to_send(
        self,
        topic_ids: Iterable[str],
        msg_forwarder: ID,
        origin: ID,
        msg_id: bytes | None = None,
    ) -> Iterator[ID]:
        ps = self.pubsub
        if ps is None or origin != ps.my_id:
            yield from super()._get_peers_to_send(topic_ids, msg_forwarder, origin, msg_id)
            return
        topics = list(topic_ids)
        peers = set(super()._get_peers_to_send(topics, msg_forwarder, origin, msg_id))
        for topic in topics:
            if not self.mesh.get(topic):  # as fanout peers are picked for a topic
                peers.update(
                    self._get_in_topic_gossipsub_peers_from_minus(topic, self.degree, [origin])
                )
        yield from peers
