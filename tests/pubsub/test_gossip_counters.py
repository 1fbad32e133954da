"""Real py-libp2p hosts: the router counts control messages and forwards
(``GossipCountersMixin``), exposed through ``Libp2pTransport.counters``."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio
from libp2p.peer.id import ID

from asyncmachine.pubsub._connect_policy import ConnectSettings
from asyncmachine.pubsub.libp2p import Libp2pTransport, open_libp2p_transport
from tests.helpers import TIMEOUT

TOPIC = "am-counters"
LINE = ConnectSettings(low=1, high=2, explore_interval=3600)  # only the bootstrap line


@asynccontextmanager
async def node(**kwargs: Any) -> AsyncIterator[Libp2pTransport]:
    async with open_libp2p_transport(TOPIC, shutdown_grace=0.05, connections=LINE, **kwargs) as t:
        yield t


async def wait_until(cond: Callable[[], bool]) -> None:
    # polls: py-libp2p offers no events for mesh or counter changes
    with trio.fail_after(TIMEOUT):
        while not cond():
            await trio.sleep(0.01)


@asynccontextmanager
async def line() -> AsyncIterator[tuple[Libp2pTransport, Libp2pTransport, Libp2pTransport]]:
    """a - b - c, meshes formed along the line."""
    async with (
        node() as a,
        node(bootstrap=a.addrs()) as b,
        node(bootstrap=b.addrs()) as c,
    ):
        await wait_until(
            lambda: (
                b.mesh_peers() == {a.peer_id, c.peer_id}
                and a.mesh_peers() == {b.peer_id}
                and c.mesh_peers() == {b.peer_id}
            )
        )
        yield a, b, c


async def test_grafts_counted_when_meshes_form() -> None:
    async with line() as (a, b, c):
        ts = (a, b, c)
        # every mesh link was asked for by a GRAFT from one end or the other
        for t in ts:
            assert t.counters.graft_sent + t.counters.graft_received >= 1
        assert b.counters.graft_sent + b.counters.graft_received >= 2
        # what is received was sent (some may still be in flight)
        await wait_until(
            lambda: (
                sum(t.counters.graft_received for t in ts) == sum(t.counters.graft_sent for t in ts)
            )
        )
        assert a.counters.forwarded == b.counters.forwarded == c.counters.forwarded == 0


async def test_message_forwarded_by_the_middle_peer_counts_there() -> None:
    async with line() as (a, b, c):
        await a.publish(b"relayed!")
        with trio.fail_after(TIMEOUT):
            got = await c.messages.receive()
        assert got.author == a.peer_id
        assert (b.counters.forwarded, b.counters.bytes_forwarded) == (1, 8)
        # an own publish is no forward; c has nobody to forward to (b sent it)
        assert a.counters.forwarded == c.counters.forwarded == 0
        assert a.counters.published == 1


async def test_ihave_answered_by_iwant_counts_both_ways() -> None:
    async with line() as (a, b, _):
        unknown = secrets.token_bytes(20)
        await a._router.emit_ihave(TOPIC, [unknown], ID.from_base58(b.peer_id))
        await wait_until(lambda: a.counters.iwant_received == 1)
        assert (a.counters.ihave_sent, b.counters.ihave_received) == (1, 1)
        assert (b.counters.iwant_sent, b.counters.iwant_ids_sent) == (1, 1)
        # a does not hold the message: nothing forwarded in answer
        assert a.counters.forwarded == 0
