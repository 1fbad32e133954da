"""One debugging session: join a topic on Trio (as a guest of asyncio), then run the UI.

Joining happens before the UI starts, so a bad or unreachable bootstrap peer is reported as
a plain error instead of a flash of a full-screen app; once the UI runs, the Topic failing
ends the app with its error, and quitting the app makes the peer say bye.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import trio

from asyncmachine.pubsub import Topic

from ._app import DbgApp
from ._follow import follow
from ._guest import TrioGuest

TopicSource = Callable[[], AbstractAsyncContextManager[Topic]]
"""Opens the observed Topic on Trio, e.g. ``lambda: open_topic(name, bootstrap=[...])``."""


class SessionError(Exception):
    """The Topic ended or failed while the UI ran (the app exits with return code 1)."""


async def run_session(
    source: TopicSource, app: DbgApp, *, stop_timeout: float = 10.0, headless: bool = False
) -> int:
    """Join through ``source``, then run ``app`` until it quits; returns its return code.

    Errors of joining (e.g. ``BootstrapError``) propagate before the UI starts; an error of
    the Topic while the UI runs becomes :class:`SessionError` after the UI closed. On exit
    the Topic is cancelled (it says bye) and awaited up to ``stop_timeout`` seconds.
    ``headless``: run the app without a terminal (scripts, tests).
    """
    loop = asyncio.get_running_loop()
    joined: asyncio.Future[None] = loop.create_future()
    guest = TrioGuest()

    async def observe() -> None:
        async with source() as topic:
            follow(topic, app.model)
            joined.set_result(None)
            await trio.sleep_forever()

    done = guest.start(observe)
    try:
        await asyncio.wait([joined, done], return_when=asyncio.FIRST_COMPLETED)
        if not joined.done():
            done.result()  # raises why joining failed
            raise SessionError("the topic ended before it was joined")

        def topic_ended(fut: asyncio.Future[None]) -> None:
            if not fut.cancelled() and fut.exception() is not None:
                app.exit(return_code=1)

        done.add_done_callback(topic_ended)
        await app.run_async(headless=headless)
    finally:
        guest.cancel()
        await asyncio.wait([done], timeout=stop_timeout)
    exc = done.exception() if done.done() and not done.cancelled() else None
    if exc is not None:
        raise SessionError(f"the topic failed: {exc}") from exc
    return app.return_code or 0


__all__ = ["SessionError", "TopicSource", "run_session"]
