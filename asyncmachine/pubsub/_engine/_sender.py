"""Publishing one message, and the Topic's work states around it (Go: SendMsg)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager

import trio

from ...machine import Machine
from .._events import TopicMetrics
from .._transport import GossipTransport
from .._wire import Message, encode_message

log = logging.getLogger(__name__)


class Sender:
    """Encodes and publishes messages, counting them; never raises a transport error."""

    def __init__(self, mach: Machine, transport: GossipTransport, metrics: TopicMetrics) -> None:
        self._mach = mach
        self._t = transport
        self._m = metrics
        self.last_publish = -math.inf
        """Trio time of the last successful publish (keepalive gossip counts from it)."""

    async def publish(self, msg: Message) -> bool:
        """Encode and publish one message (Go: SendMsg); errors are counted, not raised."""
        data = encode_message(msg)
        tname = msg.TYPE.label
        try:
            await self._t.publish(data)
        except (trio.Cancelled, KeyboardInterrupt):
            raise
        except Exception as e:
            self._m.publish_errors += 1
            log.debug("[%s] publish %s failed: %r", self._t.peer_id[-6:], tname, e)
            return False
        self._m.msgs_sent += 1
        self._m.bytes_sent += len(data)
        self._m.sent_by_type[tname] += 1
        self.last_publish = trio.current_time()
        return True

    @contextmanager
    def flag(self, state: str) -> Iterator[None]:
        """Keep the work state ``state`` (e.g. SendInfo) active for the block, also
        when a publish in it is cancelled."""
        self._mach.add1(state)
        try:
            yield
        finally:
            self._mach.remove1(state)
