"""The pubsub stream's send loop, coalescing (replaces py-libp2p 0.8.1's
``Pubsub.handle_sending_messages`` in :class:`~._libp2p_pubsub.TopicPubsub`).

Why: py-libp2p writes every queued RPC to a peer on its own, and each write is a yamux
frame under the muxer's lock, a noise message (encrypted, length-prefixed) and a socket
send: in a 100-peer start on two cores the hosts spent most of their CPU in that per-
write path while up to 32 RPCs per neighbour waited in the queue behind it (and
hundreds of thousands more were dropped at full queues). :func:`send_rpcs` writes what
the queue holds at once, up to :data:`BATCH_BYTES`, as one write of back-to-back
varint-prefixed RPCs — the same bytes on the wire as the writes one by one, so any
libp2p reader (ours, :mod:`._libp2p_reader`, or py-libp2p's, or go's) splits them the
same way. The queue's order (control before messages) is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from libp2p.abc import INetStream
from libp2p.network.stream.exceptions import StreamClosed, StreamReset
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.rpc_queue import RpcQueue
from libp2p.utils.varint import encode_uvarint

logger = logging.getLogger(__name__)

BATCH_BYTES = 256 << 10
"""At most this many bytes are gathered into one write (more waits for the next): a
batch is one stretch of the yamux send window (256 KiB) at most."""


async def send_rpcs(
    peer_id: ID, stream: INetStream, queue: RpcQueue, dead: Callable[[], None]
) -> None:
    """Write ``queue``'s RPCs to ``stream`` until the queue closes or the stream fails;
    then ``dead()`` (py-libp2p's handling of a dead peer)."""
    try:
        while True:
            rpc = await queue.pop()
            if rpc is None:  # closed
                return
            batch = bytearray()
            _append(batch, rpc)
            while len(queue) and len(batch) < BATCH_BYTES:
                more = await queue.pop()  # returns at once: the queue holds one
                if more is None:
                    break
                _append(batch, more)
            try:
                await stream.write(bytes(batch))
            except (StreamClosed, StreamReset):
                logger.debug("failed to write to %s: stream closed or reset", peer_id)
                dead()
                return
    except Exception:
        logger.debug("sending loop for %s ended with an error", peer_id, exc_info=True)
        dead()


def _append(batch: bytearray, rpc: rpc_pb2.RPC) -> None:
    """``rpc`` behind its unsigned-varint length (go-msgio's delimited framing)."""
    body = rpc.SerializeToString()
    batch += encode_uvarint(len(body))
    batch += body
