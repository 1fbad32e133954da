"""The pubsub stream's read loop, buffered (replaces py-libp2p 0.8.1's
``Pubsub.continuously_read_stream`` in :class:`~._libp2p_pubsub.TopicPubsub`).

Why: py-libp2p reads each RPC's varint length prefix one byte at a time and then its
body, and every read passes the stream's state lock and the muxer's streams lock (a
scheduler pass each) and formats several debug log lines — about 23 scheduler steps per
received message in ``benchmarks/cpu_per_update.py``, more CPU than the message's
handling. :class:`RpcFramer` takes everything the muxer holds in one read and splits
it into RPCs. Besides:

- a publish is handled in the read loop itself (``await push_msg``) rather than in a
  new task per message: our validator is synchronous and forwarding only queues, so
  nothing in it waits; the RPC's subscriptions are handled first, as go-libp2p-pubsub
  does, then its messages, then its control part;
- the sender's signed peer record is checked through :class:`~._libp2p_records.SenderRecords`
  (not again while it arrives unchanged);
- an RPC that does not parse, an oversized one and a malformed length prefix reset the
  peer's stream (py-libp2p 0.8.1 let protobuf's ``DecodeError`` and the prefix's
  ``ParseError`` escape into the host's nursery, which ended the whole host);
- the peers whose streams are being read are counted (:attr:`RpcReader.reading`): a
  peer's subscriptions came on its stream and stand while it is read (see
  ``TopicPubsub._forget_all_subscriptions``).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING

from google.protobuf.message import DecodeError
from libp2p.abc import INetStream
from libp2p.exceptions import ParseError
from libp2p.io.exceptions import IncompleteReadError, IOException, MessageTooLarge
from libp2p.network.connection.exceptions import RawConnError
from libp2p.network.stream.exceptions import StreamEOF, StreamError
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import GossipsubEvent

from ._libp2p_records import SenderRecords

if TYPE_CHECKING:
    from libp2p.pubsub.pubsub import Pubsub

logger = logging.getLogger(__name__)

READ_SIZE = 64 << 10
"""Bytes asked of the stream per read: a read returns what the muxer holds, up to this."""

_MAX_PREFIX = 10
"""Bytes of a 64-bit unsigned varint."""


class RpcFramer:
    """Splits a stream into varint-length-prefixed frames (py-libp2p's
    ``read_varint_prefixed_bytes_limited``, buffered). A prefix above ``max_size``
    raises :class:`MessageTooLarge` before its body is read, so the buffer holds at most
    ``max_size`` + :data:`READ_SIZE` + the prefix."""

    def __init__(self, stream: INetStream, max_size: int) -> None:
        self._stream = stream
        self._max = max_size
        self._buf = bytearray()

    async def next(self) -> bytes:
        """The next frame's payload; raises :class:`IncompleteReadError` at the
        stream's end (or the stream's own EOF / reset errors)."""
        while True:
            frame = self._split()
            if frame is not None:
                return frame
            chunk = await self._stream.read(READ_SIZE)
            if not chunk:
                raise IncompleteReadError(
                    f"stream ended with {len(self._buf)} bytes of an unfinished RPC",
                    expected_bytes=1,
                    received_bytes=0,
                )
            self._buf += chunk

    def _split(self) -> bytes | None:
        buf = self._buf
        length = shift = 0
        for i in range(min(len(buf), _MAX_PREFIX)):
            b = buf[i]
            length |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
        else:
            if len(buf) >= _MAX_PREFIX:
                raise ParseError("varint length prefix longer than 10 bytes")
            return None  # the prefix is not complete yet
        if length > self._max:
            raise MessageTooLarge(f"RPC of {length} bytes exceeds the limit of {self._max}")
        start = i + 1
        end = start + length
        if len(buf) < end:
            return None
        frame = bytes(buf[start:end])
        del buf[:end]
        return frame


class RpcReader:
    """The read loop of one peer's pubsub stream (see module docstring); counts the
    RPCs that did not parse in ``undecodable``."""

    def __init__(self, pubsub: Pubsub) -> None:
        self._pubsub = pubsub
        self.undecodable = 0
        self.reading: Counter[ID] = Counter()
        """Streams being read now, per peer."""

    async def run(self, stream: INetStream) -> None:
        """Read and handle RPCs until the stream ends or the pubsub service stops."""
        ps = self._pubsub
        peer_id = stream.muxed_conn.peer_id
        framer = RpcFramer(stream, ps.max_inbound_rpc_size)
        records = SenderRecords(ps.host, peer_id)
        self.reading[peer_id] += 1
        counted = True
        try:
            while ps.manager.is_running:
                incoming = await framer.next()
                rpc = rpc_pb2.RPC()
                rpc.ParseFromString(incoming)
                if not records.accept(rpc):
                    logger.warning("invalid signed peer record from %s: RPC ignored", peer_id)
                    continue
                await self._handle(rpc, peer_id, stream, len(incoming))
        except (DecodeError, MessageTooLarge, ParseError) as e:
            # DecodeError: the RPC, or a record inside it, does not parse
            self.undecodable += isinstance(e, DecodeError)
            logger.warning("bad pubsub RPC from %s (%r): stream reset", peer_id, e)
            try:
                await stream.reset()
            except Exception:
                logger.debug("resetting the stream of %s failed", peer_id, exc_info=True)
            self._done(peer_id)  # its subscriptions go with it
            counted = False
            ps._handle_dead_peer(peer_id)
        except (StreamEOF, StreamError, IOException, RawConnError) as e:
            logger.debug("pubsub stream of %s ended: %r", peer_id, e)
        finally:
            if counted:
                self._done(peer_id)

    def _done(self, peer_id: ID) -> None:
        """One stream of ``peer_id`` is no longer read."""
        self.reading[peer_id] -= 1
        if self.reading[peer_id] <= 0:
            del self.reading[peer_id]

    async def _handle(self, rpc: rpc_pb2.RPC, peer_id: ID, stream: INetStream, size: int) -> None:
        ps = self._pubsub
        if rpc.subscriptions:
            if len(rpc.subscriptions) > ps.max_subscriptions_per_rpc:
                logger.warning(
                    "%s sent %d subscriptions in one RPC (limit %d): ignored",
                    peer_id,
                    len(rpc.subscriptions),
                    ps.max_subscriptions_per_rpc,
                )
            else:
                for sub in rpc.subscriptions:
                    ps.handle_subscription(peer_id, sub)
        for msg in rpc.publish:
            if ps._is_subscribed_to_msg(msg):
                try:
                    await ps.push_msg(peer_id, msg)
                except Exception:
                    logger.exception("handling a message from %s failed", peer_id)
        if rpc.HasField("control"):
            await ps.router.handle_rpc(rpc, peer_id)
        if stream.metric_send_channel is not None:
            event = GossipsubEvent()
            event.peer_id = peer_id.pretty()
            event.message_size = size
            event.publish = bool(rpc.publish)
            event.subopts = bool(rpc.subscriptions)
            event.control = rpc.HasField("control")
            await stream.metric_send_channel.send(event)
