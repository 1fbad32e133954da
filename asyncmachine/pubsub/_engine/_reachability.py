"""Noticing a dead peer in seconds, from its neighbours' signed links records.

A peer killed with -9 sends no ``bye``; without help its mirrors would stay for the
whole peer timeout (minutes in big networks), although the peers connected to it saw
their connections drop at once. Those neighbours publish a new links record promptly
when they lose a connection (``TopicSettings.links_loss_delay``); this part reads the
records. Peer D is *unreachable* when this peer is not connected to it and at least half, and
at least ``min(2, neighbours)``, of D's neighbours — the peers D's own latest links
record lists as connected, plus this peer if it saw its own connection to D drop — say
they lost it: their links records, newer than D's, no longer list D. For every other
neighbour the newest statement (its own record, or D's newer one) is that the link is
up. Its mirrors are dropped ``unreachable_grace`` seconds later unless D is heard from
meanwhile.

A live peer's own record lags behind its connections (new ones are reported at most
every ``links_interval``; under load any record arrives seconds late), so D's current
neighbours also count: every other peer whose links record, newer than D's, lists D
says the link is up (*vouches* for D). Without them a young network, whose connection
managers still dial and trim, judged live peers unreachable whenever the reports of
trimmed links outran D's own record, and then spent minutes finding them again.

A links record lists at most ``limits.max_links`` connections, so a full list says
nothing of the peers it leaves out (the caller passes None for it). A hub of a young
network holds more: young peers whose own first record named only the hub were judged
unreachable by every peer at once, while connected to it. A links record applied only
with its owner's info (it came first) arrives with that info (``Engine.take_info``).

A verdict that rests on one neighbour's report alone (D's record lists one peer, not
this one) is *weak*: it stands only once D has also missed a keepalive
(:meth:`Reachability.due`). A single report is often a view of the link that D doesn't
share, not a loss: in a young network py-libp2p's peer tables of a hub could lack a
peer that still counted the hub as its one topic peer, and D, its connections
unchanged, had no reason to send a newer record; every peer dropped it, over and over.
A dead D with a single neighbour is dropped a keepalive later than with two; the
neighbour itself saw the connection drop and judges at once.

Why half: a live peer over its connection high-water mark closes some connections at
once (a trim), and those peers report the loss like a death. D's own new record, which
no longer lists them, lifts any verdict, but under load it can arrive seconds after
their reports; a trim closes only the connections above the high-water mark (most of
them only past twice the mark), while a dead peer loses them all.

One peer can't evict another: links records are signed by their reporters, a verdict
needs two of D's neighbours, and a report older than D's own record doesn't count (D
may have connected to the reporter since). A peer whose only neighbour lies is
reachable only through that liar anyway.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping


class Reachability:
    """Which peers are unreachable, judged from links records and own connections."""

    def __init__(self, self_id: str) -> None:
        self._self_id = self_id
        self._links_at: dict[str, float] = {}  # peer -> arrival of its latest links record
        self._lost_here: dict[str, float] = {}  # peers our own connection to dropped
        self._unreachable: dict[str, float] = {}  # peer -> time of the verdict
        self._suspects: set[str] = set()  # judged with some report of a loss
        self._weak: set[str] = set()  # verdicts resting on one neighbour's report

    @property
    def unreachable(self) -> Mapping[str, float]:
        """Peers judged unreachable, with the time of the verdict."""
        return self._unreachable

    def links_arrived(self, peer: str, now: float) -> None:
        """A new links record of ``peer`` was applied."""
        self._links_at[peer] = now
        self._unreachable.pop(peer, None)  # it signed something new: not dead

    def connection(self, peer: str, up: bool, now: float) -> None:
        """This peer's own connection to ``peer`` came up or dropped."""
        if up:
            self._lost_here.pop(peer, None)
            self._unreachable.pop(peer, None)
        else:
            self._lost_here[peer] = now

    def lost_at(self, peer: str) -> float | None:
        """When this peer's own connection to ``peer`` dropped (None: it didn't, or it
        came back since)."""
        return self._lost_here.get(peer)

    def alive(self, peer: str) -> None:
        """A message ``peer`` authored arrived: lift a verdict (the next judgement
        decides again; messages sent just before a death arrive after it)."""
        self._unreachable.pop(peer, None)

    def forget(self, peer: str) -> None:
        """``peer`` was removed: drop what is known of it."""
        self._links_at.pop(peer, None)
        self._lost_here.pop(peer, None)
        self._unreachable.pop(peer, None)
        self._suspects.discard(peer)
        self._weak.discard(peer)

    def suspects(self) -> set[str]:
        """Peers whose last judgement saw a report of a lost connection, or whose
        connection here dropped: the only ones a periodic judgement can find
        unreachable (every other change of the inputs is judged when it arrives)."""
        return self._suspects | self._lost_here.keys()

    def judge(
        self,
        peer: str,
        neighbours: Mapping[str, Collection[str] | None],
        connected: bool,
        now: float,
        listing: Callable[[], Iterable[str]] | None = None,
    ) -> bool:
        """Is ``peer`` unreachable now? ``neighbours``: the peers its latest links record
        lists, each with its own latest reported connections (None: unknown);
        ``connected``: this peer is connected to it now; ``listing``: the peers whose
        latest links records list ``peer`` (called only for a verdict: a scan of all
        records), each a vouching neighbour when its record is newer than ``peer``'s.
        Records the verdict's time."""
        if connected:
            self.connection(peer, True, now)
            self._suspects.discard(peer)
            return False
        lost_here = peer in self._lost_here
        near = set(neighbours) | ({self._self_id} if lost_here else set())
        if not near:
            return False
        since = self._links_at.get(peer, -math.inf)
        lost = int(lost_here)
        for n, conn in neighbours.items():
            if n == self._self_id or conn is None or peer in conn:
                continue
            if self._links_at.get(n, -math.inf) > since:
                lost += 1
        if lost:
            self._suspects.add(peer)
        else:
            self._suspects.discard(peer)
        if lost < min(2, len(near)) or 2 * lost < len(near):
            return False
        if listing is not None:
            near |= {n for n in listing() if self._links_at.get(n, -math.inf) > since}
            if 2 * lost < len(near):
                return False
        if lost == 1 and not lost_here:
            self._weak.add(peer)
        else:
            self._weak.discard(peer)
        self._unreachable.setdefault(peer, now)
        return True

    def knows(self, peer: str) -> bool:
        """Is anything held about ``peer`` (without building :meth:`known`)?"""
        return peer in self._links_at or peer in self._lost_here or peer in self._unreachable

    def known(self) -> set[str]:
        """Every peer something is held about (for clean-up of removed peers)."""
        return {*self._links_at, *self._lost_here, *self._unreachable}

    def due(self, now: float, grace: float, weak_grace: float) -> list[str]:
        """Unreachable peers whose grace period is over: to be removed. A weak verdict
        (one neighbour's report) waits ``weak_grace``: a live peer's keepalive lifts it."""
        weak = self._weak
        return [
            p
            for p, since in self._unreachable.items()
            if now - since >= (weak_grace if p in weak else grace)
        ]
