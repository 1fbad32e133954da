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
    """A sorted ring of peer ids: parallel lists of ring keys and ids, by (key, id).

    Two pointers per peer (the key int is the registry's, shared): a node holds one
    entry per known peer.
    """

    __slots__ = ("_ids", "_keys")

    def __init__(self) -> None:
        self._keys: list[int] = []
        self._ids: list[str] = []

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, peer_id: object) -> bool:
        return isinstance(peer_id, str) and self._find(peer_id, ring_key(peer_id)) >= 0

    def _find(self, peer_id: str, key: int) -> int:
        """The index of ``peer_id`` (ring key ``key``), or -1."""
        keys, ids = self._keys, self._ids
        i = bisect.bisect_left(keys, key)
        while i < len(keys) and keys[i] == key:
            if ids[i] == peer_id:
                return i
            i += 1
        return -1

    def add(self, peer_id: str, key: int | None = None) -> None:
        """Add a peer (``key``: its precomputed :func:`ring_key`, shared)."""
        k = ring_key(peer_id) if key is None else key
        if self._find(peer_id, k) >= 0:
            return
        keys, ids = self._keys, self._ids
        i = bisect.bisect_left(keys, k)
        while i < len(keys) and keys[i] == k and ids[i] < peer_id:
            i += 1
        keys.insert(i, k)
        ids.insert(i, peer_id)

    def discard(self, peer_id: str) -> None:
        i = self._find(peer_id, ring_key(peer_id))
        if i >= 0:
            del self._keys[i]
            del self._ids[i]

    def chosen(self, nonce: int, k: int, exclude: Container[str] = ()) -> list[str]:
        """The ``k`` peers after the hash of ``nonce`` on the ring, skipping ``exclude``."""
        n = len(self._keys)
        out: list[str] = []
        if n == 0 or k <= 0:
            return out
        target = ring_key(str(nonce))  # spread nonces uniformly over the ring
        i = bisect.bisect_left(self._keys, target)
        ids = self._ids
        for j in range(n):
            peer = ids[(i + j) % n]
            if peer in exclude:
                continue
            out.append(peer)
            if len(out) >= k:
                break
        return out
