"""A GossipTransport wrapper that adds raw gossipsub latency probes.

Probes are published on the same topic as the Topic's messages, marked by
:data:`MAGIC`, and filtered out before the Topic sees them; their payload
carries ``time.monotonic()`` of the publish (one clock for every process on a
host), so publish -> deliver latency is measured on the very same network.
"""

from __future__ import annotations

import struct
import time

import trio

from ..pubsub import GossipMessage, GossipTransport, PeerEvent

MAGIC = b"\x00AMSIM-PROBE\x00"
_FMT = "!dI"


def trio_to_mono() -> float:
    """Offset to add to ``trio.current_time()`` to get ``time.monotonic()``."""
    return time.monotonic() - trio.current_time()


class ProbeTransport:
    """Delegates to ``inner``; :meth:`pump` must run to feed :attr:`messages`."""

    def __init__(self, inner: GossipTransport, size: int = 64) -> None:
        self.inner = inner
        self.size = size
        self._send, self._recv = trio.open_memory_channel[GossipMessage](4096)
        self.probe_latencies: list[float] = []
        self.probe_at: list[float] = []
        """``time.monotonic()`` receive times of :attr:`probe_latencies`."""
        self.probes_sent = 0
        self.offset = 0.0
        self.authors: dict[float, str] | None = None
        """When set (``--stages``): the author of each Topic message by its receive time
        (Trio), so a mirror change can tell whether its record came from its owner."""

    async def pump(self) -> None:
        """Move messages from the inner transport, recording and dropping probes."""
        self.offset = trio_to_mono()
        async with self._send:
            async for gm in self.inner.messages:
                if gm.data.startswith(MAGIC):
                    sent, _ = struct.unpack_from(_FMT, gm.data, len(MAGIC))
                    at = gm.received_at + self.offset
                    self.probe_latencies.append(at - sent)
                    self.probe_at.append(at)
                    continue
                if self.authors is not None:
                    self.authors[gm.received_at] = gm.author
                try:
                    self._send.send_nowait(gm)
                except trio.WouldBlock:
                    await self._send.send(gm)

    async def send_probe(self, idx: int) -> None:
        body = MAGIC + struct.pack(_FMT, time.monotonic(), idx)
        await self.inner.publish(body.ljust(self.size, b"\x00"))
        self.probes_sent += 1

    @property
    def peer_id(self) -> str:
        return self.inner.peer_id

    @property
    def topic(self) -> str:
        return self.inner.topic

    def addrs(self) -> list[str]:
        return self.inner.addrs()

    @property
    def messages(self) -> trio.MemoryReceiveChannel[GossipMessage]:
        return self._recv

    @property
    def peer_events(self) -> trio.MemoryReceiveChannel[PeerEvent]:
        return self.inner.peer_events

    @property
    def dropped(self) -> int:
        return self.inner.dropped

    async def publish(self, data: bytes) -> None:
        await self.inner.publish(data)

    def sign(self, data: bytes) -> bytes:
        return self.inner.sign(data)

    def verify(self, peer_id: str, data: bytes, signature: bytes) -> bool:
        return self.inner.verify(peer_id, data, signature)

    def topic_peers(self) -> set[str]:
        return self.inner.topic_peers()

    def connected_peers(self) -> set[str]:
        return self.inner.connected_peers()

    def mesh_peers(self) -> set[str]:
        return self.inner.mesh_peers()

    async def connect(self, addr: str) -> None:
        await self.inner.connect(addr)
