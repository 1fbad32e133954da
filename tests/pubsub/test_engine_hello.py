"""Hello: retries with backoff while topic peers are unknown; pulls on a bigger view."""

from __future__ import annotations

import math
import random

from asyncmachine.pubsub import MemoryNetwork
from asyncmachine.pubsub._engine import Hello

from .engine_kit import TOPIC, Owner, feed, registry
from .helpers import FAST


async def test_retries_back_off_until_topic_peers_are_known() -> None:
    net = MemoryNetwork()
    async with net.join(TOPIC, "me") as tr, net.join(TOPIC, "peer-a"):
        reg = registry("me")
        h = Hello(FAST, tr, reg)
        assert not h.retry_due(100.0)  # no first hello yet
        h.sent = 1
        h.sending(0.0)
        assert not h.done()
        assert not h.retry_due(0.5) and h.retry_due(FAST.hello_retry)
        h.sent = 2
        h.sending(1.0)
        assert not h.retry_due(1.0 + FAST.hello_retry) and h.retry_due(1.0 + 2 * FAST.hello_retry)
        h.sent = FAST.hello_retries + 1
        assert not h.retry_due(1e6)  # out of retries
        feed(reg, Owner(net, "peer-a"))
        assert h.done()


async def test_a_bigger_gossiped_view_makes_a_pull_unless_caught_up() -> None:
    net = MemoryNetwork()
    async with net.join(TOPIC, "me") as tr:
        reg = registry("me")
        h = Hello(FAST, tr, reg)
        rng = random.Random(1)
        mine = reg.view()
        assert h.note_view(mine, 0.0, rng) == math.inf
        assert h.note_view(None, 0.0, rng) == math.inf
        bigger = (mine[0] + 1, 12345)
        at = h.note_view(bigger, 0.0, rng)
        assert 0.0 <= at <= FAST.request_delay
        assert h.pull_due(at + FAST.hello_retry)
        h.pull_done()
        assert not h.pull_due(at + FAST.hello_retry)  # handled
        feed(reg, Owner(net, "peer-a"), at=10.0)
        h.note_view(bigger, 10.0, rng)
        assert not h.pull_due(10.5)  # discovery is under way here
