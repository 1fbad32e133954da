"""Reading a local machine's queue and waiting on it (Go: QueueLen, IsQueued, WhenQueue)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from ._base import MachineBase
from ._mutation import Mutation
from ._result import MutationType
from ._subscriptions import Waiter
from ._transition import Transition

_ADD, _REMOVE, _SET = MutationType.ADD, MutationType.REMOVE, MutationType.SET


class QueueReads(MachineBase):
    """The queue as seen from outside a transition: its length, ticks and contents."""

    __slots__ = ()

    _queue: deque[Mutation]
    _queue_tick: int
    _queue_dropped: int
    _tx: Transition | None

    def queue_len(self) -> int:
        """Mutations waiting in the queue (Go: QueueLen)."""
        return len(self._queue)

    def queue_tick(self) -> int:
        """The queue tick (Go: QueueTick)."""
        return self._queue_tick

    def queue(self) -> list[Mutation]:
        return list(self._queue)

    def transition(self) -> Transition | None:
        """The running transition, if any (Go: Transition)."""
        return self._tx

    def is_queued(
        self,
        mut_type: MutationType,
        states: Sequence[str],
        *,
        without_args_only: bool = False,
        strict_equal: bool = False,
        min_queue_tick: int = 0,
    ) -> tuple[bool, int, int]:
        """Find a queued mutation: (found, index, queue tick) (Go: IsQueued)."""
        for i, mut in enumerate(self._queue):
            if (
                mut.type is mut_type
                and (not without_args_only or not mut.args)
                and (not strict_equal or len(mut.called) == len(states))
                and all(s in mut.called for s in states)
                and mut.queue_tick >= min_queue_tick
                and not mut.is_check
            ):
                return True, i, mut.queue_tick
        return False, -1, 0

    def will_be(self, states: Sequence[str]) -> bool:
        """States queued for activation (Go: WillBe)."""
        names = self._must_all(states)
        return any(
            m.type in (_ADD, _SET) and all(s in m.called for s in names) for m in self._queue
        )

    def will_be1(self, state: str) -> bool:
        return self.will_be([state])

    def will_be_removed(self, states: Sequence[str]) -> bool:
        names = self._must_all(states)
        return any(m.type is _REMOVE and all(s in m.called for s in names) for m in self._queue)

    @property
    def queue_dropped(self) -> int:
        """Mutations canceled because the queue was full (``queue_limit``), in total."""
        return self._queue_dropped

    async def when_queue(self, tick: int) -> None:
        """Until the queue tick reaches ``tick`` after an accepted tx (Go: WhenQueue).

        Raises :class:`MachineDisposedError` if the machine is or gets disposed.
        """
        if self._disposed or self._queue_tick >= tick:
            await self._check_disposed()
            return
        w = Waiter(lambda: True, ())
        subs = self._subscriptions()
        subs.queue_ticks[w] = tick
        try:
            await self._wait_event(w)
        finally:
            subs.queue_ticks.pop(w, None)
