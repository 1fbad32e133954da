"""Handler bindings: event name -> bound callables (Go: BindHandlers)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Handler = Callable[[Any], Any]


class PairIndex:
    """Which self and pair handlers exist, so transitions skip the rest."""

    __slots__ = ("names", "pairs", "selfs")

    def __init__(self, names: list[str], bound: Mapping[str, object]) -> None:
        self.names = names
        self.selfs = frozenset(n for n in names if n + n in bound)
        self.pairs: dict[str, frozenset[str]] = {}
        for a in names:
            ts = frozenset(b for b in names if b != a and a + b in bound)
            if ts:
                self.pairs[a] = ts


class Bindings:
    """Bound handler objects, indexed by event name in bind order."""

    __slots__ = ("_count", "_pairs", "map", "objs")

    def __init__(self) -> None:
        self.objs: dict[str, tuple[object, str]] = {}
        self.map: dict[str, list[tuple[str, Handler]]] = {}
        self._count = 0
        self._pairs: PairIndex | None = None

    def index(self, names: list[str]) -> PairIndex:
        """Self/pair handler index for this state order (rebuilt after changes)."""
        idx = self._pairs
        if idx is None or idx.names is not names:
            idx = self._pairs = PairIndex(names, self.map)
        return idx

    def bind(self, obj: object, event_names: frozenset[str], prefix: str = "") -> str:
        """Bind ``obj``'s methods/callable attributes named like events; returns an id.

        With ``prefix``, only attributes starting with it are bound, the prefix
        stripped (Go: BindOpts.StatePrefix).
        """
        self._count += 1
        bid = f"{type(obj).__name__}-{self._count}"
        self.objs[bid] = (obj, prefix)
        self._pairs = None
        self._index(bid, obj, prefix, event_names)
        return bid

    def _index(self, bid: str, obj: object, prefix: str, event_names: frozenset[str]) -> None:
        for attr in dir(obj):
            if attr.startswith("_") or (prefix and not attr.startswith(prefix)):
                continue
            name = attr[len(prefix) :]
            if name not in event_names:
                continue
            fn = getattr(obj, attr, None)
            if callable(fn):
                self.map.setdefault(name, []).append((bid, fn))

    def detach(self, bid: str) -> None:
        """Remove a binding (Go: DetachHandlers)."""
        if self.objs.pop(bid, None) is None:
            raise KeyError(f"no handler binding {bid!r}")
        self._pairs = None
        for name in list(self.map):
            fns = [(b, f) for b, f in self.map[name] if b != bid]
            if fns:
                self.map[name] = fns
            else:
                del self.map[name]

    def rebind(self, event_names: frozenset[str]) -> None:
        """Re-index every binding for a new schema."""
        self.map = {}
        self._pairs = None
        for bid, (obj, prefix) in self.objs.items():
            self._index(bid, obj, prefix, event_names)
