"""Read-only machines whose clock comes from elsewhere (Go: rpc.NetworkMachine, read-only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._base import MachineBase
from ._reads import log
from ._result import Result
from ._schema import CompiledSchema, StateLike

_INT = frozenset([int])
"""Tick types stored as they are (``bool``, a subclass, is converted)."""


class ReadOnlyMachine(MachineBase):
    """A mirror of a machine elsewhere: every check and wait works, mutations don't.

    The clock is set by its owner with :meth:`update_clock`; mutations return
    ``Result.CANCELED``. ``when_args`` returns at once (no events are seen).
    Disposing a mirror fails its waits with ``MachineDisposedError``, as on a
    local machine.

    Lean by design (a node of a large topic holds millions): state names, indexes
    and relations live once in the shared :class:`CompiledSchema`; the clock is an
    immutable tuple, kept as given (pubsub's registry and this mirror share the
    decoded one); tags are a tuple, copied into a list when read; waits, state
    scopes and dispose callbacks are created on first use. A mirror has no error,
    queue or import count of its own (class constants below).
    """

    __slots__ = ("_tags",)

    _ticks: tuple[int, ...]
    _err: BaseException | None = None
    _machine_tick: int = 0
    _queue_running: bool = False

    def __init__(
        self,
        schema: Mapping[str, StateLike] | CompiledSchema,
        *,
        id: str,
        tags: Iterable[str] = (),
        parent_id: str = "",
        state_names: Sequence[str] | None = None,
    ) -> None:
        cs = schema if isinstance(schema, CompiledSchema) else CompiledSchema(schema, state_names)
        super().__init__(cs, cs.zeros, id=id, parent_id=parent_id)
        self._tags = _tag_tuple(tags)

    @property
    def tags(self) -> list[str]:
        """The source machine's tags (a copy; assign a new list to change them)."""
        return list(self._tags)

    @tags.setter
    def tags(self, tags: Iterable[str]) -> None:
        self._tags = _tag_tuple(tags)

    def update_clock(self, ticks: Sequence[int]) -> bool:
        """Set every tick from a full time vector in state order; True if anything changed.

        A tuple of ints is stored as is (not copied), anything else as a new tuple.
        """
        if self._disposed:
            return False
        old = self._ticks
        if len(ticks) != len(old):
            raise ValueError(
                f"mirror {self.id}: clock has {len(ticks)} ticks, schema has {len(old)} states"
            )
        if type(ticks) is not tuple or not _INT.issuperset(map(type, ticks)):
            ticks = tuple([int(t) for t in ticks])
        if ticks == old:
            return False
        self._ticks = ticks
        if self._subs is not None:
            names = self._c.names
            self._settle([names[i] for i, t in enumerate(old) if t != ticks[i]], 0)
        return True

    def _refuse(self, what: str) -> Result:
        log.debug("[%s] %s refused: read-only mirror", self.id[:5], what)
        return Result.CANCELED

    def add(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        """Refused: mirrors are read-only."""
        return self._refuse("add")

    def add1(self, state: str, args: Mapping[str, Any] | None = None) -> Result:
        return self._refuse("add")

    def remove(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        return self._refuse("remove")

    def remove1(self, state: str, args: Mapping[str, Any] | None = None) -> Result:
        return self._refuse("remove")

    def set(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        return self._refuse("set")

    def toggle(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        return self._refuse("toggle")

    def toggle1(self, state: str, args: Mapping[str, Any] | None = None) -> Result:
        return self._refuse("toggle")

    def add_err(self, err: BaseException | None, args: Mapping[str, Any] | None = None) -> Result:
        return self._refuse("add_err")

    def add_err_state(
        self, state: str, err: BaseException | None, args: Mapping[str, Any] | None = None
    ) -> Result:
        return self._refuse("add_err")

    def queue_len(self) -> int:
        return 0

    def queue_tick(self) -> int:
        return 0

    async def when_args(self, state: str, args: Mapping[str, Any]) -> None:
        """Returns at once: a mirror sees clocks, not events (Go: closed channel).

        Raises :class:`MachineDisposedError` once the mirror is disposed.
        """
        self._must(state)
        await self._check_disposed()


def _tag_tuple(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags without duplicates; a duplicate-free tuple (e.g. a decoded one) is kept as is."""
    t = tags if type(tags) is tuple else tuple(tags)
    return t if len(set(t)) == len(t) else tuple(dict.fromkeys(t))
