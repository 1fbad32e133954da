"""The engine's own bookkeeping of what the registry holds: the Topic's Miss* status
states (Engine.update_flags), and announcing itself to peers that dropped it."""

from __future__ import annotations

import trio

from asyncmachine.pubsub import GossipMessage, MemoryNetwork, MemoryTransport
from asyncmachine.pubsub._rendezvous import ring_key
from asyncmachine.pubsub._topic_states import ss
from asyncmachine.pubsub._wire import GossipMsg, InfoMsg, UpdatesMsg, encode_message

from .engine_kit import TOPIC, Owner, engine, feed


async def test_flags_follow_the_registry_and_heartbeats_mend_them() -> None:
    net = MemoryNetwork()
    eng = engine(MemoryTransport(net, TOPIC, "me"))
    o = Owner(net, "peer-a")
    info, clocks = o.entry()
    now = trio.current_time()

    def deliver(data: bytes) -> None:
        eng.on_message(GossipMessage(o.peer_id, data, trio.current_time()))

    deliver(encode_message(UpdatesMsg((clocks,))))  # clocks before their info: pending
    assert eng.reg.pending and eng.mach.is1(ss.MissPeersByUpdates)
    assert eng.mach.is1(ss.MissPeersByGossip)  # its info is wanted
    eng.mach.remove1(ss.MissPeersByUpdates)  # changed behind the engine's back
    o.machs[0].add1("Bar")
    deliver(encode_message(UpdatesMsg((o.entry()[1],))))  # still pending: flags unchanged
    assert not eng.mach.is1(ss.MissPeersByUpdates)  # not asked again per message
    eng.heartbeat(now)  # but mended by the next heartbeat
    assert eng.mach.is1(ss.MissPeersByUpdates)
    deliver(encode_message(InfoMsg(((info, None),))))  # the info: pending applied
    assert not eng.reg.pending and not eng.mach.is1(ss.MissPeersByUpdates)
    assert not eng.mach.is1(ss.MissPeersByGossip)
    await trio.lowlevel.checkpoint()


async def test_a_peer_that_everyone_else_dropped_announces_itself_again() -> None:
    """Gossip whose view is ours without us (every other peer judged us unreachable at
    once: nobody holds our records to answer their pulls) makes us send our info."""
    net = MemoryNetwork()
    eng = engine(MemoryTransport(net, TOPIC, "me"))
    a, b = Owner(net, "peer-a"), Owner(net, "peer-b")
    feed(eng.reg, a)
    feed(eng.reg, b)
    count, xor = eng.reg.view()
    now = trio.current_time()

    def gossip(view: tuple[int, int]) -> None:
        data = encode_message(GossipMsg((), view))
        eng.on_message(GossipMessage(a.peer_id, data, trio.current_time()))

    gossip((count - 1, xor ^ ring_key(b.peer_id)))  # it lacks peer-b, not us: not ours
    assert eng.answers.take_due(now + 60) == ([], [])
    gossip((count - 1, (xor ^ eng.reg.self_key) & 0x7FFF_FFFF_FFFF_FFFF))
    assert eng.answers.take_due(now + 60) == (["me"], [])
    await trio.lowlevel.checkpoint()
