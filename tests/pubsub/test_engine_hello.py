"""Hello: retries with backoff while topic peers are unknown; pulls on a bigger view."""

from __future__ import annotations

import math
import random

from asyncmachine.pubsub import MemoryNetwork
from asyncmachine.pubsub._engine import Answers, Hello
from asyncmachine.pubsub._rendezvous import ring_key

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


async def test_a_gossiper_that_knows_everyone_but_us_makes_us_pull() -> None:
    """A live peer judged unreachable by all the others at once (reports of trimmed
    links outran its own) is held by nobody who could answer their pulls: when a view
    shows someone knows everyone but us, our next pull (carrying our records) goes out,
    at most once per keepalive (every copy of our records cancels others' answers)."""
    net = MemoryNetwork()
    async with net.join(TOPIC, "me") as tr:
        reg = registry("me")
        a, b = Owner(net, "peer-a"), Owner(net, "peer-b")
        feed(reg, a)
        feed(reg, b)
        h = Hello(FAST, tr, reg)
        rng = random.Random(1)
        count, xor = reg.view()
        mask = 0x7FFF_FFFF_FFFF_FFFF
        without_b = (count - 1, (xor ^ ring_key(b.peer_id)) & mask)
        assert h.note_view(without_b, 0.0, rng) == math.inf  # it lacks peer-b: not ours
        assert not h.pull_due(10.0)
        at = h.note_view((count - 1, (xor ^ reg.self_key) & mask), 20.0, rng)
        assert 20.0 <= at <= 20.0 + FAST.request_delay
        assert h.pull_due(at)
        h.sending(at, 20_000, pull=True)  # the pull goes out
        h.pull_done()
        assert not h.pull_due(at + 1.0)  # handled
        h.note_view((count - 1, (xor ^ reg.self_key) & mask), at + 0.1, rng)
        assert not h.pull_due(at + h.settle) and h.pull_due(at + h.spacing)
        assert h.spacing == FAST.keepalive > h.settle


async def test_a_hello_that_went_out_to_no_one_is_repeated_once_someone_listens() -> None:
    """Under a start's load a host may not see its first topic peer within hello_wait:
    its hello reached no one, and learning of the others from their hellos must not
    make it count as done."""
    net = MemoryNetwork()
    async with net.join(TOPIC, "me") as tr:
        reg = registry("me")
        h = Hello(FAST, tr, reg)
        h.sent = 1
        h.sending(0.0, 1_000)
        assert not h.retry_due(100.0)  # still no one to say it to
        async with net.join(TOPIC, "peer-a"):
            feed(reg, Owner(net, "peer-a"), at=0.5)  # its hello arrived
            assert not h.done()
            assert h.retry_due(0.5)  # at once: no backoff, no pause for discovery
            h.sent = 2
            h.sending(0.5, 1_500)
            assert h.done() and not h.retry_due(100.0)
            h.sending(1.0, 2_000, pull=True)  # pulls don't count as hellos here
            assert h.done()


async def test_since_is_when_the_first_topic_peer_was_seen() -> None:
    net = MemoryNetwork()
    async with net.join(TOPIC, "me") as tr:
        h = Hello(FAST, tr, registry("me"))
        assert h.sending(0.0, 1_000) == 1_000  # nobody in sight: listening only from now
        assert h.listening == 0
        h.peer_seen(2_000)
        h.peer_seen(2_500)  # only the first counts
        assert h.sending(1.0, 3_000) == 2_000  # a retry: still since the first peer
        # a pull asks only for what should have arrived by now (lost, not late)
        settle_ms = int(FAST.hello_retry * 1000)
        assert h.sending(9.0, 20_000, pull=True) == 20_000 - settle_ms
        assert h.sending(2.0, 2_100, pull=True) == 2_000  # never before listening


