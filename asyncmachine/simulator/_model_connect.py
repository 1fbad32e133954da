"""The real :class:`~asyncmachine.pubsub.ConnectionManager` on every model peer.

Each peer's manager drives a :class:`ModelDialer` (its ``Dialer``) over the model
network in virtual time, so the same watermarks, jittered backoff, dial cap, trimming
and exploration as on libp2p decide who connects to whom:

- **dial**: an alive, reachable target (same partition side) is connected after a
  handshake of :data:`HANDSHAKE_RTTS` round trips of the link latency; a dead one
  refuses after one round trip (a process killed on a live host answers with a reset);
  an unreachable one (across a partition) fails after :data:`DIAL_TIMEOUT` ± 10 % (a
  dial into a link that is down).
- **identify** on every new connection: each end learns the other's address
  (``IDENTIFY``), up to :data:`PX_PEERS` of the other's connections (``PX``, what
  gossipsub peer exchange hands out) and the other's links (``note_links``).
- **discover** (the manager asks when it knows too few peers): a one-hop DHT walk as
  on libp2p; up to :data:`DISCOVER_PEERS` random connected peers answer after a round
  trip with up to :data:`DHT_K` of their connections (``DHT``).
- addresses from the Topic engine arrive through ``ModelTransport.learn_addresses``
  (``RECORD``), as on libp2p.

Deterministic: one seeded stream for the network-side choices, one per manager, and
trimming ties broken by a fixed hash of (peer, candidate) rather than by the order of
the manager's connected-peer set, which depends on string hashing
(``PYTHONHASHSEED``).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import replace

import trio

from ..pubsub import (
    AddressSource,
    ConnectCounters,
    ConnectionManager,
    ConnectSettings,
    TrimCandidate,
    TrimScore,
    diversity_score,
)
from ._model_net import ModelNetwork
from ._workload import stream

DIAL_TIMEOUT = 10.0
"""Seconds before a dial into an unreachable network fails (the libp2p transport's
default ``dial_timeout``)."""

HANDSHAKE_RTTS = 2
"""Round trips before a connection is up (TCP, then the security/muxer handshake)."""

PX_PEERS = 16
"""Connections of a new neighbour learned on connect (go: GossipSubPrunePeers)."""

DHT_K = 20
"""Peers in one DHT answer (Kademlia's bucket size k)."""

DISCOVER_PEERS = 2
"""Connected peers asked per discovery round (as on libp2p)."""


def memory_addr(peer_id: str) -> str:
    """The dialable address of a model peer (``InboxTransport.addrs``)."""
    return f"/memory/{peer_id}/p2p/{peer_id}"


def tie_broken(idx: int) -> TrimScore:
    """:func:`diversity_score` plus less than 0.001 from a hash of (``idx``, candidate):
    equal scores get a fixed order, not the order of a ``set[str]``."""

    def score(c: TrimCandidate) -> float:
        h = zlib.crc32(f"{idx}/{c.peer_id}".encode())
        return diversity_score(c) + h / 2**32 * 1e-3

    return score


class ModelDialer:
    """One peer's ``Dialer`` over the model network."""

    def __init__(self, net: ModelNetwork, idx: int) -> None:
        self._net = net
        self._idx = idx

    def _rtt(self) -> float:
        return 2.0 * self._net.hop()

    async def dial(self, peer_id: str, addrs: Sequence[str]) -> None:
        net, p = self._net, self._idx
        q = net.ids.get(peer_id)
        if q is None or q == p:
            await trio.sleep(self._rtt())
            raise ConnectionRefusedError(f"no model peer {peer_id}")
        if net.peers[q] is None:
            await trio.sleep(self._rtt())
            raise ConnectionRefusedError(f"{peer_id} is dead")
        if not net.reachable(p, q):
            await trio.sleep(DIAL_TIMEOUT * net.rng.uniform(0.9, 1.1))
            raise TimeoutError(f"{peer_id} unreachable: timed out")
        await trio.sleep(HANDSHAKE_RTTS * self._rtt())
        if not net.reachable(p, q):
            raise ConnectionResetError(f"{peer_id} went away during the handshake")
        net.link(p, q)

    async def close(self, peer_id: str) -> None:
        q = self._net.ids.get(peer_id)
        if q is not None:
            self._net.unlink(self._idx, q)
        await trio.lowlevel.checkpoint()

    def connected(self) -> set[str]:
        ids = self._net.id_of
        return {ids[q] for q in self._net.adj[self._idx]}


class ModelConnections:
    """Every peer's connection manager, and the identify exchange between them."""

    def __init__(self, net: ModelNetwork, settings: ConnectSettings, seed: int) -> None:
        self.net = net
        self.settings = settings
        self.seed = seed
        self.rng = stream(seed, "connect")
        self.managers: list[ConnectionManager | None] = [None] * net.capacity
        self._ended: list[ConnectCounters] = []
        net.link_listeners.append(self._on_link)

    def attach(self, idx: int) -> ConnectionManager:
        """Create the manager of joined peer ``idx`` (its transport learns through it)."""
        net = self.net
        t = net.peers[idx]
        if t is None:
            raise ValueError(f"peer {idx} has not joined")
        settings = replace(self.settings, tick=self.settings.tick * self.rng.uniform(0.95, 1.05))

        async def discover() -> None:
            await self._discover(idx)

        m = ConnectionManager(
            ModelDialer(net, idx),
            t.peer_id,
            settings,
            score=tie_broken(idx),
            favoured=lambda peer: net.ids.get(peer, -1) in net.mesh[idx],
            discover=discover,
            rng=stream(self.seed, f"connect:{idx}"),
        )
        t.manager = m
        self.managers[idx] = m
        return m

    async def run_peer(self, idx: int, bootstrap: list[int]) -> None:
        """Run peer ``idx``'s manager, starting from its ``bootstrap`` peers, until
        cancelled (the peer left or died)."""
        m = self.managers[idx]
        if m is None:
            raise ValueError(f"peer {idx} has no manager")
        for q in bootstrap:
            pid = self.net.id_of[q]
            m.learn(pid, [memory_addr(pid)], AddressSource.BOOTSTRAP)
        try:
            await m.run()
        finally:
            self._ended.append(m.counters)
            self.managers[idx] = None

    def counters(self) -> ConnectCounters:
        """Dials, failures and trims summed over every manager that ever ran."""
        total = ConnectCounters()
        live = [m.counters for m in self.managers if m is not None]
        for c in [*self._ended, *live]:
            total.dial_attempts += c.dial_attempts
            total.dial_failures += c.dial_failures
            total.trimmed += c.trimmed
        return total

    def _learn_from(
        self, m: ConnectionManager, a: int, b: int, k: int, source: AddressSource
    ) -> None:
        """Peer ``a``'s manager ``m`` learns up to ``k`` random connections of peer ``b``
        (``a`` itself aside) and ``b``'s links."""
        ids, links = self.net.id_of, self.net.adj[b]
        others = [q for q in links if q != a]
        for q in self.rng.sample(others, min(k, len(others))):
            m.learn(ids[q], [memory_addr(ids[q])], source)
        m.note_links(ids[b], sorted(ids[q] for q in links))

    def _on_link(self, p: int, q: int, up: bool) -> None:
        for a, b in ((p, q), (q, p)):
            m = self.managers[a]
            if m is None:
                continue
            if up:
                pid = self.net.id_of[b]
                m.learn(pid, [memory_addr(pid)], AddressSource.IDENTIFY)
                self._learn_from(m, a, b, PX_PEERS, AddressSource.PX)
            m.poke()

    async def _discover(self, idx: int) -> None:
        net = self.net
        links = net.adj[idx]
        asked = self.rng.sample(links, min(DISCOVER_PEERS, len(links)))
        await trio.sleep(2.0 * net.hop())
        m = self.managers[idx]
        for b in asked:
            if m is not None and net.peers[b] is not None:
                self._learn_from(m, idx, b, DHT_K, AddressSource.DHT)
