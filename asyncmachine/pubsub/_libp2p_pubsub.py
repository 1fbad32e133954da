"""The pubsub service of one topic (py-libp2p 0.8.1's ``Pubsub``, amended).

It hands the topic's messages and topic-peer changes to callbacks, reads and writes
pubsub streams with :mod:`._libp2p_reader` and :mod:`._libp2p_writer`, and keeps
py-libp2p's view of who subscribes to the topic true: a peer's subscriptions stand
while its stream is read, a peer relaying the topic is taken as subscribed, and a
sending stream py-libp2p gave up on is reopened (docs/pubsub.md, "Subscriptions
stand while their stream is read").
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from libp2p.abc import IHost, INetStream
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub
from libp2p.pubsub.rpc_queue import RpcQueue

from ._libp2p_reader import RpcReader
from ._libp2p_writer import send_rpcs

logger = logging.getLogger(__name__)

_MAX_REMEMBERED = 4096
"""Peers remembered as unsubscribed from the topic, and stream attempts to peers not
known to subscribe (a bound on each table)."""
_UNKNOWN_RETRY = 60.0
"""Seconds between attempts to open a sending stream to a connected peer not known to
subscribe to the topic (:meth:`TopicPubsub.repair_streams`)."""


class TopicPubsub(Pubsub):
    """Pubsub that hands ``topic`` messages and topic-peer changes to callbacks.

    Replaces the 32-deep subscription queue (drops with a WARNING when not drained at
    once) with a synchronous callback, and reports changes of ``peer_topics[topic]``
    right where libp2p makes them (subscribe/unsubscribe RPCs, dead peers). Its streams
    are read by :class:`~._libp2p_reader.RpcReader` (buffered, survives bad RPCs) and
    written by :func:`~._libp2p_writer.send_rpcs` (what is queued goes out in one write).
    """

    def __init__(self, host: IHost, router: GossipSub, topic: str) -> None:
        super().__init__(host, router, strict_signing=True)
        self.watched_topic = topic
        self.on_message: Callable[[rpc_pb2.Message], None] = lambda msg: None
        self.on_topic_peers_changed: Callable[[], None] = lambda: None
        self._reader = RpcReader(self)
        self._unsubscribed: set[ID] = set()  # said so: relaying doesn't resubscribe them
        self._repair_tried: dict[ID, float] = {}  # unsubscribed peers: last stream attempt

    @property
    def undecodable_rpcs(self) -> int:
        """RPCs that did not parse (each reset its peer's stream)."""
        return self._reader.undecodable

    async def continuously_read_stream(self, stream: INetStream) -> None:
        await self._reader.run(stream)

    async def handle_sending_messages(
        self, peer_id: ID, stream: INetStream, queue: RpcQueue
    ) -> None:
        await send_rpcs(peer_id, stream, queue, lambda: self._handle_dead_peer(peer_id))

    async def _teardown_if_connected(self, peer_id: ID) -> None:
        """Blacklisting a peer (a graylisted forwarder) resets its pubsub stream here.
        py-libp2p 0.8.1 then deletes ``peers[peer_id]`` after awaiting the reset, by which
        time the disconnect that follows may have removed it: a KeyError that ends the
        whole host. Cleaned up as a dead peer instead (its send queue and router state
        go too, which py-libp2p's version leaves behind), and its subscriptions are
        dropped even while a stream of its is still read."""
        stream = self.peers.get(peer_id)
        if stream is not None:
            with contextlib.suppress(Exception):
                await stream.reset()
            self._handle_dead_peer(peer_id)
        self._drop_subscriptions(peer_id)

    def repair_streams(self, now: float) -> int:
        """Open a sending stream to connected peers that have none and no attempt under
        way; returns how many. py-libp2p stops trying on some paths (a failure it takes
        as final, the peer briefly without a connection), and the link then carries
        nothing our way: a peer subscribed to the topic never learns our subscription
        (100 hosts starting at once: about 1 % of the connections stayed one-sided),
        and a connection where both sides gave up left young peers deaf while their
        connection manager counted it. Subscribed peers are tried every call, others
        (maybe no pubsub peers at all) once per :data:`_UNKNOWN_RETRY` seconds."""
        subscribed = self.peer_topics.get(self.watched_topic, set())
        tried = self._repair_tried
        repaired = 0
        for pid in self.host.get_connected_peers():
            if pid in self.peers or pid in self._peer_stream_retries_pending:
                continue
            if pid not in subscribed:
                if now - tried.get(pid, -_UNKNOWN_RETRY) < _UNKNOWN_RETRY:
                    continue
                tried[pid] = now
            self._schedule_peer_stream_retry(pid)
            repaired += 1
        if len(tried) > _MAX_REMEMBERED:
            self._repair_tried = {p: t for p, t in tried.items() if now - t < _UNKNOWN_RETRY}
        return repaired

    async def push_msg(self, msg_forwarder: ID, msg: rpc_pb2.Message) -> None:
        """A peer that relays the topic to us is subscribed to it: if its subscription
        is missing here, it was lost (see :meth:`_forget_all_subscriptions`; py-libp2p
        has other such paths, e.g. a new stream of its that raced the old one's end),
        and is taken as announced, unless it unsubscribed (a message it sent before, or
        answered an IWANT with, may still arrive). In 100 hosts starting at once, 1-4 %
        of the connections stayed one-sided without this."""
        topic = self.watched_topic
        if (
            topic in msg.topicIDs
            and msg_forwarder not in self.peer_topics.get(topic, ())
            and msg_forwarder != self.my_id
            and msg_forwarder not in self._unsubscribed
            and not self.is_peer_blacklisted(msg_forwarder)
        ):
            logger.debug("%s relays %s unsubscribed: taken as subscribed", msg_forwarder, topic)
            self.handle_subscription(
                msg_forwarder, rpc_pb2.RPC.SubOpts(subscribe=True, topicid=topic)
            )
        await super().push_msg(msg_forwarder, msg)

    def notify_subscriptions(self, publish_message: rpc_pb2.Message) -> None:
        if self.watched_topic in publish_message.topicIDs and self.watched_topic in self.topic_ids:
            self.on_message(publish_message)

    def handle_subscription(self, origin_id: ID, sub_message: rpc_pb2.RPC.SubOpts) -> None:
        super().handle_subscription(origin_id, sub_message)
        if sub_message.topicid == self.watched_topic:
            if sub_message.subscribe:
                self._unsubscribed.discard(origin_id)
            elif len(self._unsubscribed) < _MAX_REMEMBERED:
                self._unsubscribed.add(origin_id)
            self.on_topic_peers_changed()

    def _forget_all_subscriptions(self, peer_id: ID) -> None:
        """py-libp2p forgets a peer's subscriptions whenever one of its pubsub streams
        dies, also only our sending stream (e.g. on one of two connections, the other
        kept), and then opens a new sending stream. The peer's subscriptions came on
        *its* stream, though, and it sends them only when it opens one: while that
        stream is still read here and the peer connected, forgetting them left it out
        of our topic peers for good, while it counted us (100 hosts starting at once:
        ~4 % of the connections, lasting; a peer connected only there heard nothing,
        and was judged unreachable by everyone)."""
        if self._reader.reading[peer_id] and self._peer_is_connected(peer_id):
            logger.debug("kept the subscriptions of %s: its stream is still read", peer_id)
            return
        self._drop_subscriptions(peer_id)

    def _drop_subscriptions(self, peer_id: ID) -> None:
        super()._forget_all_subscriptions(peer_id)
        self.on_topic_peers_changed()
