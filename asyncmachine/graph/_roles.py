"""What a peer node stands for in a picture or a summary, and its short label.

An observer (``asyncmachine graph``, or any Topic exposing nothing) is a peer of the
pubsub topic but not of the network it looks at; a peer that only appears in other
peers' links records and never announced itself (``discovered`` False) is most often one
that has left, such as the observer of an earlier run. Counting either as a network peer
misleads, so summaries, connectivity and pictures ask :func:`peer_role`.
"""

from __future__ import annotations

import enum

import networkx as nx

from ._build import HOSTED_BY, PEER

SHORT_ID_LEN = 6
"""Characters of a peer id kept in labels: its end (every ed25519 peer id starts with
``12D3KooW``), as the node's status lines (``@J5YUjs``) and demo machine ids
(``demo-J5YUjs``) show it."""


class PeerRole(enum.Enum):
    PEER = "peer"
    """A peer of the network: it announced itself, or it hosts machines."""
    OBSERVER = "observer"
    """The local peer, hosting no machines: it only looks at the network."""
    LINK_ONLY = "link-only"
    """Known only as an endpoint in other peers' links records (left, or not announced)."""


def short_peer_id(peer_id: str) -> str:
    """The last :data:`SHORT_ID_LEN` characters of a peer id."""
    return peer_id[-SHORT_ID_LEN:]


def hosts_machines(g: nx.MultiDiGraph, peer: str) -> bool:
    """Whether the peer node hosts at least one machine."""
    return any(k == HOSTED_BY for *_, k in g.in_edges(peer, keys=True))


def peer_role(g: nx.MultiDiGraph, peer: str) -> PeerRole:
    """The :class:`PeerRole` of a peer node."""
    d = g.nodes[peer]
    if d.get("kind") != PEER:
        raise KeyError(f"{peer!r} is not a peer node")
    if hosts_machines(g, peer):
        return PeerRole.PEER
    if d.get("local"):
        return PeerRole.OBSERVER
    return PeerRole.PEER if d.get("discovered") else PeerRole.LINK_ONLY


def peers_by_role(g: nx.MultiDiGraph) -> dict[PeerRole, list[str]]:
    """Peer nodes (sorted) grouped by role; every role is a key."""
    out: dict[PeerRole, list[str]] = {r: [] for r in PeerRole}
    for n in sorted(n for n, k in g.nodes(data="kind") if k == PEER):
        out[peer_role(g, n)].append(n)
    return out


__all__ = [
    "SHORT_ID_LEN",
    "PeerRole",
    "hosts_machines",
    "peer_role",
    "peers_by_role",
    "short_peer_id",
]
