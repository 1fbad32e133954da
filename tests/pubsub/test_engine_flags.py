"""The Topic's Miss* status states follow the registry (Engine.update_flags)."""

from __future__ import annotations

import trio

from asyncmachine.pubsub import GossipMessage, MemoryNetwork, MemoryTransport
from asyncmachine.pubsub._topic_states import ss
from asyncmachine.pubsub._wire import InfoMsg, UpdatesMsg, encode_message

from .engine_kit import TOPIC, Owner, engine


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
