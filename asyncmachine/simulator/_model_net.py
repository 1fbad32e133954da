"""A seeded gossipsub-like model network with per-link latency, jitter and loss.

Every peer is a :class:`ModelTransport` (a ``GossipTransport``), so the real
Topic code runs on it. Messages travel only over **connections** (``adj``):
fixed by a static topology, or opened and closed by each peer's real
``ConnectionManager`` through :mod:`._model_connect` (:meth:`ModelNetwork.link`,
:meth:`ModelNetwork.unlink`). A connection change tells both Topics (JOINED /
LEFT) and :attr:`ModelNetwork.link_listeners`. The model, per message:

- the author sends it to its **mesh** peers (degree ``D`` chosen from its
  connected peers, symmetric, capped at ``2 D``; grafted when a connection
  opens and topped up on heartbeats);
- a peer receiving a message for the first time delivers it locally (the
  ``seen`` cache is a per-message bytearray) and forwards it to its mesh peers
  except the sender and the author; later copies count as **duplicates**;
- every hop takes ``latency ± jitter`` (uniform, rounded up to a 1 ms grid)
  and is lost with probability ``loss``; CPU time is free (latency is virtual);
- every ``heartbeat`` the mesh is topped up (GRAFT) and **gossip repair** runs:
  for a message still missing at a peer within the gossip window (3
  heartbeats), a neighbour holding it "sends IHAVE", the peer "answers IWANT"
  and gets the message after three hops (each lossy). Only useful IHAVEs are
  modelled (an IHAVE for a message the peer has is a no-op and not counted).

A **partition** (:meth:`ModelNetwork.split`) gives every peer a side: connections
across it close at once (as a link going down would, after libp2p's keepalive
timeout: here without that delay) and copies in flight across it are lost;
:meth:`ModelNetwork.rejoin` removes it. A **killed** peer (:meth:`ModelNetwork.kill`)
vanishes like a process killed with -9: its connections close, and whatever its
Topic still publishes (its bye) never leaves it.

Determinism: one ``random.Random``, no wall clock, no set iteration (lists
and per-message bytearrays), deliveries ordered by ``(due time, sequence)``
on Trio's clock (run it under ``trio.testing.MockClock``).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from ..pubsub import GossipMessage, PeerEvent, PeerEventKind
from ._model_transport import ModelTransport

TICK = 0.001
"""Delivery times are rounded up to this grid (1 ms): fewer scheduler wake-ups."""

HISTORY_GOSSIP = 3
"""Heartbeats a message stays eligible for gossip repair (go: GossipSubHistoryGossip)."""


@dataclass(slots=True)
class _Msg:
    author: int
    data: bytes
    seen: bytearray
    last_at: float
    holders: int = 1
    wanted: list[int] = field(default_factory=list)


@dataclass(slots=True)
class PeerTraffic:
    """Link-level counters of one peer (every hop counts, forwards included)."""

    sent: int = 0
    bytes_sent: int = 0
    received: int = 0
    duplicates: int = 0
    lost: int = 0
    repaired: int = 0


class ModelNetwork:
    """The whole simulated gossip network of one topic (one Trio run).

    Run :meth:`run` in a nursery (it schedules deliveries and heartbeats), then
    :meth:`join` peers.
    """

    def __init__(
        self,
        topic: str,
        *,
        capacity: int,
        rng: random.Random,
        latency: float = 0.02,
        jitter: float = 0.005,
        loss: float = 0.0,
        mesh_degree: int = 6,
        heartbeat: float = 1.0,
        buffer: int = 100_000,
    ) -> None:
        self.topic = topic
        self.capacity = capacity
        self.rng = rng
        self.latency = latency
        self.jitter = jitter
        self.loss = loss
        self.d = mesh_degree
        self.d_low = max(1, (mesh_degree * 2) // 3)
        self.d_high = mesh_degree * 2
        self.heartbeat = heartbeat
        self.buffer = buffer
        self.peers: list[ModelTransport | None] = [None] * capacity
        self.adj: list[list[int]] = [[] for _ in range(capacity)]
        self.mesh: list[list[int]] = [[] for _ in range(capacity)]
        self.traffic: list[PeerTraffic] = [PeerTraffic() for _ in range(capacity)]
        self.ids: dict[str, int] = {}
        self.id_of: list[str] = [""] * capacity
        self._secrets: list[bytes] = [b""] * capacity
        self._heap: list[tuple[float, int, int, int, _Msg]] = []
        self._seq = 0
        self._wake = trio.Event()
        self._recent: deque[_Msg] = deque()
        self.alive = 0
        self.side = bytearray(capacity)
        self.partitioned = False
        self.link_listeners: list[Callable[[int, int, bool], None]] = []
        """Called after a connection ``p`` -- ``q`` opened (True) or closed (False)."""

    # --- membership and connections ---------------------------------------

    def join(self, idx: int, peer_id: str, neighbours: list[int]) -> ModelTransport:
        """Add peer ``idx`` connected to ``neighbours`` (alive ones are linked)."""
        if self.peers[idx] is not None:
            raise ValueError(f"peer {idx} already joined")
        t = ModelTransport(self, idx, peer_id)
        self.peers[idx] = t
        self.ids[peer_id] = idx
        self.id_of[idx] = peer_id
        self._secrets[idx] = self.rng.randbytes(16)
        self.alive += 1
        for q in neighbours:
            self.link(idx, q, graft=False)
        self._graft(idx)
        return t

    def leave(self, idx: int) -> None:
        """Remove peer ``idx`` (its connections and mesh edges go with it)."""
        t = self.peers[idx]
        if t is None:
            return
        for q in list(self.adj[idx]):
            self.unlink(idx, q)
        self.peers[idx] = None
        self.alive -= 1
        t.close()

    def kill(self, idx: int) -> None:
        """Peer ``idx`` dies abruptly: connections drop, nothing it publishes from now
        on leaves it (no bye), then it is removed like :meth:`leave`."""
        t = self.peers[idx]
        if t is not None:
            t.killed = True
            self.leave(idx)

    def reachable(self, p: int, q: int) -> bool:
        """Could ``p`` open a connection to ``q`` now (alive, same partition side)?"""
        return self.peers[q] is not None and self.side[p] == self.side[q]

    def link(self, p: int, q: int, *, graft: bool = True) -> bool:
        """Open a connection ``p`` -- ``q`` (False if there is one, or it cannot exist);
        ``graft``: add it to the mesh when one side wants more mesh peers (below D)
        and the other accepts (below 2 D)."""
        tp, tq = self.peers[p], self.peers[q]
        if p == q or tp is None or tq is None or q in self.adj[p] or not self.reachable(p, q):
            return False
        self.adj[p].append(q)
        self.adj[q].append(p)
        tq.push_peer_event(PeerEvent(PeerEventKind.JOINED, tp.peer_id))
        tp.push_peer_event(PeerEvent(PeerEventKind.JOINED, tq.peer_id))
        mp, mq = self.mesh[p], self.mesh[q]
        if graft and (
            (len(mp) < self.d and len(mq) < self.d_high)
            or (len(mq) < self.d and len(mp) < self.d_high)
        ):
            mp.append(q)
            mq.append(p)
        for listener in self.link_listeners:
            listener(p, q, True)
        return True

    def unlink(self, p: int, q: int) -> bool:
        """Close the connection ``p`` -- ``q`` (False if there was none)."""
        if q not in self.adj[p]:
            return False
        self.adj[p].remove(q)
        self.adj[q].remove(p)
        for a, b in ((p, q), (q, p)):
            if b in self.mesh[a]:
                self.mesh[a].remove(b)
            t = self.peers[a]
            if t is not None:
                t.push_peer_event(PeerEvent(PeerEventKind.LEFT, self.id_of[b]))
        for listener in self.link_listeners:
            listener(p, q, False)
        return True

    def split(self, sides: bytearray) -> list[tuple[int, int]]:
        """Partition the network: peer ``i`` is on side ``sides[i]``; connections across
        close now (returned), copies in flight across are lost, dials across fail."""
        self.side[:] = sides
        self.partitioned = True
        cut = [(p, q) for p in range(self.capacity) for q in self.adj[p] if p < q]
        cut = [(p, q) for p, q in cut if sides[p] != sides[q]]
        for p, q in cut:
            self.unlink(p, q)
        return cut

    def rejoin(self) -> None:
        """End the partition: every peer can reach every other again."""
        self.side[:] = bytes(self.capacity)
        self.partitioned = False

    def _graft(self, p: int) -> None:
        cands = [q for q in self.adj[p] if q not in self.mesh[p]]
        self.rng.shuffle(cands)
        for q in cands:
            if len(self.mesh[p]) >= self.d:
                break
            if len(self.mesh[q]) < self.d_high:
                self.mesh[p].append(q)
                self.mesh[q].append(p)

    # --- signatures (simulation only: keyed BLAKE2b per peer) ----------------

    def sign_as(self, idx: int, data: bytes) -> bytes:
        return hashlib.blake2b(data, key=self._secrets[idx], digest_size=16).digest()

    def verify(self, peer_id: str, data: bytes, signature: bytes) -> bool:
        idx = self.ids.get(peer_id)
        if idx is None:
            return False
        return hmac.compare_digest(self.sign_as(idx, data), signature)

    # --- delivery -----------------------------------------------------------

    def publish(self, src: int, data: bytes) -> None:
        now = trio.current_time()
        msg = _Msg(src, data, bytearray(self.capacity), now)
        msg.seen[src] = 1
        self._recent.append(msg)
        for q in self.mesh[src]:
            self._send(src, q, msg, now, 0.0)

    def hop(self) -> float:
        """One link delay: ``latency ± jitter`` (uniform)."""
        if self.jitter <= 0:
            return self.latency
        return max(0.0, self.latency + self.jitter * (2.0 * self.rng.random() - 1.0))

    def _send(self, src: int, dst: int, msg: _Msg, now: float, extra: float) -> None:
        tr = self.traffic[src]
        tr.sent += 1
        tr.bytes_sent += len(msg.data)
        if self.loss > 0 and self.rng.random() < self.loss:
            tr.lost += 1
            return
        # quantised up to TICK: deliveries due in the same tick run in one batch
        due = math.ceil((now + extra + self.hop()) / TICK) * TICK
        self._seq += 1
        item = (due, self._seq, dst, src, msg)
        heapq.heappush(self._heap, item)
        if self._heap[0] is item:
            self._wake.set()

    def _deliver(self, dst: int, src: int, msg: _Msg, now: float) -> None:
        t = self.peers[dst]
        if t is None or (self.partitioned and self.side[src] != self.side[dst]):
            return
        tr = self.traffic[dst]
        tr.received += 1
        if msg.seen[dst]:
            tr.duplicates += 1
            return
        msg.seen[dst] = 1
        msg.holders += 1
        msg.last_at = now
        t.push_message(GossipMessage(self.id_of[msg.author], msg.data, now))
        for q in self.mesh[dst]:
            if q != src and q != msg.author:
                self._send(dst, q, msg, now, 0.0)

    async def run(self) -> None:
        """Deliver due messages and run heartbeats, forever (cancel to stop)."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._heartbeats)
            while True:
                heap = self._heap
                if not heap:
                    await self._wake.wait()
                    self._wake = trio.Event()
                    continue
                now = trio.current_time()
                due = heap[0][0]
                if due > now:
                    with trio.move_on_at(due):
                        await self._wake.wait()
                    self._wake = trio.Event()
                    continue
                while heap and heap[0][0] <= now:
                    _, _, dst, src, msg = heapq.heappop(heap)
                    self._deliver(dst, src, msg, now)
                await trio.lowlevel.checkpoint()

    async def _heartbeats(self) -> None:
        # a random phase: no deadline ties with other periodic tasks (Trio breaks
        # ties by object id, which is not reproducible)
        await trio.sleep(self.heartbeat * self.rng.random())
        while True:
            await trio.sleep(self.heartbeat)
            self.heartbeat_once(trio.current_time())

    def heartbeat_once(self, now: float) -> None:
        """Mesh maintenance and gossip repair (go: GossipSub heartbeat)."""
        for p in range(self.capacity):
            if self.peers[p] is not None and len(self.mesh[p]) < self.d_low:
                self._graft(p)
        window = HISTORY_GOSSIP * self.heartbeat
        recent = self._recent
        while recent and now - recent[0].last_at > window:
            recent.popleft()
        if not recent:
            return
        alive = self.alive
        hop3 = 2 * self.latency
        for msg in list(recent):
            if msg.holders >= alive and not self.loss:
                continue
            seen = msg.seen
            for q in range(self.capacity):
                if seen[q] or self.peers[q] is None or q in msg.wanted:
                    continue
                holders = [p for p in self.adj[q] if seen[p] and self.peers[p] is not None]
                if not holders:
                    continue
                p = holders[self.rng.randrange(len(holders))]
                msg.wanted.append(q)
                lost = self.rng.random() < self.loss or self.rng.random() < self.loss
                if self.loss > 0 and lost:
                    continue  # IHAVE or IWANT lost
                self.traffic[p].repaired += 1
                self._send(p, q, msg, now, hop3)
