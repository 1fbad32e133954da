"""The peers a node has seen, saved to rejoin the network without its bootstrap peers.

``<peer id>.peers.json`` (see :mod:`asyncmachine.node._persist`) holds up to
:data:`MAX_PEERS` peers, most recently seen first::

    {"version": 1, "peers": [{"id": "12D3KooW...", "addrs": ["/ip4/10.0.0.2/tcp/4001"],
                              "seen": 1764390000.0}]}

Addresses come from the libp2p peerstore: what the peers announced through identify
(their listen addresses) or what this node dialled. A peer counts as seen while it is
connected to this node and subscribed to the topic.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncmachine.pubsub import SelfOrganizing

from ._persist import atomic_write, read_json

log = logging.getLogger(__name__)

MAX_PEERS = 64
"""Peers kept in the file (the most recently seen)."""
MAX_ADDRS = 8
"""Addresses kept per peer."""
FORMAT_VERSION = 1
_UNSPECIFIED = ("/ip4/0.0.0.0/", "/ip6/::/")


@dataclass(frozen=True, slots=True)
class SavedPeer:
    """A peer seen at ``seen`` (Unix seconds) listening on ``addrs`` (without ``/p2p``)."""

    peer_id: str
    addrs: tuple[str, ...]
    seen: float

    def dial_addrs(self) -> list[str]:
        """Full multiaddrs to dial (``.../p2p/<peer id>``)."""
        return [f"{a}/p2p/{self.peer_id}" for a in self.addrs]


def clean_addrs(peer_id: str, addrs: Iterable[str]) -> tuple[str, ...]:
    """Dialable addresses without the ``/p2p/<id>`` part: wildcard, relayed and
    duplicate addresses are dropped; at most :data:`MAX_ADDRS`."""
    out: list[str] = []
    suffix = f"/p2p/{peer_id}"
    for a in addrs:
        a = a.removesuffix(suffix)
        if (
            a.startswith(("/ip4/", "/ip6/"))
            and not a.startswith(_UNSPECIFIED)
            and "/p2p" not in a
            and a not in out
        ):
            out.append(a)
    return tuple(out[:MAX_ADDRS])


class PeerBook:
    """The saved peers of one identity; :meth:`update` merges what the node sees now,
    :meth:`save` writes the file when it changed (atomically)."""

    def __init__(self, path: Path, own_id: str) -> None:
        self.path = path
        self.own_id = own_id
        self.peers: dict[str, SavedPeer] = {}
        self._saved: list[tuple[str, tuple[str, ...]]] = []

    def load(self) -> None:
        """Read the file; a corrupt one is one warning line and ignored."""
        data = read_json(self.path, "saved peers")
        if data is None:
            return
        peers = _parse(data, self.own_id)
        if peers is None:
            log.warning("ignoring corrupt saved peers file %s: unexpected layout", self.path)
            return
        self.peers = {p.peer_id: p for p in peers[:MAX_PEERS]}
        self._saved = self._key()

    def candidates(self) -> list[str]:
        """Full multiaddrs of the saved peers, the most recently seen first."""
        return [a for p in self._ordered() for a in p.dial_addrs()]

    def update(self, seen: Mapping[str, Iterable[str]], now: float) -> None:
        """Mark the peers in ``seen`` (peer id -> addresses) as seen ``now``."""
        for pid, addrs in seen.items():
            if pid == self.own_id:
                continue
            clean = clean_addrs(pid, addrs)
            if clean:
                self.peers[pid] = SavedPeer(pid, clean, now)
        if len(self.peers) > MAX_PEERS:
            self.peers = {p.peer_id: p for p in self._ordered()[:MAX_PEERS]}

    def changed(self) -> bool:
        """Peers or addresses differ from the file (``seen`` times alone do not count)."""
        return self._key() != self._saved

    def save(self) -> None:
        """Write the file (a failed write is one warning line)."""
        doc = {
            "version": FORMAT_VERSION,
            "peers": [
                {"id": p.peer_id, "addrs": list(p.addrs), "seen": round(p.seen, 3)}
                for p in self._ordered()
            ],
        }
        try:
            atomic_write(self.path, json.dumps(doc, indent=1) + "\n")
        except OSError as e:
            log.warning("cannot save peers to %s: %s", self.path, e.strerror or e)
            return
        self._saved = self._key()

    def _ordered(self) -> list[SavedPeer]:
        return sorted(self.peers.values(), key=lambda p: (-p.seen, p.peer_id))

    def _key(self) -> list[tuple[str, tuple[str, ...]]]:
        return sorted((p.peer_id, p.addrs) for p in self.peers.values())


def _parse(data: Any, own_id: str) -> list[SavedPeer] | None:
    """Saved peers of a decoded file (most recent first), or None when it is not one."""
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        return None
    raw = data.get("peers")
    if not isinstance(raw, list):
        return None
    out: list[SavedPeer] = []
    for entry in raw:
        if not isinstance(entry, dict):
            return None
        pid, addrs, seen = entry.get("id"), entry.get("addrs"), entry.get("seen")
        if not (isinstance(pid, str) and pid and isinstance(addrs, list)):
            return None
        if not all(isinstance(a, str) for a in addrs):
            return None
        if isinstance(seen, bool) or not isinstance(seen, int | float) or not math.isfinite(seen):
            return None
        clean = clean_addrs(pid, addrs)
        if pid != own_id and clean:
            out.append(SavedPeer(pid, clean, float(seen)))
    out.sort(key=lambda p: -p.seen)
    return out


def transport_peer_addrs(transport: object) -> dict[str, list[str]]:
    """Known addresses of the transport's peers (peer id -> multiaddrs): the address
    book of a self-organizing transport (libp2p), {} for others (in-memory)."""
    if isinstance(transport, SelfOrganizing):
        return transport.known_peers()
    return {}


__all__ = [
    "MAX_ADDRS",
    "MAX_PEERS",
    "PeerBook",
    "SavedPeer",
    "clean_addrs",
    "transport_peer_addrs",
]
