"""Selecting and awaiting remote machines (``Topic.list_machines`` / ``wait_machines``).

Go has no such wait: its tests poll ``ListMachines`` with sleeps. Here a wait
re-checks only when the Topic reports a discovered machine or its own stop,
so it costs nothing while nothing changes and never answers with a stale list.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from ..machine import ReadOnlyMachine
from ._filter import MachineFilter
from ._registry import Registry, RemoteMachine


def select(registry: Registry, flt: MachineFilter) -> list[RemoteMachine]:
    """The registry's remote machines matching ``flt`` (one peer's only, given ``peer_id``)."""
    if flt.peer_id is not None:
        p = registry.peers.get(flt.peer_id)
        return [rm for rm in p.machines if flt.matches(rm)] if p is not None else []
    return [rm for rm in registry.machines() if flt.matches(rm)]


def mirror_of(rm: RemoteMachine) -> ReadOnlyMachine:
    """The mirror of ``rm`` (a ReadOnlyMachine unless a custom ``mirror_factory`` says
    otherwise; the listing API is typed for the default)."""
    return rm.mirror  # type: ignore[return-value]


class DiscoveryWaits:
    """The tasks of one Topic waiting for matching remote machines."""

    def __init__(self) -> None:
        self._wakeups: set[trio.Event] = set()

    def __len__(self) -> int:
        """Tasks waiting now (a cancelled wait leaves none behind)."""
        return len(self._wakeups)

    def wake(self) -> None:
        """Make every waiting task re-check (a machine appeared, or the topic stops)."""
        for wake in self._wakeups:
            wake.set()

    async def until(
        self,
        n: int,
        flt: MachineFilter,
        select: Callable[[MachineFilter], list[RemoteMachine]],
        stopped: Callable[[], str],
    ) -> list[RemoteMachine]:
        """``select(flt)`` once it has at least ``n`` machines.

        ``stopped()`` returns "" while the topic runs, else its name for the
        ``trio.ClosedResourceError`` raised instead of an answer.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"wait_machines: n must be an int >= 1, got {n!r}")
        while True:
            found = select(flt)
            if len(found) >= n:
                return found
            name = stopped()
            if name:
                raise trio.ClosedResourceError(
                    f"topic {name!r} stopped while waiting for {n} machine(s) "
                    f"matching {flt} ({len(found)} found)"
                )
            wake = trio.Event()
            self._wakeups.add(wake)
            try:
                await wake.wait()
            finally:
                self._wakeups.discard(wake)


__all__ = ["DiscoveryWaits", "mirror_of", "select"]
