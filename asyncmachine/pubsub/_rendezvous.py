"""Who answers a request: consistent hashing of the request nonce onto known peers.

Go answers ``reqinfo`` with probability (N-1)/N, i.e. nearly every peer
answers (defect 3). Here each peer places all peers it knows (and itself) on a
64-bit ring; the ``k`` peers following the request's nonce (skipping the
requester) answer. Peers with the same view pick the same ``k`` responders;
differing views cost an extra answer or a retry, never a storm. O(log N).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Container


def ring_key(peer_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(peer_id.encode(), digest_size=8).digest(), "big")


class Ring:
    """A sorted ring of peer ids."""

    __slots__ = ("_keys", "_peers")

    def __init__(self) -> None:
        self._keys: list[tuple[int, str]] = []
        self._peers: set[str] = set()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, peer_id: object) -> bool:
        return peer_id in self._peers

    def add(self, peer_id: str, key: int | None = None) -> None:
        """Add a peer (``key``: its precomputed :func:`ring_key`, shared)."""
        if peer_id in self._peers:
            return
        self._peers.add(peer_id)
        bisect.insort(self._keys, (ring_key(peer_id) if key is None else key, peer_id))

    def discard(self, peer_id: str) -> None:
        if peer_id not in self._peers:
            return
        self._peers.discard(peer_id)
        item = (ring_key(peer_id), peer_id)
        i = bisect.bisect_left(self._keys, item)
        if i < len(self._keys) and self._keys[i] == item:
            del self._keys[i]

    def chosen(self, nonce: int, k: int, exclude: Container[str] = ()) -> list[str]:
        """The ``k`` peers after the hash of ``nonce`` on the ring, skipping ``exclude``."""
        n = len(self._keys)
        out: list[str] = []
        if n == 0 or k <= 0:
            return out
        target = ring_key(str(nonce))  # spread nonces uniformly over the ring
        i = bisect.bisect_left(self._keys, (target, ""))
        for j in range(n):
            peer = self._keys[(i + j) % n][1]
            if peer in exclude:
                continue
            out.append(peer)
            if len(out) >= k:
                break
        return out
