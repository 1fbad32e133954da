"""The mutation API of a local machine: add, remove, set, toggle, checks (Go: Add, Remove, ...).

Every method is a thin front over ``Machine._mutate``, which queues the
mutation and runs the queue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._base import MachineBase
from ._mutation import Event, MutationSource
from ._result import MutationType, Result
from ._schema import EXCEPTION

_ADD, _REMOVE, _SET = MutationType.ADD, MutationType.REMOVE, MutationType.SET


class Mutations(MachineBase):
    """Add/Remove/Set/Toggle, their ``1``, ``ev_`` and ``can_`` variants and AddErr."""

    __slots__ = ()

    if TYPE_CHECKING:

        def _mutate(
            self,
            mtype: MutationType,
            states: Sequence[str],
            args: Mapping[str, Any] | None,
            *,
            check: bool = False,
            source: MutationSource | None = None,
            err_add: bool = False,
        ) -> Result: ...

        def add_err_state(
            self, state: str, err: BaseException | None, args: Mapping[str, Any] | None = None
        ) -> Result: ...

    def add(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        """Activate states, keeping the active ones (Go: Add)."""
        return self._mutate(_ADD, states, args)

    def add1(self, state: str, args: Mapping[str, Any] | None = None) -> Result:
        """Activate one state (Go: Add1)."""
        return self._mutate(_ADD, [state], args)

    def remove(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        """Deactivate states (Go: Remove)."""
        return self._mutate(_REMOVE, states, args)

    def remove1(self, state: str, args: Mapping[str, Any] | None = None) -> Result:
        """Deactivate one state (Go: Remove1)."""
        return self._mutate(_REMOVE, [state], args)

    def set(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        """Activate exactly these states (Go: Set)."""
        return self._mutate(_SET, states, args)

    def toggle(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        """Remove if all are active, else Add (Go: Toggle)."""
        if self.is_(states):
            return self.remove(states, args)
        return self.add(states, args)

    def toggle1(self, state: str, args: Mapping[str, Any] | None = None) -> Result:
        return self.toggle((state,), args)

    def ev_add(
        self, source: Any, states: Sequence[str], args: Mapping[str, Any] | None = None
    ) -> Result:
        """Add with a source event (Go: EvAdd)."""
        return self._mutate(_ADD, states, args, source=_source_of(source))

    def ev_add1(self, source: Any, state: str, args: Mapping[str, Any] | None = None) -> Result:
        return self.ev_add(source, (state,), args)

    def ev_remove(
        self, source: Any, states: Sequence[str], args: Mapping[str, Any] | None = None
    ) -> Result:
        """Remove with a source event (Go: EvRemove)."""
        return self._mutate(_REMOVE, states, args, source=_source_of(source))

    def ev_remove1(self, source: Any, state: str, args: Mapping[str, Any] | None = None) -> Result:
        return self.ev_remove(source, (state,), args)

    def can_add(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        """Dry-run an Add: relations and negotiation only (Go: CanAdd)."""
        return self._mutate(_ADD, states, args, check=True)

    def can_add1(self, state: str, args: Mapping[str, Any] | None = None) -> Result:
        return self.can_add((state,), args)

    def can_remove(self, states: Sequence[str], args: Mapping[str, Any] | None = None) -> Result:
        """Dry-run a Remove (Go: CanRemove)."""
        return self._mutate(_REMOVE, states, args, check=True)

    def can_remove1(self, state: str, args: Mapping[str, Any] | None = None) -> Result:
        return self.can_remove((state,), args)

    def add_err(self, err: BaseException | None, args: Mapping[str, Any] | None = None) -> Result:
        """Store ``err`` and activate Exception (Go: AddErr)."""
        return self.add_err_state(EXCEPTION, err, args)


def _source_of(source: Any) -> MutationSource | None:

    if isinstance(source, Event):
        tx = source.transition
        return MutationSource(source.machine.id, tx.id, sum(tx.time_before))
    if source is None or isinstance(source, MutationSource):
        return source
    raise TypeError(f"source must be an Event, got {type(source).__name__}")
