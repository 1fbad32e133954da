"""Outgoing builders: own entries, split answers, digests, requests, own links."""

from __future__ import annotations

import dataclasses
import random

from asyncmachine.pubsub import MemoryNetwork
from asyncmachine.pubsub._engine import Outgoing
from asyncmachine.pubsub._rendezvous import ring_key
from asyncmachine.pubsub._wire import ReqInfoMsg, ReqUpdatesMsg, unpack_keys

from .engine_kit import TOPIC, Owner, feed, registry
from .helpers import FAST


async def test_builders() -> None:
    net = MemoryNetwork()
    async with net.join(TOPIC, "me") as tr, net.join(TOPIC, "peer-0"):
        me = Owner(net, "me")
        reg = registry("me")
        owners = [Owner(net, f"peer-{i}", machines=3) for i in range(6)]
        for o in owners:
            feed(reg, o)
        s = dataclasses.replace(FAST, max_message_bytes=1500, gossip_amount=4)
        out = Outgoing(me.local, reg, s, tr, random.Random(0))
        hello = out.hello(7, since=1000, sent=1500)
        assert hello.hello == 7 and hello.entries == (me.entry(),)
        assert (hello.since, hello.sent) == (1000, 1500)
        assert hello.known is not None
        assert unpack_keys(hello.known) == {ring_key(o.peer_id) for o in owners}
        msgs = out.answer_info(["me", *(o.peer_id for o in owners), "unknown"], sent=2000)
        assert len(msgs) > 1  # split by max_message_bytes
        assert {m.sent for m in msgs} == {2000} and {m.hello for m in msgs} == {None}
        assert sum(len(m.entries) for m in msgs) == 7
        assert out.answer_clocks(["unknown"]) is None
        upd = out.answer_clocks(["me", "peer-1"])
        assert upd is not None and len(upd.records) == 2
        assert out.answer_links(["peer-1", "me"]) == []  # no links records yet
        digest = out.digest()
        assert digest[0].peer == "me" and len(digest) == 5
        assert len({e.peer for e in digest}) == 5  # a sample without replacement
        assert out.gossip().view == reg.view()
        assert isinstance(out.request(1, ["a"], clocks=False), ReqInfoMsg)
        assert isinstance(out.request(1, ["a"], clocks=True), ReqUpdatesMsg)
        assert out.own_links() == (("peer-0",), ("peer-0",))
