"""Trio running as a guest of an asyncio loop, for the Textual UI (which runs on asyncio).

Why guest mode (``trio.lowlevel.start_guest_run``) and not a Trio thread: the Topic, its
mirrors and py-libp2p stay on Trio, Textual stays on asyncio, and both run their callbacks on
**one thread** — Trio only waits for I/O in a helper thread and hands each batch of ready
tasks to the asyncio loop (``call_soon_threadsafe``). So the Topic's observer callbacks can
write the debugger's model directly, and the UI can read it on a timer, without locks,
queues or ``call_from_thread``; a slow redraw delays Trio by one frame instead of racing it.
Quitting cancels the Trio side through its :class:`trio.lowlevel.TrioToken`, which the
peer uses to say bye before the process exits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress

import outcome
import trio


class TrioGuest:
    """One Trio run inside the running asyncio loop; see the module docstring.

    ``start(fn)`` returns a future with the outcome of ``fn`` (its exception, if any);
    :meth:`cancel` (idempotent, callable from asyncio code at any time) cancels it.
    """

    def __init__(self) -> None:
        self._scope = trio.CancelScope()
        self._token: trio.lowlevel.TrioToken | None = None
        self._done: asyncio.Future[None] | None = None

    @property
    def done(self) -> asyncio.Future[None]:
        if self._done is None:
            raise RuntimeError("TrioGuest not started")
        return self._done

    def start(self, fn: Callable[[], Awaitable[None]]) -> asyncio.Future[None]:
        """Start ``fn`` as a Trio guest of the running asyncio loop."""
        if self._done is not None:
            raise RuntimeError("TrioGuest already started")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._done = done

        async def main() -> None:
            self._token = trio.lowlevel.current_trio_token()
            with self._scope:
                await fn()

        def finished(result: outcome.Outcome[None]) -> None:
            self._token = None
            if done.done():
                return
            if isinstance(result, outcome.Error):
                done.set_exception(result.error)
            else:
                done.set_result(None)

        def soon_threadsafe(fn: Callable[[], None]) -> None:
            loop.call_soon_threadsafe(fn)

        def soon(fn: Callable[[], None]) -> None:
            loop.call_soon(fn)

        trio.lowlevel.start_guest_run(
            main,
            run_sync_soon_threadsafe=soon_threadsafe,
            run_sync_soon_not_threadsafe=soon,
            done_callback=finished,
            host_uses_signal_set_wakeup_fd=True,
        )
        return done

    def run_sync_soon(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on Trio's side (e.g. ``trio.Event.set``); ignored once Trio is done."""
        token = self._token
        if token is None:
            return
        with suppress(trio.RunFinishedError):
            token.run_sync_soon(fn)

    def cancel(self) -> None:
        """Cancel the Trio run (before it started: it is cancelled on entry)."""
        if self._token is None:
            self._scope.cancel()
        else:
            self.run_sync_soon(self._scope.cancel)


__all__ = ["TrioGuest"]
