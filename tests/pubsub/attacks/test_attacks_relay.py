"""What a validating relay forwards, on real py-libp2p hosts (issue 12).

Both sides of screening records before relaying: what no honest peer would take
(stale replays, over-budget and expired records) dies at the first honest hop, so a
peer behind the relay never sees it; and what the relay already holds — an answer to
someone else's hello or request — still reaches the peers behind it.
"""

from __future__ import annotations

import pytest
import trio
from libp2p.peer.id import ID

from asyncmachine.pubsub._libp2p_score import Refuser
from asyncmachine.pubsub._wallclock import wall_ms
from asyncmachine.pubsub._wire import (
    InfoMsg,
    ReqInfoMsg,
    UpdatesMsg,
    decode_message,
    encode_message,
)
from asyncmachine.pubsub.libp2p import Libp2pTransport

from .harness import TOPIC, honest_and_rogue, made_up_owners, observer, one_update, sybil_entries
from .kit import clock_updates, owner_entry

pytestmark = pytest.mark.slow


async def test_what_no_honest_peer_takes_is_not_relayed() -> None:
    """The rogue, connected to b only, sends a's clocks record that b holds a newer one
    of, a record over the per-peer budgets and an expired one, then one new record: c,
    connected to b only, receives only the last (b relays in order), and a's updates."""
    async with honest_and_rogue() as (a, b, rogue), observer(b) as (c, seen):
        tb = b.transport
        assert isinstance(tb, Libp2pTransport)
        stale = b.registry.peers[a.peer_id].clock_rec
        assert stale is not None
        assert await one_update(a, b) is not None  # b holds a newer one now
        [(owner, sign)] = made_up_owners(1)
        s = b.settings
        old = wall_ms() - int((s.record_max_age + s.max_clock_skew + 5) * 1000)
        expired = owner_entry(TOPIC, owner, sign, machines=1, states=2, stamp_ms=old)
        for data in (
            encode_message(UpdatesMsg((stale,))),
            encode_message(InfoMsg(tuple(sybil_entries(1, 256, 256)))),
            encode_message(InfoMsg((expired,))),
            *clock_updates(TOPIC, made_up_owners(1), 1),  # news: relayed
        ):
            await rogue.publish(data)
        with trio.fail_after(20):
            while not seen[rogue.peer_id]:
                await trio.sleep(0.05)
        rejected = b.metrics.rejected
        assert (rejected["stale"], rejected["over_budget"], rejected["expired"]) == (1, 1, 2)
        assert tb.counters.ignored == 3 and tb.counters.graylisted == 0, tb.counters
        assert await one_update(a, b) is not None
        with trio.fail_after(20):
            while not seen[a.peer_id]:
                await trio.sleep(0.05)
        assert seen[rogue.peer_id] == 1
        assert set(c.connected_peers()) == {b.peer_id}


async def test_an_answer_the_relay_holds_still_reaches_the_peer_behind_it() -> None:
    """d, connected to b only, asks for a's info with a nonce that makes a (the owner)
    the chosen responder: a's answer carries only records b holds (duplicates to b),
    and b must still relay it to d."""
    async with honest_and_rogue() as (a, b, d):
        d.host.get_network().register_notifee(Refuser({ID.from_base58(a.peer_id)}))
        views = (a.registry, b.registry)
        nonce = next(
            n
            for n in range(10_000)
            if all(r.chosen(n, 1, {d.peer_id}) == [a.peer_id] for r in views)
        )
        await d.publish(encode_message(ReqInfoMsg(nonce, (a.peer_id,))))
        held = b.registry.peers[a.peer_id].info_rec
        with trio.fail_after(20):
            async for m in d.messages:
                msg = decode_message(m.data)
                if m.author == a.peer_id and isinstance(msg, InfoMsg) and msg.hello is None:
                    break
        assert [info for info, _clocks in msg.entries] == [held]  # a duplicate to b
        assert set(d.connected_peers()) == {b.peer_id}
