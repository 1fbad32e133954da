"""Sender: publishing, counting, and work states cleared also when a publish is cancelled."""

from __future__ import annotations

import trio
from trio.testing import MockClock

from asyncmachine.pubsub import MemoryNetwork, TopicMetrics
from asyncmachine.pubsub._engine import Sender, Work
from asyncmachine.pubsub._topic_states import ss
from asyncmachine.pubsub._wire import ByeMsg

from .engine_kit import TOPIC, BlockingTransport, engine, joined_machine


class _Failing(BlockingTransport):
    async def publish(self, data: bytes) -> None:
        raise ConnectionError("down")


async def test_publish_counts_and_errors_are_not_raised(autojump_clock: MockClock) -> None:
    net = MemoryNetwork()
    async with net.join(TOPIC, "a") as tr:
        m = TopicMetrics()
        sender = Sender(joined_machine(), tr, m)
        assert await sender.publish(ByeMsg(1))
        assert (m.msgs_sent, m.sent_by_type["bye"]) == (1, 1) and m.bytes_sent > 0
        assert sender.last_publish == trio.current_time()
    failing = _Failing(net, TOPIC, "f")
    m = TopicMetrics()
    assert not await Sender(joined_machine(), failing, m).publish(ByeMsg(1))
    assert (m.publish_errors, m.msgs_sent) == (1, 0)


async def test_flag_is_on_during_the_block_and_off_after_cancel(
    autojump_clock: MockClock,
) -> None:
    tr = BlockingTransport(MemoryNetwork(), TOPIC, "a")
    mach = joined_machine()
    sender = Sender(mach, tr, TopicMetrics())
    with trio.move_on_after(5) as cs:
        with sender.flag(ss.SendGossips):
            assert mach.is1(ss.SendGossips)
            await sender.publish(ByeMsg(1))  # blocks
    assert cs.cancelled_caught
    assert not mach.is1(ss.SendGossips)


async def test_cancelled_hello_publish_clears_send_info(autojump_clock: MockClock) -> None:
    """A publish cancelled mid-way (a transport that blocks) leaves no work state on."""
    tr = BlockingTransport(MemoryNetwork(), TOPIC, "a")
    eng = engine(tr)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(eng.run)
        eng.schedule(Work.HELLO, trio.current_time())
        with trio.fail_after(10):
            await tr.publishing.wait()
        assert eng.mach.is1(ss.SendInfo)
        nursery.cancel_scope.cancel()
    assert not eng.mach.is1(ss.SendInfo)
    assert tr.sent == 0
