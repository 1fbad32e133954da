"""Mutations, events and exception args (Go: Mutation, Event, AException)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._result import MutationType

if TYPE_CHECKING:
    from ._machine import Machine
    from ._transition import Transition

EXCEPTION_ARG = "_am__Exception"
"""Args key of :class:`ExceptionArgs` (Go: AException under ``_am__Exception``)."""


@dataclass(frozen=True, slots=True)
class MutationSource:
    """Where a mutation came from (Go: MutSource)."""

    mach_id: str
    tx_id: str
    mach_time: int


class Mutation:
    """One queued request to change states (Go: Mutation)."""

    __slots__ = (
        "args",
        "called",
        "eval_fn",
        "is_auto",
        "is_check",
        "queue_tick",
        "source",
        "type",
    )

    def __init__(
        self,
        type: MutationType,
        called: list[str],
        args: dict[str, Any],
        *,
        is_auto: bool = False,
        is_check: bool = False,
        source: MutationSource | None = None,
        eval_fn: Callable[[], None] | None = None,
    ) -> None:
        self.type = type
        self.called = called
        self.args = args
        self.is_auto = is_auto
        self.is_check = is_check
        self.source = source
        self.eval_fn = eval_fn
        self.queue_tick = 0

    def __repr__(self) -> str:
        flags = " auto" if self.is_auto else " check" if self.is_check else ""
        return f"<Mutation {self.type} {self.called}{flags} q{self.queue_tick}>"


class Event:
    """Passed to every handler (Go: Event)."""

    __slots__ = ("args", "machine", "name", "transition")

    def __init__(self, name: str, machine: Machine, transition: Transition) -> None:
        self.name = name
        self.machine = machine
        self.transition = transition
        self.args: dict[str, Any] = transition.mutation.args

    @property
    def mutation(self) -> Mutation:
        return self.transition.mutation

    def is_valid(self) -> bool:
        """The transition is still running and accepted (Go: Event.IsValid)."""
        tx = self.transition
        return (
            self.machine._tx is tx
            and not tx.is_completed
            and tx.is_accepted
            and not self.machine.is_disposed()
        )

    def __repr__(self) -> str:
        return f"<Event {self.name} tx={self.transition.id}>"


@dataclass(slots=True)
class ExceptionArgs:
    """Details of an error added to a machine (Go: AException)."""

    err: BaseException
    trace: str = ""
    handler: str = ""
    called_states: list[str] = field(default_factory=list)
    states_before: list[str] = field(default_factory=list)
    target_states: list[str] = field(default_factory=list)
