"""A session: the Topic failing while the UI runs ends the app with return code 1 and the
error; joining failing raises before the UI starts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from asyncmachine.dbg import DbgApp, DbgModel, SessionError, run_session
from asyncmachine.pubsub import MemoryNetwork, Topic, open_topic
from tests.helpers import TIMEOUT


@asynccontextmanager
async def failing_topic(fail: trio.Event) -> AsyncIterator[Topic]:
    """A memory topic whose background task raises once ``fail`` is set."""

    async def boom() -> None:
        await fail.wait()
        raise RuntimeError("boom")

    net = MemoryNetwork()
    async with (
        net.join("t") as tr,
        open_topic("t", transport=tr) as topic,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(boom)
        yield topic


def test_topic_failing_while_the_ui_runs_ends_it_with_the_error() -> None:
    async def main() -> None:
        fail = trio.Event()
        app = DbgApp(DbgModel())

        async def trigger() -> None:
            await app.wait_drawn(lambda: app.is_running, TIMEOUT)
            guest_token.run_sync_soon(fail.set)  # Trio's side sets its own Event

        guest_token: trio.lowlevel.TrioToken

        @asynccontextmanager
        async def source() -> AsyncIterator[Topic]:
            nonlocal guest_token
            guest_token = trio.lowlevel.current_trio_token()
            async with failing_topic(fail) as topic:
                yield topic

        task = asyncio.ensure_future(trigger())
        with pytest.raises(SessionError, match="boom"):
            await asyncio.wait_for(run_session(source, app, headless=True), TIMEOUT)
        await task
        assert app.return_code == 1

    asyncio.run(main())


def test_joining_failing_raises_before_the_ui() -> None:
    @asynccontextmanager
    async def source() -> AsyncIterator[Topic]:
        raise ConnectionError("nobody answers")
        yield  # pragma: no cover

    app = DbgApp(DbgModel())
    with pytest.raises(ConnectionError, match="nobody answers"):
        asyncio.run(run_session(source, app, headless=True))
    assert app.return_code is None  # never ran
