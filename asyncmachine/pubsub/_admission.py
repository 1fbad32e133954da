"""Admission of remote peers under the budgets: who is kept when the registry is full.

Go keeps every peer it hears of. Here a peer costs memory in proportion to its
machines and states, and signed records are cheap to make (anyone can generate keys
and sign info records for them, and relay them), so what the registry holds is
bounded (:class:`~asyncmachine.pubsub.Budgets`). When a new peer does not fit, peers
ranked below it are evicted: peers this peer is or was connected to (the transport
vouches that they exist) rank above peers only known from relayed records, and
within each group the least recently heard of goes first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ._remote import RemotePeer
from ._settings import Budgets
from ._wire import InfoBody

Rank = tuple[bool, float]
"""(preferred, last heard): lower ranks are evicted first."""


def body_cost(body: InfoBody) -> tuple[int, int]:
    """(machines, states) an info record asks this peer to hold."""
    return len(body.machines), sum(len(m.schema.names) for m in body.machines)


def peer_cost(p: RemotePeer) -> tuple[int, int]:
    """(machines, states) held for a peer."""
    return len(p.machines), sum(len(rm.info.schema.names) for rm in p.machines)


def over_peer_budget(body: InfoBody, b: Budgets) -> bool:
    """One peer's info alone exceeds the per-peer budgets."""
    machines, states = body_cost(body)
    return machines > b.machines_per_peer or states > b.states_per_peer


def victims(
    peers: Iterable[RemotePeer],
    new: Rank,
    need: tuple[int, int, int, int],
    preferred: Callable[[str], bool],
) -> list[str] | None:
    """Peers to evict so that ``need`` = (peers, mirrors, states, info bytes) more fit,
    taking only peers ranked below ``new``, lowest first; None when that is not enough."""
    want_peers, want_mirrors, want_states, want_bytes = need
    if max(need) <= 0:
        return []
    ranked = sorted((preferred(p.peer_id), p.last_heard, p.peer_id, p) for p in peers)
    out: list[str] = []
    for pref, heard, pid, p in ranked:
        if (pref, heard) >= new:
            break
        machines, states = peer_cost(p)
        out.append(pid)
        want_peers -= 1
        want_mirrors -= machines
        want_states -= states
        want_bytes -= len(p.info_rec.body)
        if max(want_peers, want_mirrors, want_states, want_bytes) <= 0:
            return out
    return None
