"""Peer topologies: which peers connect to which (edges as sorted index pairs)."""

from __future__ import annotations

import random


def build_topology(kind: str, n: int, degree: int, rng: random.Random) -> list[list[int]]:
    """Adjacency lists (sorted) for ``n`` peers.

    - ``managed``: the bootstrap edges only, every peer -- peer 0 (a star); connection
      managers grow the real graph from there (see :func:`bootstrap_peers`),
    - ``random``: a random spanning tree plus random extra edges up to a mean
      degree of ``degree`` (always connected),
    - ``line``: i -- i+1,
    - ``full``: everyone with everyone.
    """
    adj: list[set[int]] = [set() for _ in range(n)]

    def link(a: int, b: int) -> None:
        if a != b:
            adj[a].add(b)
            adj[b].add(a)

    if kind == "managed":
        for i in range(1, n):
            link(0, i)
    elif kind == "line":
        for i in range(n - 1):
            link(i, i + 1)
    elif kind == "full":
        for i in range(n):
            for j in range(i + 1, n):
                link(i, j)
    elif kind == "random":
        for i in range(1, n):
            link(i, rng.randrange(i))
        target = min(degree, n - 1) * n // 2
        edges = n - 1
        tries = 0
        while edges < target and tries < target * 20:
            tries += 1
            a, b = rng.randrange(n), rng.randrange(n)
            if a != b and b not in adj[a]:
                link(a, b)
                edges += 1
    else:
        raise ValueError(f"unknown topology {kind!r}")
    return [sorted(s) for s in adj]


def attach(adj: list[list[int]], alive: list[int], degree: int, rng: random.Random) -> list[int]:
    """Neighbours for a newly joining peer: ``degree`` random alive peers."""
    k = min(degree, len(alive))
    return sorted(rng.sample(alive, k)) if k else []


def bootstrap_peers(adj: list[list[int]], idx: int) -> list[int]:
    """The peers ``idx`` knows when it starts on a managed model network: its
    lower-index neighbours (on ``managed``, peer 0 for everyone else)."""
    return [q for q in adj[idx] if q < idx]
