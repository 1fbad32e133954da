"""A transport-agnostic connection manager: keeps a peer's topic connections between
a low and a high watermark, so the network organizes and heals itself.

Go has two halves of this: go-libp2p's ``connmgr`` (trim above a high watermark, grace
period, protected peers) and the dialing side of discovery (``backoff.BackoffConnector``).
Here both run on Trio's clock only, through a small :class:`Dialer`, so the simulator's
model backend can run the same logic in virtual time (``trio.testing.MockClock``).

- Below ``low`` it dials known, unconnected peers whose backoff has passed, most
  reliable first, the rest in random order (random choices make an expander-like graph,
  not a star around the bootstrap peer).
- Between ``low`` and ``target`` (default: halfway to ``high``) it makes one
  exploratory dial to a random known peer per ``explore_interval``; from ``target`` to
  ``high`` only to peers the topic lost touch with (:meth:`ConnectionManager.note_separated`:
  judged unreachable, or dropped as silent). Either joins the halves of a network again
  after a partition. Exploring up to ``high`` pushed every peer there, and trims then
  churned connections for good (each one costs links records and gossip everywhere: an
  idle 40-peer libp2p network saturated two cores within two minutes). Exploration
  that fails backs off, doubling up to ``explore_max``.
- Above ``high`` it closes the connections a :data:`TrimScore` ranks lowest; the default
  (:func:`diversity_score`) trims hubs and peers reachable through other neighbours
  first, so a node keeps a diverse set. Connections younger than ``grace`` are kept,
  counted from when the manager first saw them: also an inbound connection whose peer
  is not in the book yet (its identify addresses arrive later), which a bootstrap
  peer gets by the dozen at once.
- Failed dials back off exponentially per peer with jitter; a global token bucket caps
  dials per second however many addresses arrive.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

import trio

from ._connect_book import (
    AddressBook,
    AddressSource,
    AddrValidator,
    PeerEntry,
    basic_addr_validator,
)
from ._connect_policy import (
    ConnectCounters,
    ConnectSettings,
    Dialer,
    TrimCandidate,
    TrimScore,
    diversity_score,
)

logger = logging.getLogger(__name__)

_MAX_LINKS = 256
"""Reported links kept per peer (for :func:`diversity_score`)."""


class ConnectionManager:
    """Dials and trims through a :class:`Dialer`; run :meth:`run` in a nursery.

    Feed it with :meth:`learn` (addresses, from any :class:`AddressSource`),
    :meth:`note_links` (a peer's own connections, for trimming) and :meth:`poke`
    (connections changed). ``discover`` is awaited when the book has no peer to dial but
    more are wanted; rounds are ``discover_interval`` apart, doubling up to
    ``discover_max`` while they find nobody new.
    """

    def __init__(
        self,
        dialer: Dialer,
        own_id: str,
        settings: ConnectSettings | None = None,
        *,
        validate: AddrValidator = basic_addr_validator,
        score: TrimScore = diversity_score,
        favoured: Callable[[str], bool] = lambda peer: False,
        discover: Callable[[], Awaitable[None]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings or ConnectSettings()
        self.book = AddressBook(own_id, validate)
        self._dialer = dialer
        self._score = score
        self._favoured = favoured
        self._discover = discover
        self._rng = rng or random.Random()
        self._in_flight: set[str] = set()
        self._recent_dials: deque[float] = deque()  # start times within the last second
        self._next_explore = 0.0
        self._explore_gap = self.settings.explore_interval
        self._separated: dict[str, None] = {}
        """Peers the topic lost touch with (insertion-ordered: reproducible runs)."""
        self._next_discover = 0.0
        self._discover_gap = self.settings.discover_interval
        self._wake = trio.Event()
        self._counters = ConnectCounters()
        self._up: set[str] = set()
        """Book entries marked connected (``connected_since`` set)."""
        self._unknown_since: dict[str, float] = {}
        """Connected peers not in the book (yet), with when :meth:`_sync` first saw
        them: their grace period runs from then, not from when they are learned."""

    # ------------------------------------------------------------------ inputs

    def learn(self, peer_id: str, addrs: Iterable[str], source: AddressSource) -> bool:
        """Remember addresses of ``peer_id`` (validated, bounded); True if any was kept."""
        entry = self.book.learn(peer_id, addrs, source, trio.current_time())
        if entry is not None and entry.connected_since is None:
            self.poke()
        return entry is not None

    def note_links(self, peer_id: str, connected: Iterable[str]) -> None:
        """Record ``peer_id``'s own connections (from its link reports) for trimming."""
        entry = self.book.get(peer_id)
        if entry is not None:
            entry.links = frozenset(list(connected)[:_MAX_LINKS])

    def hold_off(self, peer_id: str) -> None:
        """Count a failure for ``peer_id`` and wait its backoff before dialing it (a
        failed dial made elsewhere, or a connection closed on purpose)."""
        entry = self.book.get(peer_id)
        if entry is not None:
            entry.failures += 1
            entry.next_attempt = trio.current_time() + self.backoff(entry.failures)

    def note_separated(self, peer_id: str, separated: bool) -> None:
        """The topic lost touch with ``peer_id`` (True: judged unreachable, or dropped
        as silent) or found it again (False). Between the watermarks only such peers are
        dialled; a connection to one ends its separation here."""
        if not separated:
            self._separated.pop(peer_id, None)
        elif peer_id in self.book.peers and peer_id not in self._up:
            self._separated[peer_id] = None
            if len(self._separated) > self.book.max_peers:  # the book forgot some
                del self._separated[next(iter(self._separated))]
            self.poke()

    def poke(self) -> None:
        """Re-evaluate now (connections changed or new addresses arrived)."""
        self._wake.set()

    @property
    def counters(self) -> ConnectCounters:
        c = self._counters
        return ConnectCounters(
            known=len(self.book),
            connected=len(self._dialer.connected()),
            dial_attempts=c.dial_attempts,
            dial_failures=c.dial_failures,
            trimmed=c.trimmed,
            dropped=dict(self.book.dropped),
        )

    # ------------------------------------------------------------------ policy

    def backoff(self, failures: int) -> float:
        """Jittered delay after ``failures`` consecutive failures (>= 1)."""
        s = self.settings
        base = min(s.backoff_max, s.backoff_initial * 2.0 ** max(0, failures - 1))
        return base * self._rng.uniform(1 - s.jitter, 1 + s.jitter)

    def _take_token(self, now: float) -> float | None:
        """Count a dial at ``now`` if the 1 s window allows it (None), else return when
        the window will allow the next one."""
        recent = self._recent_dials
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if len(recent) >= self.settings.max_dials_per_second:
            return recent[0] + 1.0
        recent.append(now)
        return None

    def _sync(self, now: float) -> set[str]:
        """Mark connections opened/lost since the last look; returns the connected set.
        Looks only at connected peers and those marked up (not the whole book: it runs
        on every poke, and a node learns the addresses of every peer of the network)."""
        connected = self._dialer.connected()
        unknown = self._unknown_since
        for peer in [p for p in unknown if p not in connected]:
            del unknown[peer]
        up, book = self._up, self.book
        for peer in connected:
            entry = book.get(peer)
            if entry is None:
                unknown.setdefault(peer, now)
                continue
            up.add(peer)
            self._separated.pop(peer, None)
            if entry.connected_since is None:
                # learned while connected (identify): its grace runs from first sight
                entry.connected_since = unknown.pop(peer, now)
                entry.failures, entry.last_seen = 0, now
        for peer in [p for p in up if p not in connected]:
            up.discard(peer)
            entry = book.get(peer)
            if entry is None or entry.connected_since is None:
                continue
            # lost: a short-lived connection (trimmed by the other side, flapping)
            # counts as a failure, so we do not fight the other side's trimming
            if now - entry.connected_since < self.settings.grace:
                entry.failures += 1
            entry.connected_since = None
            entry.last_seen = now
            entry.next_attempt = now + self.backoff(max(1, entry.failures))
        return connected

    def _candidates(self, now: float, connected: set[str]) -> list[PeerEntry]:
        due = [
            e
            for e in self.book.peers.values()
            if e.peer_id not in connected and e.peer_id not in self._in_flight
            if e.next_attempt <= now and e.addrs
        ]
        self._rng.shuffle(due)
        due.sort(key=lambda e: e.failures)  # stable: random order within a failure count
        return due

    def _wanted(self, now: float, n: int) -> int:
        s = self.settings
        if n + len(self._in_flight) < s.low:
            self._next_explore = now + s.explore_interval  # explore only once settled
            return s.low - n - len(self._in_flight)
        return 0

    def _exploration(self, now: float, connected: set[str]) -> list[PeerEntry]:
        """One peer to dial between the watermarks, if one is due: any below
        ``target``, else one the topic lost touch with."""
        s = self.settings
        if len(connected) >= s.high or self._in_flight or now < self._next_explore:
            return []
        target = s.target if s.target is not None else (s.low + s.high) // 2
        if len(connected) < target:
            due = self._candidates(now, connected)[:1]
            if due:
                self._next_explore = now + self._explore_gap * self._rng.uniform(0.5, 1.5)
            return due
        if not self._separated:
            return []
        due = []
        for peer in list(self._separated):
            entry = self.book.get(peer)
            if entry is None or peer in connected:
                del self._separated[peer]  # forgotten by the book, or connected again
            elif entry.next_attempt <= now and entry.addrs:
                due.append(entry)
        if not due:
            return []
        self._next_explore = now + self._explore_gap * self._rng.uniform(0.5, 1.5)
        return [self._rng.choice(due)]

    def plan_trim(self, now: float, connected: set[str]) -> list[str]:
        """Which connections to close to get down to ``high`` (greedy, lowest score first,
        recomputing ``shared`` after each pick so a whole cluster is not cut away)."""
        excess = len(connected) - self.settings.high
        if excess <= 0:
            return []
        entries = {p: self.book.get(p) for p in connected}
        since = {p: self._since(p, e, now) for p, e in entries.items()}
        kept = set(connected)
        eligible = [p for p in connected if now - since[p] >= self.settings.grace]
        victims: list[str] = []
        while len(victims) < excess and eligible:

            def candidate(p: str) -> TrimCandidate:
                e = entries[p]
                links = e.links if e is not None else frozenset()
                return TrimCandidate(
                    p,
                    len(links) if links else None,
                    len(links & (kept - {p})),
                    self._favoured(p),
                    now - since[p],
                    e.source if e is not None else AddressSource.IDENTIFY,
                )

            self._rng.shuffle(eligible)  # ties: random
            victim = min(eligible, key=lambda p: self._score(candidate(p)))
            eligible.remove(victim)
            kept.discard(victim)
            victims.append(victim)
        return victims

    def _since(self, peer: str, entry: PeerEntry | None, now: float) -> float:
        """When the connection to ``peer`` was first seen (``now`` if not seen yet: a
        connection :meth:`_sync` has not looked at is the youngest there is)."""
        if entry is not None and entry.connected_since is not None:
            return entry.connected_since
        return self._unknown_since.get(peer, now)

    # ------------------------------------------------------------------ the loop

    async def run(self) -> None:
        """Dial, trim and discover until cancelled."""
        async with trio.open_nursery() as nursery:
            while True:
                delay = self.step(nursery)
                with trio.move_on_after(delay):
                    await self._wake.wait()
                self._wake = trio.Event()

    def step(self, nursery: trio.Nursery) -> float:
        """One round of decisions; starts dials/closes in ``nursery``; returns how long
        the loop may sleep before the next round."""
        s, now = self.settings, trio.current_time()
        connected = self._sync(now)
        wanted = min(
            self._wanted(now, len(connected)), s.max_concurrent_dials - len(self._in_flight)
        )
        # the book holds every peer of the network: only scanned when a dial is wanted
        if wanted > 0:
            candidates, explore = self._candidates(now, connected), False
        else:
            candidates, explore = self._exploration(now, connected), True
            wanted = len(candidates)
        wake = now + s.tick
        for entry in candidates[: max(0, wanted)]:
            free_at = self._take_token(now)
            if free_at is not None:
                wake = min(wake, free_at)
                break
            self._in_flight.add(entry.peer_id)
            nursery.start_soon(self._dial, entry, explore)
        short = wanted > len(candidates)
        if short and self._discover is not None and now >= self._next_discover:
            self._next_discover = now + self._discover_gap
            nursery.start_soon(self._run_discover)
        for peer in self.plan_trim(now, connected):
            self._counters.trimmed += 1
            nursery.start_soon(self._close, peer)
        if wanted > 0:
            pending = [e.next_attempt for e in self.book.peers.values() if e.next_attempt > now]
            if pending:
                wake = min(wake, min(pending))
        return max(0.0, wake - now)

    async def _dial(self, entry: PeerEntry, explore: bool = False) -> None:
        """Dial ``entry``; ``explore``: an exploratory dial, whose failures space out
        the next ones (doubling up to ``explore_max``)."""
        self._counters.dial_attempts += 1
        s = self.settings
        try:
            await self._dialer.dial(entry.peer_id, list(reversed(entry.addrs)))
        except Exception as e:
            now = trio.current_time()
            entry.failures += 1
            entry.next_attempt = now + self.backoff(entry.failures)
            self._counters.dial_failures += 1
            if explore:
                cap = max(s.explore_max, s.explore_interval)
                self._explore_gap = min(2 * self._explore_gap, cap)
            logger.debug("dial %s failed (%d in a row): %s", entry.peer_id, entry.failures, e)
        else:
            now = trio.current_time()
            entry.failures, entry.last_seen = 0, now
            entry.connected_since = entry.connected_since or now
            self._up.add(entry.peer_id)
            self._separated.pop(entry.peer_id, None)
            if explore:
                self._explore_gap = s.explore_interval
        finally:
            self._in_flight.discard(entry.peer_id)
            self.poke()

    async def _close(self, peer: str) -> None:
        try:
            await self._dialer.close(peer)
        except Exception as e:
            logger.debug("closing %s failed: %s", peer, e)
        self.poke()

    async def _run_discover(self) -> None:
        assert self._discover is not None
        known = len(self.book)
        try:
            await self._discover()
        except Exception as e:
            logger.debug("discovery round failed: %s", e)
        s = self.settings
        grew = len(self.book) > known
        self._discover_gap = (
            s.discover_interval if grew else min(2 * self._discover_gap, s.discover_max)
        )
        self.poke()
