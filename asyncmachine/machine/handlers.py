"""Handler bindings: event name -> bound callables (Go: BindHandlers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], Any]


class Bindings:
    """Bound handler objects, indexed by event name in bind order."""

    __slots__ = ("_count", "map", "objs")

    def __init__(self) -> None:
        self.objs: dict[str, tuple[object, str]] = {}
        self.map: dict[str, list[tuple[str, Handler]]] = {}
        self._count = 0

    def bind(self, obj: object, event_names: frozenset[str], prefix: str = "") -> str:
        """Bind ``obj``'s methods/callable attributes named like events; returns an id.

        With ``prefix``, only attributes starting with it are bound, the prefix
        stripped (Go: BindOpts.StatePrefix).
        """
        self._count += 1
        bid = f"{type(obj).__name__}-{self._count}"
        self.objs[bid] = (obj, prefix)
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
        for name in list(self.map):
            fns = [(b, f) for b, f in self.map[name] if b != bid]
            if fns:
                self.map[name] = fns
            else:
                del self.map[name]

    def rebind(self, event_names: frozenset[str]) -> None:
        """Re-index every binding for a new schema."""
        self.map = {}
        for bid, (obj, prefix) in self.objs.items():
            self._index(bid, obj, prefix, event_names)

    def ids(self) -> list[str]:
        return list(self.objs)
