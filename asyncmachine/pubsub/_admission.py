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
from typing import TYPE_CHECKING

from ._remote import RemotePeer
from ._settings import Budgets
from ._wire import InfoBody

if TYPE_CHECKING:
    from ._registry import Registry

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


def _need(reg: Registry, owner: str, body: InfoBody, size: int) -> tuple[int, int, int, int]:
    """(peers, mirrors, states, info bytes) over the budgets if ``owner``'s info ``body``
    (``size`` bytes) replaced what is held of it (<= 0: it fits)."""
    b = reg.budgets
    machines, states = body_cost(body)
    held = reg.peers.get(owner)
    if held is not None:
        machines -= len(held.machines)
        states -= sum(len(rm.info.schema.names) for rm in held.machines)
        size -= len(held.info_rec.body)
    return (
        len(reg.peers) + (held is None) - b.peers,
        reg.mirror_count + machines - b.mirrors,
        reg.state_count + states - b.states,
        reg.info_bytes + size - b.info_bytes,
    )


def make_room(
    reg: Registry, owner: str, body: InfoBody, size: int, alive: float, at: float
) -> bool:
    """Make room in ``reg`` for ``owner``'s info ``body`` (``size`` bytes, owner alive at
    ``alive``) within its budgets, evicting lower-ranked peers; False when it can't fit."""
    if over_peer_budget(body, reg.budgets):
        return False
    others = (p for pid, p in reg.peers.items() if pid != owner)
    out = victims(
        others, (reg.preferred(owner), alive), _need(reg, owner, body, size), reg.preferred
    )
    if out is None:
        return False
    for pid in out:
        reg.remove_peer(pid, "evicted", at)
    return True


def refused(reg: Registry, owner: str, body: InfoBody, size: int, alive: float) -> bool:
    """:func:`make_room` would refuse ``owner``'s info for sure: the registry is full and
    no other peer held ranks below it (one pass, no eviction: for the topic validator;
    False does not promise admission, the intake decides)."""
    if max(_need(reg, owner, body, size)) <= 0:
        return False
    new = (reg.preferred(owner), alive)
    pref = reg.preferred
    return not any((pref(pid), p.last_heard) < new for pid, p in reg.peers.items() if pid != owner)
