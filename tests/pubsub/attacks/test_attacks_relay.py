"""What a validating relay forwards, on real py-libp2p hosts (issue 12).

Both sides of screening records before relaying: what no honest peer would take
(stale replays, over-budget and expired records) dies at the first honest hop, so a
peer behind the relay never sees it; and what the relay already holds — an answer to
someone else's hello or request — still reaches the peers behind it.
"""

from __future__ import annotations

import dataclasses

import pytest
import trio
from libp2p.peer.id import ID

from asyncmachine import Machine
from asyncmachine.pubsub import TopicSettings, open_topic
from asyncmachine.pubsub._connect import ConnectSettings
from asyncmachine.pubsub._libp2p_score import Refuser
from asyncmachine.pubsub._settings import Budgets
from asyncmachine.pubsub._wallclock import wall_ms
from asyncmachine.pubsub._wire import InfoMsg, UpdatesMsg, encode_message
from asyncmachine.pubsub.libp2p import Libp2pTransport, open_libp2p_transport

from ..helpers import WORKER_SCHEMA
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


MUTE = Budgets(answer_ratio=0.0, answer_allowance=0, answer_rate=0, answer_burst=0)
"""b answers no hello and no request: what c learns of a, a's own messages bring."""


async def test_answers_a_relay_holds_still_reach_the_peers_behind_it() -> None:
    """c reaches a only through b, which answers nothing: a's answers to c's hello and
    requests carry records b holds (duplicates to b) and must still be relayed to c."""
    s = TopicSettings(hello_delay=0.05, hello_retry=1.0)
    src = Machine(dict(WORKER_SCHEMA), id="w")
    async with (
        open_topic(TOPIC, expose=[src], settings=s, shutdown_grace=0.05) as a,
        open_topic(
            TOPIC,
            bootstrap=a.addrs(),
            settings=dataclasses.replace(s, budgets=MUTE),
            shutdown_grace=0.05,
        ) as b,
    ):
        with trio.fail_after(60):
            await b.when_machine(peer_id=a.peer_id)
        async with open_libp2p_transport(
            TOPIC,
            bootstrap=b.addrs(),
            shutdown_grace=0.05,
            connections=ConnectSettings(low=1, high=1),
        ) as tc:
            tc.host.get_network().register_notifee(Refuser({ID.from_base58(a.peer_id)}))
            async with open_topic(TOPIC, transport=tc, settings=s) as c:
                with trio.fail_after(60):
                    await c.when_machine(peer_id=a.peer_id)
                assert a.peer_id not in tc.connected_peers()
                assert await one_update(a, c) is not None
