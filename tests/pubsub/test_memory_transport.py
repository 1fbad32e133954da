"""The in-memory gossip network: delivery, peer events, signatures, hooks."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from asyncmachine.pubsub import (
    GossipMessage,
    InboxTransport,
    MemoryNetwork,
    PeerEvent,
    PeerEventKind,
)


async def test_delivery_to_others_only() -> None:
    net = MemoryNetwork()
    async with net.join("t") as a, net.join("t") as b, net.join("t") as c, net.join("u") as d:
        await a.publish(b"hi")
        for t in (b, c):
            m = t.messages.receive_nowait()
            assert m.author == a.peer_id and m.data == b"hi"
        for t in (a, d):
            with pytest.raises(trio.WouldBlock):
                t.messages.receive_nowait()
        assert a.topic_peers() == {b.peer_id, c.peer_id}
        assert a.addrs()[0].endswith("/p2p/" + a.peer_id)


async def test_peer_events() -> None:
    net = MemoryNetwork()
    async with net.join("t") as a:
        async with net.join("t") as b:
            ev = a.peer_events.receive_nowait()
            assert (ev.kind, ev.peer_id) == (PeerEventKind.JOINED, b.peer_id)
            ev = b.peer_events.receive_nowait()
            assert (ev.kind, ev.peer_id) == (PeerEventKind.JOINED, a.peer_id)
        ev = a.peer_events.receive_nowait()
        assert (ev.kind, ev.peer_id) == (PeerEventKind.LEFT, b.peer_id)
        with pytest.raises(trio.ClosedResourceError):
            await b.publish(b"x")


async def test_signatures() -> None:
    net = MemoryNetwork(seed=1)
    async with net.join("t") as a, net.join("t") as b:
        sig = a.sign(b"data")
        assert b.verify(a.peer_id, b"data", sig)
        assert not b.verify(b.peer_id, b"data", sig)
        assert not b.verify(a.peer_id, b"datA", sig)
        assert not b.verify("nobody", b"data", sig)


async def test_full_buffer_counts_drops() -> None:
    net = MemoryNetwork(buffer=2)
    async with net.join("t") as a, net.join("t") as b:
        for _ in range(5):
            await a.publish(b"x")
        assert b.dropped == 3


async def test_delay_and_loss_hooks(autojump_clock: trio.testing.MockClock) -> None:
    def delay(author: str, receiver: str, data: bytes) -> float | None:
        return None if data == b"lost" else 0.5

    async with MemoryNetwork(delay=delay) as net, net.join("t") as a, net.join("t") as b:
        t0 = trio.current_time()
        await a.publish(b"lost")
        await a.publish(b"late")
        m = await b.messages.receive()
        assert m.data == b"late"
        assert m.received_at - t0 == pytest.approx(0.5)


async def test_connect_validates_addr() -> None:
    net = MemoryNetwork()
    async with net.join("t") as a, net.join("t") as b:
        await a.connect(b.addrs()[0])
        with pytest.raises(ValueError):
            await a.connect("/ip4/1.2.3.4")
        with pytest.raises(ConnectionError):
            await a.connect("/memory/ghost")


async def test_network_context_is_not_reentrant() -> None:
    net = MemoryNetwork(delay=lambda a, r, d: 0.5)
    async with net:
        with pytest.raises(RuntimeError, match="already running"):
            async with net:
                pass
        # still serving: a delayed delivery arrives
        async with net.join("t") as a, net.join("t") as b:
            await a.publish(b"x")
            with trio.fail_after(10):
                assert (await b.messages.receive()).data == b"x"
    with pytest.raises(RuntimeError, match="not running"):
        await net.__aexit__(None, None, None)
    async with net:  # enterable again after a clean exit
        pass


async def test_network_exit_after_an_error_in_the_body() -> None:
    net = MemoryNetwork(delay=lambda a, r, d: 5.0)
    with pytest.raises(ExceptionGroup) as info:  # the network's nursery wraps it (Trio)
        async with net, net.join("t") as a, net.join("t"):
            await a.publish(b"pending")  # a delivery still in flight is dropped
            raise KeyError("body")
    assert info.group_contains(KeyError, match="body")
    with pytest.raises(RuntimeError, match="must be entered"):
        async with net.join("t") as a, net.join("t"):
            await a.publish(b"x")


def test_inbox_transport_is_a_public_base() -> None:
    inbox = InboxTransport("me", buffer=1)
    assert inbox.push_message(GossipMessage("other", b"1", 0.0))
    assert not inbox.push_message(GossipMessage("other", b"2", 0.0))  # full: dropped
    assert inbox.dropped == 1
    inbox.push_peer_event(PeerEvent(PeerEventKind.JOINED, "other"))
    assert inbox.messages.receive_nowait().data == b"1"
    assert inbox.peer_events.receive_nowait().peer_id == "other"
    inbox.close()
    assert inbox.closed and not inbox.push_message(GossipMessage("other", b"3", 0.0))
    inbox.push_peer_event(PeerEvent(PeerEventKind.LEFT, "other"))  # ignored once closed
    with pytest.raises(trio.EndOfChannel):
        inbox.messages.receive_nowait()
