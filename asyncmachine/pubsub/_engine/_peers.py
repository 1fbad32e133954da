"""Connections and reachability: the transport's peer events and what follows from them
(Go: PeerJoined / PeerLeft).

A connection made or lost changes what this peer knows of the others: who it is
connected to (admission prefers them), who may be unreachable (judged from the links
records of their neighbours, :class:`Reachability`), and whether a separation just
healed (then the next gossip compares versions widely). A :class:`SelfOrganizing`
transport hears which peers the topic lost touch with and found again.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Collection, Iterable, Iterator
from functools import partial

from ...machine import Machine
from .._events import EventKind, Observer, TopicEvent
from .._registry import Registry
from .._settings import TopicSettings
from .._topic_states import ss
from .._transport import GossipTransport, PeerEvent, PeerEventKind, SelfOrganizing
from .._wallclock import wall_ms
from ._hello import Hello
from ._reachability import Reachability
from ._scheduler import Work

log = logging.getLogger(__name__)


class PeerWatch:
    """The engine's side of connections: peer events, reachability, rejoins."""

    def __init__(
        self,
        mach: Machine,
        transport: GossipTransport,
        registry: Registry,
        settings: TopicSettings,
        hello: Hello,
        schedule: Callable[[Work, float], None],
        rng: random.Random,
        emit: Observer,
    ) -> None:
        self._mach = mach
        self._t = transport
        self._self_id = transport.peer_id
        self._reg = registry
        self._s = settings
        self._hello = hello
        self._schedule = schedule
        self._rng = rng
        self._emit = emit
        self.org = transport if isinstance(transport, SelfOrganizing) else None
        """The transport, when it manages its own connections."""
        self.reach = Reachability(self._self_id)
        self.rejoined = False
        """A known peer connected again: the next gossip is a wider digest."""
        self.wide_at = -math.inf
        """When the last wide digest went out."""
        self._connected: dict[str, None] = {}  # peers connected now or before (LRU)
        registry.preferred = self._connected.__contains__

    def take_rejoin(self, now: float) -> bool:
        """Is the gossip going out at ``now`` a wide digest (a peer rejoined since the
        last one)? Marks it sent."""
        if not self.rejoined:
            return False
        self.rejoined = False
        self.wide_at = now
        return True

    def note_connected(self, peers: set[str]) -> None:
        """Remember peers the transport is (or was) connected to: admission prefers
        them (bounded by ``budgets.peers``, least recently connected forgotten first)."""
        cap = self._s.budgets.peers
        for p in peers:
            self._connected.pop(p, None)
            self._connected[p] = None
        while len(self._connected) > cap:
            del self._connected[next(iter(self._connected))]

    def links_of(self, peer_id: str) -> tuple[str, ...]:
        """The connections ``peer_id`` reported in its latest links record."""
        p = self._reg.peers.get(peer_id)
        return p.links.connected if p is not None and p.links is not None else ()

    def judge(self, now: float, peers: Iterable[str]) -> None:
        """Judge ``peers`` for reachability (see :class:`Reachability`); needs
        ``share_links`` (else the peer timeout decides). A neighbour's full list of
        connections (``limits.max_links``) counts as unknown."""
        if not self._s.share_links:
            return
        connected = self._t.connected_peers()
        held = self._reg.peers
        cap = self._s.limits.max_links
        for pid in peers:
            p = held.get(pid)
            if p is None or p.links is None:
                continue
            near: dict[str, Collection[str] | None] = {}
            for n in p.links.connected:
                q = held.get(n)
                conn = q.links.connected if q is not None and q.links is not None else None
                # a full list may have left it out (own_links lists max_links peers)
                near[n] = None if conn is None or len(conn) >= cap else conn
            was = pid in self.reach.unreachable
            listing = partial(self._listing, pid)
            if self.reach.judge(pid, near, pid in connected, now, listing) and not was:
                log.info("[%s] peer %s unreachable", self._self_id[-6:], pid[-6:])
                self._emit(TopicEvent(EventKind.PEER_UNREACHABLE, pid, now))

    def _listing(self, peer_id: str) -> Iterator[str]:
        """Peers whose latest links record lists ``peer_id`` as connected."""
        for pid, p in self._reg.peers.items():
            if p.links is not None and pid != peer_id and peer_id in p.links.connected:
                yield pid

    def note_separation(self, ev: TopicEvent) -> None:
        """Tell a :class:`SelfOrganizing` transport which peers the topic lost touch
        with (judged unreachable, dropped as unreachable or silent) and which it found
        again (discovered, or gone for good): its connection manager dials the former
        to join a partition's halves, and makes no other dials once it has enough."""
        if self.org is None:
            return
        lost = ev.kind is EventKind.PEER_UNREACHABLE or (
            ev.kind is EventKind.PEER_REMOVED and ev.reason in ("unreachable", "timeout")
        )
        self.org.note_separated(ev.peer_id, lost)

    def on_peer_event(self, ev: PeerEvent, now: float) -> None:
        """Go: PeerJoined / PeerLeft (transport subscription events)."""
        s, reg, pid = self._s, self._reg, ev.peer_id
        if ev.kind is PeerEventKind.JOINED:
            self._hello.peer_seen(wall_ms(now))
            self.note_connected({pid})
            if self._reconnected(pid, now):
                # e.g. a healed partition: compare versions widely soon
                self.rejoined = True
                self._schedule(Work.GOSSIP, now + s.request_delay * (1 + self._rng.random()))
            self.reach.connection(pid, True, now)
            self._mach.add1(ss.PeerJoined, {"peer_id": pid})
            self._emit(TopicEvent(EventKind.PEER_JOINED, pid, now))
            reg.heard(pid, now)
            if pid not in reg.peers:
                # it will say hello; ask for it only if it doesn't
                reg.want_info(pid, now + s.hello_retry)
                self._schedule(Work.REQINFO, now + s.hello_retry + s.request_delay)
        else:
            # seen by the transport until now: the peer timeout counts from here
            reg.heard(pid, now)
            self.reach.connection(pid, False, now)
            if s.share_links:  # tell the others at once: they judge reachability
                self._schedule(Work.LINKS, now + s.links_loss_delay)
            self.judge(now, {pid})
            self._mach.add1(ss.PeerLeft, {"peer_id": pid})
            self._emit(TopicEvent(EventKind.PEER_LEFT, pid, now))

    def _reconnected(self, peer_id: str, now: float) -> bool:
        """Gossip a wide digest for this new connection to ``peer_id``? Yes after a
        separation: it was dropped here (unreachable, timed out) or judged unreachable,
        or this peer's own connection to it was down for a heartbeat or longer. For any
        other connection to a known peer (a partition may also heal through peers that
        never had a link), at most once per ``wide_gossip_interval``: connection
        managers make and trim connections all the time (~1/s in a young network of 20
        peers), and a wide digest for each cost two thirds of its CPU."""
        if self._reg.is_tombstoned(peer_id) or peer_id in self.reach.unreachable:
            return True
        lost = self.reach.lost_at(peer_id)
        if lost is not None and now - lost >= self._s.heartbeat:
            return True
        known = peer_id in self._reg.peers or self.reach.knows(peer_id)
        return known and now - self.wide_at >= self._s.wide_gossip_interval
