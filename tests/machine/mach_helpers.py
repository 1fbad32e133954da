"""Shared helpers for the machine's own test suite (tests/machine).

Not a test module: the ``test_machine_*`` files import it as
``tests.machine.mach_helpers`` (tests is a package).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from asyncmachine import Machine, State

Action = Callable[[Any], Any]
"""A callable run inside a handler with the handler's Event."""


def norels() -> dict[str, State]:
    """Go's NewNoRels schema: A, B, C, D without relations (+ Exception)."""
    return {"A": State(), "B": State(), "C": State(), "D": State()}


def rels() -> dict[str, State]:
    """Go's NewRels schema: A auto requires C, multi B adds C, C after D, D adds C and B."""
    return {
        "A": State(auto=True, require=["C"]),
        "B": State(multi=True, add=["C"]),
        "C": State(after=["D"]),
        "D": State(add=["C", "B"]),
    }


def handler_names(states: Iterable[str]) -> list[str]:
    """Every handler name the machine can call for these states (incl. Exception)."""
    names = list(dict.fromkeys([*states, "Exception"]))
    out = ["AnyEnter", "AnyState"]
    for s in names:
        out += [s + "Enter", s + "Exit", s + "State", s + "End"]
        out += [s + t for t in names]
    return out


class RecorderBase:
    """Handler object that logs every call; see :func:`make_recorder`."""

    def __init__(
        self,
        reject: Iterable[str],
        actions: Mapping[str, Sequence[Action]],
        raises: Mapping[str, BaseException],
    ) -> None:
        self.calls: list[str] = []
        self.events: list[tuple[str, Any]] = []
        self.reject = set(reject)
        self.actions = {k: list(v) for k, v in actions.items()}
        self.raises = dict(raises)
        # results returned to handlers by their own mutations: (handler, result)
        self.inner: list[tuple[str, Any]] = []

    def count(self, name: str) -> int:
        return self.calls.count(name)


def _method(name: str) -> Callable[[RecorderBase, Any], bool | None]:
    def handler(self: RecorderBase, e: Any) -> bool | None:
        self.calls.append(name)
        self.events.append((name, e))
        for act in self.actions.get(name, ()):
            res = act(e)
            if res is not None:
                self.inner.append((name, res))
        if name in self.raises:
            raise self.raises[name]
        if name in self.reject:
            return False
        return None  # None counts as True for negotiation handlers

    handler.__name__ = name
    handler.__qualname__ = "Recorder." + name
    return handler


def make_recorder(
    states: Iterable[str],
    *,
    reject: Iterable[str] = (),
    actions: Mapping[str, Sequence[Action]] | None = None,
    raises: Mapping[str, BaseException] | None = None,
) -> Any:
    """A handler object with a real method for every possible handler name.

    Like the golden-trace driver: each method appends its name to ``calls``,
    runs its ``actions`` (the handler's mutations; non-None return values are
    kept in ``inner``), raises ``raises[name]`` if given, and returns False
    for names in ``reject`` (None otherwise, which means True).
    """
    ns = {n: _method(n) for n in handler_names(states)}
    cls = type("Recorder", (RecorderBase,), ns)
    return cls(reject, actions or {}, raises or {})


def setup(
    schema: Mapping[str, Any] | None = None,
    initial: Sequence[str] | None = None,
    *,
    reject: Iterable[str] = (),
    actions: Mapping[str, Sequence[Action]] | None = None,
    raises: Mapping[str, BaseException] | None = None,
    **kwargs: Any,
) -> tuple[Machine, Any]:
    """Build a machine, bind a recorder, ``set(initial)``, then clear the log."""
    schema = norels() if schema is None else schema
    mach = Machine(schema, **kwargs)
    rec = make_recorder(mach.state_names(), reject=reject, actions=actions, raises=raises)
    mach.bind_handlers(rec)
    if initial is not None:
        mach.set(list(initial))
    rec.calls.clear()
    rec.events.clear()
    rec.inner.clear()
    return mach, rec


def split(calls: str) -> list[str]:
    """``"AExit BEnter"`` -> ``["AExit", "BEnter"]``."""
    return calls.split()


def nonzero_clock(mach: Machine) -> dict[str, int]:
    return {k: v for k, v in mach.clock().items() if v}


def mutate(mach: Machine, op: str, states: Sequence[str], args: Any = None) -> Any:
    """Call ``mach.add/remove/set`` by name."""
    fn = {"add": mach.add, "remove": mach.remove, "set": mach.set, "toggle": mach.toggle}[op]
    return fn(list(states), args) if args is not None else fn(list(states))
