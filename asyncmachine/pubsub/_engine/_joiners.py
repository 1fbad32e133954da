"""Hellos waiting for the decision to answer them (Go: MsgInfo's reply to a new peer).

A hello is answered by the peer the rendezvous ring chooses, as far as the
responder knows the ring (:meth:`Registry.chosen`). Right after a start views are
small: with 100 libp2p hosts starting at once, a peer knowing 5 others counted
itself the chosen responder of one hello in 6, and the 99 hellos drew ~230 answers
with ~1,100 entries, each reaching all 99 peers (most of the duplicate records of
the start). So a hello is decided once discovery here paused (no new peer for
``hello_answer_spread`` plus the time messages may still be on their way,
:attr:`Hello.in_flight`) by the view of then, and at the latest :attr:`Hello.settle`
after it arrived (when the joiner would repeat it). A peer joining a settled network
waits ``hello_answer_spread`` more than before; a burst of hellos is decided once.

The responder is chosen by the view of the responder and the joiner together: a peer
the joiner lists as known and the responder doesn't is chosen by those who know it
(:meth:`Registry.chosen`'s ``also``).

Only the owner holds records whose every copy was lost on the way: when 99 peers
missed one host, they pulled for minutes, each pull answered by a chosen responder that
held nothing. So a peer sends its own records even when not chosen, to a joiner that
lists the peers it knows but not this one (once discovery here settled).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass

from .._registry import Registry
from .._settings import TopicSettings
from ._answers import Answers
from ._hello import Hello


@dataclass(slots=True, frozen=True)
class _Pending:
    """A hello to decide: its nonce, the joiner's known ring keys, when it arrived
    (Trio time) and since when the joiner listens (wall ms, 0: not said)."""

    nonce: int
    known: Collection[int]
    at: float
    since: int


class Joiners:
    """Hellos of other peers not yet decided, one per author (a repeat replaces it)."""

    def __init__(
        self,
        self_id: str,
        registry: Registry,
        answers: Answers,
        hello: Hello,
        settings: TopicSettings,
        rng: random.Random,
        answering: Callable[[str], None],
    ) -> None:
        self._self_id = self_id
        self._reg = registry
        self._answers = answers
        self._hello = hello
        self._s = settings
        self._rng = rng
        self._answering = answering  # called with the author of each hello answered
        self._pending: dict[str, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def _pause(self) -> float:
        return self._s.hello_answer_spread + self._hello.in_flight

    def arrived(
        self, author: str, nonce: int, known: Collection[int], at: float, since: int
    ) -> float:
        """A hello of ``author`` arrived at Trio time ``at``; returns when to decide it."""
        self._pending.pop(author, None)
        self._pending[author] = _Pending(nonce, known, at, since)
        if len(self._pending) > self._s.budgets.peers:  # one per peer: oldest out
            del self._pending[next(iter(self._pending))]
        return self._decide_at(self._pending[author])

    def _decide_at(self, p: _Pending) -> float:
        paused = self._reg.discovery_paused_at(self._pause())
        return min(max(paused, p.at), p.at + self._hello.settle)

    def _misses_me(self, p: _Pending, now: float) -> bool:
        """A joiner that lists the peers it knows, but not this one, misses its records
        for sure, and only the owner may hold them (every copy was lost). Not while
        discovery here is under way: many first hellos of a start list a few peers
        already, and each missing owner answering them was 88 answers in 10 s."""
        return (
            bool(p.known)
            and self._reg.self_key not in p.known
            and now >= self._reg.discovery_paused_at(self._hello.settle)
        )

    def decide(self, now: float) -> float:
        """Decide the hellos due by ``now``: the chosen responder owes the joiner what
        it misses (:meth:`Answers.for_hello`, after a random spread so that one answer
        serves joiners whose hellos arrived together and others' answers cancel ours).
        Returns when the next one is due (``inf``: none pending)."""
        nxt = math.inf
        for author, p in list(self._pending.items()):
            at = self._decide_at(p)
            if at > now:
                nxt = min(nxt, at)
                continue
            del self._pending[author]
            chosen = self._reg.chosen(p.nonce, self._s.responders, {author}, now, p.known)
            own_only = self._self_id not in chosen
            if own_only and not self._misses_me(p, now):
                continue
            spread = (self._s.hello_answer_spread + self._hello.transit) * self._rng.random()
            if self._answers.for_hello(
                author, p.known, p.at, now, since=p.since, delay=spread, own_only=own_only
            ):
                self._answering(author)
        return nxt
