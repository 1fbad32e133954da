"""Noticing a dead peer in seconds, from its neighbours' signed links records.

A peer killed with -9 sends no ``bye``; without help its mirrors would stay for the
whole peer timeout (minutes in big networks), although the peers connected to it saw
their connections drop at once. Those neighbours publish a new links record promptly
when they lose a connection (see :meth:`Liveness.links_due`); this part reads the
records: when the peers that reported being connected to D now report not being
connected to it, and nothing from D itself arrived since, D is *unreachable*, and its
mirrors are dropped ``unreachable_grace`` seconds later unless D is heard from again.

One peer must not be able to evict another: links records are signed by their
reporters, and a verdict needs ``min(2, neighbours)`` distinct reporters among D's
last known neighbours (this peer counts as one when it lost its own connection to D).
A lone liar among D's neighbours is never enough; a peer whose only neighbour lies is
reachable only through that liar anyway. Anything from D itself (a message it authored,
a new record of its own, a connection to us) clears the suspicion.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping


class Reachability:
    """Who reported losing whom; which peers are unreachable and since when."""

    def __init__(self, self_id: str) -> None:
        self._self_id = self_id
        self._lost: dict[str, dict[str, float]] = {}  # suspect -> reporter -> when
        self._unreachable: dict[str, float] = {}  # suspect -> since

    @property
    def unreachable(self) -> Mapping[str, float]:
        """Peers judged unreachable, with the time of the verdict."""
        return self._unreachable

    def reported(
        self, reporter: str, before: Collection[str], after: Collection[str], now: float
    ) -> None:
        """``reporter``'s connections changed from ``before`` to ``after`` (its links
        records, or this peer's own connections with ``reporter`` = self)."""
        for gone in set(before) - set(after):
            if gone != reporter:
                self._lost.setdefault(gone, {})[reporter] = now
        for peer in after:
            reports = self._lost.get(peer)
            if reports is not None:
                reports.pop(reporter, None)
                if not reports:
                    del self._lost[peer]
        self.alive(reporter)

    def alive(self, peer: str) -> None:
        """Something from ``peer`` itself arrived: it is reachable."""
        self._lost.pop(peer, None)
        self._unreachable.pop(peer, None)

    def forget(self, peer: str) -> None:
        """``peer`` was removed (bye, timeout): drop what is known of it, also as reporter."""
        self.alive(peer)
        for suspect in list(self._lost):
            reports = self._lost[suspect]
            reports.pop(peer, None)
            if not reports:
                del self._lost[suspect]

    def judge(self, peer: str, neighbours: Collection[str], connected: bool, now: float) -> bool:
        """Is ``peer`` unreachable now? ``neighbours``: the peers its last links record
        listed as connected (plus this peer, if it was connected to it); ``connected``:
        this peer is connected to it now. Records the verdict's time."""
        if connected:
            self.alive(peer)
            return False
        reports = self._lost.get(peer, {})
        near = set(neighbours)
        if not near:
            return False
        votes = sum(1 for r in reports if r in near)
        if votes < min(2, len(near)):
            return False
        self._unreachable.setdefault(peer, now)
        return True

    def suspects(self) -> list[str]:
        """Peers some neighbour reported losing (candidates for :meth:`judge`)."""
        return list(self._lost)

    def due(self, now: float, grace: float) -> list[str]:
        """Unreachable peers whose grace period is over: to be removed."""
        return [p for p, since in self._unreachable.items() if now - since >= grace]