async def test_a_pull_asks_again_for_what_went_by_before_a_drop() -> None:
    """A peer dropped as unreachable (its records taken earlier) is asked for again:
    a pull's ``since`` is no earlier than the drop, so a responder that saw the peer's
    records go by before it counts them as missed (in a 100-host start, live peers
    judged unreachable by all others were never resent: their own pulls kept their
    records "recently broadcast")."""
    net = MemoryNetwork()
    async with net.join(TOPIC, "me") as tr, net.join(TOPIC, "peer-a"):
        me = Hello(FAST, tr, registry("me"))
        me.peer_seen(1_000)
        settle_ms = int(me.settle * 1000)
        wall = 31_000
        went_by, drop = wall - settle_ms * 3 // 4, wall - settle_ms // 2  # both recent
        assert me.sending(30.0, wall - 1_000, pull=True) == wall - 1_000 - settle_ms
        me.dropped(drop)
        since = me.sending(31.0, wall, pull=True)
        assert since == drop
        me.dropped(drop - 5_000)  # an older drop changes nothing
        assert me.sending(31.0, wall, pull=True) == drop
        assert me.sending(33.0, 33_000) == 1_000  # a hello (not a pull): since listening
        # a responder that saw peer-b's records go by before the drop owes them
        responder = Owner(net, "peer-r")
        reg = registry("peer-r")
        feed(reg, Owner(net, "peer-b"))
        for pull_since, owed in ((since, ["peer-b"]), (wall - settle_ms, [])):
            # without the drop (since a settle ago) it would count them as received
            answers = Answers(responder.local, reg, FAST, lambda _at: None, 0.0)
            answers.broadcast("peer-b", went_by)
            answers.for_hello("me", set(), 31.0, 31.0, since=pull_since)
            assert answers.take_due(32.0)[0] == owed


async def test_first_hello_with_a_topic_peer_in_sight_starts_listening() -> None:
    net = MemoryNetwork()
    async with net.join(TOPIC, "me") as tr, net.join(TOPIC, "peer-a"):
        h = Hello(FAST, tr, registry("me"))
        assert h.sending(0.0, 1_000) == 1_000 and h.listening == 1_000


async def test_slow_transit_narrows_what_pulls_ask_for() -> None:
    """On a saturated network (info messages taking seconds to arrive) a missing record
    is late, not lost: a pull asks only for what was published twice the transit ago."""
    net = MemoryNetwork()
    async with net.join(TOPIC, "me") as tr, net.join(TOPIC, "peer-a"):
        h = Hello(FAST, tr, registry("me"))
        assert h.settle == FAST.hello_retry
        for _ in range(100):
            h.note_transit(4.0)
        assert 7.9 < h.settle <= 8.0 and 3.9 < h.transit <= 4.0
        h.note_transit(1e9)  # an absurd claim counts as max_clock_skew at most
        assert h.transit <= 4.0 + 0.1 * FAST.max_clock_skew
        for _ in range(100):
            h.note_transit(4.0)
        h.peer_seen(1_000)
        assert h.sending(100.0, 100_000, pull=True) == 100_000 - int(h.settle * 1000)


async def test_repeats_wait_for_slow_answers_and_for_discovery_to_pause() -> None:
    """On a saturated network a hello or pull is repeated only after twice the transit
    time (its answer may be on its way), and never while new peers keep arriving."""
    net = MemoryNetwork()
    async with net.join(TOPIC, "me") as tr, net.join(TOPIC, "peer-a"):
        reg = registry("me")
        h = Hello(FAST, tr, reg)
        for _ in range(100):
            h.note_transit(10.0)
        assert h.settle > 19.0
        h.sent = 1
        h.sending(0.0)
        assert not h.retry_due(FAST.hello_retry) and h.retry_due(h.settle)
        feed(reg, Owner(net, "peer-b"), at=h.settle)  # a new peer: discovery under way
        assert not h.retry_due(h.settle + 0.5) and h.retry_due(h.settle + FAST.hello_retry)
        at = h.note_view((reg.view()[0] + 1, 1), 1.0, random.Random(1))
        assert h.settle <= at <= h.settle + FAST.request_delay  # not after hello_retry
