"""Ctrl-C during a run: stop measuring and keep what was measured (a partial report).

Without this, Trio raises ``KeyboardInterrupt`` in whichever task runs when the
signal arrives, and the run ends in an exception group with nothing written.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import trio


class Interrupt:
    """Whether SIGINT arrived; ``scope`` (enter it around the measuring phase) is cancelled
    when it does, also if it arrives before the scope is entered."""

    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.received = False
        self._signalled = False

    def _fire(self) -> None:
        self.received = True
        self.scope.cancel()


@contextmanager
def catch_sigint() -> Iterator[Interrupt]:
    """Inside a Trio run: turn SIGINT into :class:`Interrupt` instead of KeyboardInterrupt.

    The handler only schedules the cancellation with ``TrioToken.run_sync_soon`` (the Trio
    call that is safe from signal handlers). Outside the main thread signals cannot be
    caught, and the Interrupt never fires. A second Ctrl-C goes to the previous handler
    (Trio's KeyboardInterrupt), so a stuck wind-down can still be stopped.
    """
    intr = Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield intr
        return
    token = trio.lowlevel.current_trio_token()

    def handler(signum: int, frame: FrameType | None) -> None:
        if intr._signalled and callable(previous):
            previous(signum, frame)
            return
        intr._signalled = True
        token.run_sync_soon(intr._fire, idempotent=True)

    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, handler)
    try:
        yield intr
    finally:
        signal.signal(signal.SIGINT, previous)
