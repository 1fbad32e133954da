"""Listen addresses travel in the owner-signed info record to a SelfOrganizing transport."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack

from trio.testing import MockClock

from asyncmachine.pubsub import (
    AddressSource,
    EventKind,
    MemoryNetwork,
    MemoryTransport,
    SelfOrganizing,
    open_topic,
)
from asyncmachine.pubsub._wallclock import wall_ms
from asyncmachine.pubsub._wire import (
    InfoMsg,
    Record,
    encode_info_body,
    encode_message,
    signed_payload,
)

from .helpers import FAST, until_event, worker


class DialingTransport(MemoryTransport):
    """A memory transport with addresses that learns others' (like libp2p's would)."""

    def __init__(self, network: MemoryNetwork, topic: str, peer_id: str) -> None:
        super().__init__(network, topic, peer_id)
        network._secret(peer_id)
        self.learned: dict[str, list[str]] = {}
        self.links: dict[str, list[str]] = {}
        self.separated: list[tuple[str, bool]] = []

    def addrs(self) -> list[str]:
        return [f"/memory/{self.peer_id}", "x" * 300]  # the second is over the limit

    def learn_addresses(
        self, peer_id: str, addrs: Sequence[str], source: AddressSource = AddressSource.RECORD
    ) -> bool:
        self.learned[peer_id] = list(addrs)
        return True

    def note_links(self, peer_id: str, connected: Sequence[str]) -> None:
        self.links[peer_id] = list(connected)

    def note_separated(self, peer_id: str, separated: bool) -> None:
        self.separated.append((peer_id, separated))

    def known_peers(self) -> dict[str, list[str]]:
        return dict(self.learned)


async def test_addresses_are_signed_into_info_and_learned(autojump_clock: MockClock) -> None:
    net = MemoryNetwork()
    ta, tb = DialingTransport(net, "t", "pa"), DialingTransport(net, "t", "pb")
    assert isinstance(ta, SelfOrganizing)
    assert not isinstance(MemoryTransport(net, "t", "pc"), SelfOrganizing)
    for t in (ta, tb):
        net._subs.setdefault("t", {})[t.peer_id] = t  # what join() does, with our class
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(
            open_topic("t", transport=ta, expose=[worker("w")], settings=FAST)
        )
        b = await stack.enter_async_context(open_topic("t", transport=tb, settings=FAST))
        await until_event([b], lambda: len(b.list_machines()) == 1)
        assert tb.learned[a.peer_id] == ["/memory/pa"]  # only addresses within the limits
        assert b.registry.peers[a.peer_id].addrs == ("/memory/pa",)
        await until_event([a], lambda: "pb" in ta.learned)
    for t in (ta, tb):
        net.leave(t)


async def test_addresses_for_another_peer_are_rejected(autojump_clock: MockClock) -> None:
    """A rogue can't tell others where a victim lives: an info record for the victim
    carrying the rogue's addresses fails the victim's signature and teaches nothing."""
    net = MemoryNetwork()
    tb = DialingTransport(net, "t", "pb")
    net._subs.setdefault("t", {})[tb.peer_id] = tb
    net._secret("victim")
    async with (
        open_topic("t", transport=tb, settings=FAST) as b,
        net.join("t", "rogue") as rogue,
    ):
        body = encode_info_body("victim", 1, 1, [], time=wall_ms(), addrs=["/ip4/6.6.6.6/tcp/1"])
        forged = Record("victim", 1, 1, body, net.sign_as("rogue", signed_payload("t", body)))
        await rogue.publish(encode_message(InfoMsg(((forged, None),))))
        await until_event([b], lambda: b.metrics.rejected["bad_signature"] >= 1)
        assert "victim" not in tb.learned and "victim" not in b.registry.peers
    net.leave(tb)


async def test_a_silent_peer_is_reported_separated_and_found_again(
    autojump_clock: MockClock,
) -> None:
    """The connection manager explores toward peers the topic lost touch with: a peer
    dropped as silent is reported separated, and no longer once its own messages arrive
    again (a partition longer than the peer timeout) and it is rediscovered."""
    net = MemoryNetwork()
    ta, tb = DialingTransport(net, "t", "pa"), DialingTransport(net, "t", "pb")
    for t in (ta, tb):
        net._subs.setdefault("t", {})[t.peer_id] = t
    removed: list[str] = []
    async with open_topic("t", transport=tb, settings=FAST) as b:
        b.add_observer(
            lambda ev: removed.append(ev.reason) if ev.kind is EventKind.PEER_REMOVED else None
        )
        async with open_topic("t", transport=ta, expose=[worker("w")], settings=FAST):
            await until_event([b], lambda: len(b.list_machines()) == 1)
            assert tb.separated == [("pa", False)]  # discovered
            net.delay = lambda src, dst, data: None if src == "pa" else 0.0  # silent
            net._subs["t"].pop("pa")  # and no longer a topic peer of b's transport
            await until_event([b], lambda: b.list_machines() == [], timeout=60)
            assert removed == ["timeout"]
            assert tb.separated[-1] == ("pa", True)
            net.delay = None  # the partition heals: the same session speaks again
            net._subs["t"]["pa"] = ta
            await until_event([b], lambda: len(b.list_machines()) == 1, timeout=120)
            assert tb.separated[-1] == ("pa", False)
        net._subs["t"].pop("pb")  # pa's bye must not reach b
    net.leave(ta)
