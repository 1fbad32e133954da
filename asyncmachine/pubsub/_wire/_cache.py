"""Typed, bounded FIFO caches, and the registry of process-wide ones.

Decoding is a pure function of the bytes and the limits, and decoded objects are
immutable, so every Topic of a process can share them: with many peers in one process
(simulations, tests) a message is decoded once, not once per peer. Every process-wide
cache of the package is made with :func:`process_cache`, so it has explicit bounds and
:func:`clear_caches` empties all of them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Final, Generic, NamedTuple, NoReturn, TypeVar

from ._limits import DecodeError, Reason

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class FifoCache(Generic[K, V]):
    """Values by key, bounded by entry count and optionally by total weight (FIFO).

    ``weigh(key)`` gives an entry's weight (e.g. the length of the bytes it was decoded
    from); the oldest entries go first when either bound is exceeded. Values are never
    None (:meth:`get` returns None for a miss).

    An ``OrderedDict``, not a dict: a full cache evicts on every put, and a dict finds
    its oldest entry by scanning past every slot deleted since it last resized (~2 µs
    per put at 8,192 entries, where ``popitem(last=False)`` takes ~0.1 µs).
    """

    __slots__ = ("_d", "_weigh", "_weight", "hits", "max_entries", "max_weight", "misses", "name")

    def __init__(
        self,
        name: str,
        max_entries: int,
        *,
        max_weight: int | None = None,
        weigh: Callable[[K], int] | None = None,
    ) -> None:
        if max_entries < 1 or (max_weight is not None and max_weight < 1):
            raise ValueError(f"cache {name}: bounds must be >= 1")
        if (max_weight is None) != (weigh is None):
            raise ValueError(f"cache {name}: max_weight and weigh go together")
        self.name = name
        self.max_entries = max_entries
        self.max_weight = max_weight
        self._weigh = weigh
        self._d: OrderedDict[K, V] = OrderedDict()
        self._weight = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> V | None:
        """The value of ``key``, or None (counted as a hit or a miss)."""
        v = self._d.get(key)
        if v is None:
            self.misses += 1
        else:
            self.hits += 1
        return v

    def put(self, key: K, value: V) -> None:
        """Store ``value`` (replacing an older one), then evict the oldest over the bounds."""
        d = self._d
        weigh = self._weigh
        if key in d:
            del d[key]
        elif weigh is not None:
            self._weight += weigh(key)
        d[key] = value
        while len(d) > self.max_entries or (
            self.max_weight is not None and self._weight > self.max_weight
        ):
            old, _ = d.popitem(last=False)
            if weigh is not None:
                self._weight -= weigh(old)

    def __len__(self) -> int:
        return len(self._d)

    @property
    def weight(self) -> int:
        """Total weight of the entries (0 without ``weigh``)."""
        return self._weight

    def clear(self) -> None:
        self._d.clear()
        self._weight = 0


_PROCESS_CACHES: list[FifoCache[Any, Any]] = []


DECODED_PER_BYTE: Final = 8
"""Decoded wire data takes up to about this many bytes per encoded byte (a 36 KB gossip
of 2,048 digest entries decodes to ~200 KB of objects): caches of decoded data weigh
their keys by it, so that ``max_weight`` bounds the memory the decoded values take."""


def process_cache(
    name: str,
    max_entries: int,
    *,
    max_weight: int | None = None,
    weigh: Callable[[K], int] | None = None,
) -> FifoCache[K, V]:
    """A new :class:`FifoCache` that :func:`clear_caches` empties (for module globals)."""
    cache: FifoCache[K, V] = FifoCache(name, max_entries, max_weight=max_weight, weigh=weigh)
    _PROCESS_CACHES.append(cache)
    return cache


def process_caches() -> tuple[FifoCache[Any, Any], ...]:
    """Every process-wide cache created so far."""
    return tuple(_PROCESS_CACHES)


def clear_caches() -> None:
    """Empty every process-wide cache (decoded messages and bodies, compiled schemas,
    verified signatures). Only memory and CPU change: every entry is recomputed on use."""
    for cache in _PROCESS_CACHES:
        cache.clear()


class Failure(NamedTuple):
    """A cached decode failure: the reason and detail, never the exception itself (a
    re-raised instance grows its traceback on every raise and keeps its frames alive)."""

    reason: Reason
    detail: str

    @classmethod
    def of(cls, e: DecodeError) -> Failure:
        return cls(e.reason, e.detail)

    def raise_again(self) -> NoReturn:
        """Raise a fresh :class:`DecodeError` with the cached reason and detail."""
        raise DecodeError(self.reason, self.detail)
