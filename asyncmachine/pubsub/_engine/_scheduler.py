"""Outgoing work kept as state, and the one task that runs it when due.

Go: the delayed ``SendInfo``/``SendUpdates``/``SendGossips``/``ReqMissing*``
states and ``SendMsgEnter``'s window. Here outgoing work is *state* (what is
due, and when), not a queue of messages: the task wakes at the earliest due
time and runs that work, which builds the freshest message for it. Repeated
triggers coalesce, and an outgoing rate limit only postpones work, it never
loses it.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeAlias

import trio

from .._ratelimit import RateLimiter
from .._wire import MsgType


class Work(enum.Enum):
    """Kinds of outgoing work, each publishing one message type (its outgoing rate limit)."""

    PUSH = ("push", MsgType.UPDATES)
    """Own changed clocks (Go: SendUpdates)."""
    KEEPALIVE = ("keepalive", MsgType.UPDATES)
    """Own clocks re-signed with a fresh stamp: a sign of life that relays can carry."""
    HELLO = ("hello", MsgType.INFO)
    """Own records with a nonce and the known peers (Go: the delayed SendInfo)."""
    PULL = ("pull", MsgType.INFO)
    """A hello again: a gossiped view showed peers unknown here."""
    ANNOUNCE = ("announce", MsgType.INFO)
    """Own records after an exposure change."""
    ANSWER = ("answer", MsgType.INFO)
    """Records others miss (Go: DoSendInfo); clocks and links records go along."""
    REQINFO = ("reqinfo", MsgType.REQINFO)
    """Ask for missing peers' records (Go: ReqMissingPeers)."""
    REQUPDATES = ("requpdates", MsgType.REQUPDATES)
    """Ask for missing peers' clocks (Go: ReqMissingUpdates)."""
    GOSSIP = ("gossip", MsgType.GOSSIP)
    """A digest of versions (Go: SendGossips)."""
    LINKS = ("links", MsgType.LINKS)
    """Own links record (connected and mesh peers)."""

    def __init__(self, _kind: str, mtype: MsgType) -> None:
        self.mtype = mtype

    @property
    def label(self) -> str:
        """The rate-limit and metrics key of the message type it publishes."""
        return self.mtype.label


RunTracer: TypeAlias = Callable[[Work, float, float, float], None]
"""Called after each run of work with ``(work, due, started, ended)`` (Trio times): how
long work waited for the task (behind other work or a busy event loop) and how long its
publishing took. The simulator's ``--stages`` uses it to attribute slow updates."""


class Scheduler:
    """When each kind of work is due; :meth:`run` runs it, within the outgoing limits."""

    def __init__(self, out_limit: RateLimiter, deferred: Counter[str]) -> None:
        self._limit = out_limit
        self._deferred = deferred
        self._due: dict[Work, float] = {}
        self._wake = trio.Event()
        self.tracer: RunTracer | None = None
        """Optional; see :data:`RunTracer`."""

    def schedule(self, work: Work, at: float) -> None:
        """Make ``work`` due at ``at`` (an earlier due time wins)."""
        cur = self._due.get(work)
        if cur is None or at < cur:
            self._due[work] = at
            self._wake.set()

    def due_at(self, work: Work) -> float | None:
        """When ``work`` is due (None: it is not)."""
        return self._due.get(work)

    async def run(self, do: Callable[[Work, float], Awaitable[None]]) -> NoReturn:
        """Run due work with ``do(work, now)``, one at a time, forever (one task).

        Work over its message type's outgoing limit is postponed to the next free
        window and counted in ``metrics.deferred``.
        """
        while True:
            now = trio.current_time()
            if not self._due:
                await self._wake.wait()
                self._wake = trio.Event()
                continue
            work, at = min(self._due.items(), key=lambda kv: kv[1])
            if at > now:
                with trio.move_on_at(at):
                    await self._wake.wait()
                self._wake = trio.Event()
                continue
            del self._due[work]
            label = work.label
            if not self._limit.allow(label, now):
                self._deferred[label] += 1
                self.schedule(work, self._limit.next_free(label, now))
                continue
            await do(work, now)
            if self.tracer is not None:
                self.tracer(work, at, now, trio.current_time())
