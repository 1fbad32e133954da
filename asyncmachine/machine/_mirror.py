"""Read-only machines whose clock comes from elsewhere (Go: rpc.NetworkMachine, read-only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._base import MachineBase
from ._reads import log
from ._result import Result
from ._schema import CompiledSchema, StateLike


class ReadOnlyMachine(MachineBase):
    """A mirror of a machine elsewhere: every check and wait works, mutations don't.

    The clock is set by its owner with :meth:`update_clock`; mutations return
    ``Result.CANCELED``. ``when_args`` returns at once (no events are seen).
    Disposing a mirror fails its waits with ``MachineDisposedError``, as on a
    local machine.
    """

    __slots__ = ()

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
        super().__init__(cs, id=id, tags=tags, parent_id=parent_id)

    def update_clock(self, ticks: Sequence[int]) -> bool:
        """Set every tick from a full time vector in state order; True if anything changed."""
        if self._disposed:
            return False
        old = self._ticks
        if len(ticks) != len(old):
            raise ValueError(
                f"mirror {self.id}: clock has {len(ticks)} ticks, schema has {len(old)} states"
            )
        if list(ticks) == old:
            return False
        names = self._c.names
        changed = [names[i] for i, (a, b) in enumerate(zip(old, ticks, strict=True)) if a != b]
        self._ticks = [int(t) for t in ticks]
        self._active = [n for n, t in zip(names, self._ticks, strict=True) if t % 2]
        self._settle(changed, 0)
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
