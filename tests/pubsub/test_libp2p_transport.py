"""Real py-libp2p hosts on 127.0.0.1: the GossipTransport contract over GossipSub."""

from __future__ import annotations

import logging
import os
import re
import socket
import stat
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2

from asyncmachine.pubsub import _libp2p_open as libp2p_open
from asyncmachine.pubsub._connect_policy import ConnectSettings
from asyncmachine.pubsub._libp2p_host import without_harmless_teardown_errors
from asyncmachine.pubsub._transport import GossipMessage, PeerEvent, PeerEventKind
from asyncmachine.pubsub.libp2p import (
    BootstrapError,
    DialError,
    Libp2pTransport,
    load_or_create_key,
    open_libp2p_transport,
    peer_id_of,
)
from tests.helpers import TIMEOUT

TOPIC = "am-test"
PEER = peer_id_of(create_new_key_pair())
TCP = "/ip4/127.0.0.1/tcp/0"
QUIC = "/ip4/127.0.0.1/udp/0/quic-v1"


@asynccontextmanager
async def node(**kwargs: Any) -> AsyncIterator[Libp2pTransport]:
    """A transport on TOPIC with a short shutdown grace (keeps the suite fast)."""
    kwargs.setdefault("shutdown_grace", 0.05)
    async with open_libp2p_transport(TOPIC, **kwargs) as t:
        yield t


async def wait_until(cond: Callable[[], bool]) -> None:
    """Poll a cheap condition until it holds (fails the test after TIMEOUT)."""
    # polls: py-libp2p offers no events for mesh/connection/counter changes (its internals)
    with trio.fail_after(TIMEOUT):
        while not cond():
            await trio.sleep(0.01)


async def next_event(t: Libp2pTransport, kind: PeerEventKind) -> PeerEvent:
    with trio.fail_after(TIMEOUT):
        async for ev in t.peer_events:
            if ev.kind is kind:
                return ev
    raise AssertionError("peer_events closed")


async def next_message(t: Libp2pTransport) -> GossipMessage:
    with trio.fail_after(TIMEOUT):
        return await t.messages.receive()


def sweeper_threads() -> int:
    """libp2p's seen-messages cache starts one of these per host (notes §5 item 9)."""
    return sum("_background_cleanup" in t.name for t in threading.enumerate())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def dead_addr() -> str:
    """A well-formed address nobody listens on."""
    return f"/ip4/127.0.0.1/tcp/{free_port()}/p2p/{peer_id_of(create_new_key_pair())}"


# --------------------------------------------------------------------------- one peer


async def test_single_peer_reports_addrs() -> None:
    key = create_new_key_pair()
    threads = sweeper_threads()
    async with node(key_pair=key) as t:
        assert sweeper_threads() == threads + 1
        assert t.peer_id == peer_id_of(key)
        assert t.topic == TOPIC
        addrs = t.addrs()
        assert addrs
        assert all(a.startswith("/ip4/127.0.0.1/tcp/") for a in addrs)
        assert all(a.endswith(f"/p2p/{t.peer_id}") for a in addrs)
        assert t.topic_peers() == t.connected_peers() == t.mesh_peers() == set()
    assert sweeper_threads() == threads  # stopped on exit


async def test_libp2p_logs_are_routed_to_asyncmachine_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncmachine.libp2p")
    async with node(), node():
        routers = [
            h
            for h in logging.getLogger("libp2p").handlers
            if type(h).__module__ == "asyncmachine.pubsub._libp2p_host"
        ]
        assert len(routers) == 1  # installed once per process
        logging.getLogger("libp2p.pubsub.gossipsub").warning("spam %d", 7)
    routed = [r for r in caplog.records if r.name == "asyncmachine.libp2p"]
    assert any(
        r.levelno == logging.DEBUG and r.getMessage() == "[WARNING libp2p.pubsub.gossipsub] spam 7"
        for r in routed
    )


async def test_body_errors_pass_through_unwrapped() -> None:
    with pytest.raises(KeyError, match="boom"):
        async with node():
            raise KeyError("boom")


def test_teardown_filter_drops_only_the_known_harmless_error() -> None:
    harmless = RuntimeError("Nursery is closed to new arrivals")
    real = KeyError("real")
    nested = ExceptionGroup("outer", [ExceptionGroup("inner", [harmless]), real])
    assert without_harmless_teardown_errors(nested) is real
    assert without_harmless_teardown_errors(ExceptionGroup("only", [harmless])) is None
    two = ExceptionGroup("two", [harmless, real, ValueError("also real")])
    rest = without_harmless_teardown_errors(two)
    assert isinstance(rest, ExceptionGroup) and len(rest.exceptions) == 2


async def test_closed_transport_ends_channels_and_refuses_publish() -> None:
    async with node() as t:
        pass
    with pytest.raises(trio.EndOfChannel):
        await t.messages.receive()
    with pytest.raises(trio.EndOfChannel):
        await t.peer_events.receive()
    with pytest.raises(trio.ClosedResourceError):
        await t.publish(b"late")


# --------------------------------------------------------------------------- two or more peers


async def test_two_peers_join_and_exchange_both_ways() -> None:
    async with node() as a, node(bootstrap=a.addrs()) as b:
        assert (await next_event(a, PeerEventKind.JOINED)).peer_id == b.peer_id
        assert (await next_event(b, PeerEventKind.JOINED)).peer_id == a.peer_id
        assert a.topic_peers() == {b.peer_id} and b.topic_peers() == {a.peer_id}
        assert a.connected_peers() == {b.peer_id}

        t0 = trio.current_time()
        await a.publish(b"from a")
        got = await next_message(b)
        assert (got.author, got.data) == (a.peer_id, b"from a")
        assert t0 <= got.received_at <= trio.current_time()

        await b.publish(b"from b")
        got = await next_message(a)  # a's own message would have come first
        assert (got.author, got.data) == (b.peer_id, b"from b")
        with pytest.raises(trio.WouldBlock):
            b.messages.receive_nowait()  # no self-delivery on b either

        assert a.counters.published == 1 and a.counters.bytes_published == 6
        assert a.counters.received == 1 and a.counters.bytes_received == 6
        assert a.dropped == b.dropped == 0


async def test_own_messages_reach_topic_peers_past_an_empty_mesh() -> None:
    """py-libp2p publishes own messages into the mesh only; a peer whose mesh ran empty
    (GRAFTs refused, PRUNE backoffs: seen in 100-host starts) reached no one
    (flood publish while the mesh is empty, :mod:`asyncmachine.pubsub._libp2p_flood`)."""
    async with node(heartbeat_interval=3600) as a, node(bootstrap=a.addrs()) as b:
        await next_event(a, PeerEventKind.JOINED)
        await next_event(b, PeerEventKind.JOINED)
        a._router.mesh[TOPIC].clear()  # as after refused GRAFTs (no heartbeat to re-graft)
        await a.publish(b"meshless")
        got = await next_message(b)
        assert (got.author, got.data) == (a.peer_id, b"meshless")


async def test_line_topology_relays_with_original_author() -> None:
    line = ConnectSettings(low=1, high=2, explore_interval=3600)  # only the bootstrap line
    async with (
        node(connections=line) as a,
        node(bootstrap=a.addrs(), connections=line) as b,
        node(bootstrap=b.addrs(), connections=line) as c,
    ):
        await wait_until(
            lambda: (
                b.mesh_peers() == {a.peer_id, c.peer_id}
                and a.mesh_peers() == {b.peer_id}
                and c.mesh_peers() == {b.peer_id}
            )
        )
        assert a.peer_id not in c.connected_peers()
        await a.publish(b"relayed")
        got = await next_message(c)
        assert (got.author, got.data) == (a.peer_id, b"relayed")
        assert (await next_message(b)).author == a.peer_id


async def test_left_when_peer_closes() -> None:
    async with node() as a:
        async with node(bootstrap=a.addrs()) as b:
            await next_event(a, PeerEventKind.JOINED)
        assert (await next_event(a, PeerEventKind.LEFT)).peer_id == b.peer_id
        assert a.topic_peers() == set()


async def test_left_on_disconnect() -> None:
    async with node() as a, node(bootstrap=a.addrs()) as b:
        await next_event(a, PeerEventKind.JOINED)
        await next_event(b, PeerEventKind.JOINED)
        await a.disconnect(b.peer_id)
        assert (await next_event(a, PeerEventKind.LEFT)).peer_id == b.peer_id
        assert (await next_event(b, PeerEventKind.LEFT)).peer_id == a.peer_id
        await wait_until(lambda: not a.connected_peers() and not b.connected_peers())


async def test_a_dead_sending_stream_keeps_the_peers_subscriptions() -> None:
    """py-libp2p forgets a peer's subscriptions when our sending stream to it dies and
    opens a new one; the peer's own stream (which carried them) lives on and never
    repeats them: it stayed out of our topic peers for good (~4 % of the connections
    of a 100-host start). They stand while its stream is read here."""
    async with node() as a, node(bootstrap=a.addrs()) as b:
        await next_event(a, PeerEventKind.JOINED)
        await next_event(b, PeerEventKind.JOINED)
        bid = ID.from_base58(b.peer_id)
        old = a._pubsub.peers[bid]
        await old.reset()  # as when the connection it ran on is closed, another kept
        await a.publish(b"lost")  # the send loop finds it dead
        await wait_until(lambda: a._pubsub.peers.get(bid) not in (None, old))
        assert a.topic_peers() == {b.peer_id} and b.topic_peers() == {a.peer_id}
        await a.publish(b"after")
        got = await next_message(b)
        while got.data == b"lost":  # delivered before the reset reached b, or not
            got = await next_message(b)
        assert (got.author, got.data) == (a.peer_id, b"after")
        with pytest.raises(trio.WouldBlock):
            a.peer_events.receive_nowait()  # b never left a's topic peers


async def test_a_peer_relaying_the_topic_is_taken_as_subscribed() -> None:
    """A subscription lost here (py-libp2p forgets them on more paths than one) comes
    back with the first topic message the peer sends us: it relays the topic."""
    async with node() as a, node(bootstrap=a.addrs()) as b:
        await next_event(a, PeerEventKind.JOINED)
        await next_event(b, PeerEventKind.JOINED)
        a._pubsub._drop_subscriptions(ID.from_base58(b.peer_id))  # lost, b still counts a
        assert (await next_event(a, PeerEventKind.LEFT)).peer_id == b.peer_id
        await b.publish(b"relayed to a")
        assert (await next_message(a)).data == b"relayed to a"
        assert (await next_event(a, PeerEventKind.JOINED)).peer_id == b.peer_id
        assert a.topic_peers() == {b.peer_id}
        # a peer that said it left is not brought back by a message arriving late
        bid = ID.from_base58(b.peer_id)
        a._pubsub.handle_subscription(bid, rpc_pb2.RPC.SubOpts(subscribe=False, topicid=TOPIC))
        assert (await next_event(a, PeerEventKind.LEFT)).peer_id == b.peer_id
        await b.publish(b"sent before it left")
        assert (await next_message(a)).data == b"sent before it left"
        assert a.topic_peers() == set()


async def test_a_sending_stream_given_up_on_is_reopened() -> None:
    """py-libp2p stops trying to open a sending stream on some paths; a subscribed,
    connected peer without one never learns our subscription: reopened."""
    async with node() as a, node(bootstrap=a.addrs()) as b:
        await next_event(a, PeerEventKind.JOINED)
        await next_event(b, PeerEventKind.JOINED)
        ps, bid = a._pubsub, ID.from_base58(b.peer_id)
        del ps.peers[bid]  # as after a registration py-libp2p gave up on
        ps.peer_queues.pop(bid).close()
        now = trio.current_time()
        assert ps.repair_streams(now) == 1 and ps.repair_streams(now) == 0  # one attempt
        await wait_until(lambda: bid in ps.peers)
        await a.publish(b"again")
        assert (await next_message(b)).data == b"again"
        # both gone: no sending stream, and b's subscription unknown here
        del ps.peers[bid]
        ps.peer_queues.pop(bid).close()
        ps._drop_subscriptions(bid)
        assert (await next_event(a, PeerEventKind.LEFT)).peer_id == b.peer_id
        assert ps.repair_streams(now) == 1  # tried anyway (once a minute at most)
        assert ps.repair_streams(now + 30) == 0
        await wait_until(lambda: bid in ps.peers)
        await b.publish(b"heard again")  # b had a's subscription: a relaying peer
        assert (await next_message(a)).data == b"heard again"
        assert a.topic_peers() == {b.peer_id}


async def test_full_channel_drops_and_counts() -> None:
    async with node(message_buffer=1) as a, node(bootstrap=a.addrs()) as b:
        await wait_until(lambda: b.mesh_peers() == {a.peer_id})
        for i in range(3):
            await b.publish(b"%d" % i)
        await wait_until(lambda: a.counters.received == 3)
        assert a.dropped == 2
        assert (await next_message(a)).data == b"0"


async def test_cancelled_exit_still_closes_host() -> None:
    async with node() as b:
        with trio.CancelScope() as cs:
            async with node(bootstrap=b.addrs()) as a:
                await next_event(b, PeerEventKind.JOINED)
                port = int(a.addrs()[0].split("/")[4])
                cs.cancel()
                await trio.sleep_forever()
        assert cs.cancelled_caught
        assert (await next_event(b, PeerEventKind.LEFT)).peer_id == a.peer_id
        with pytest.raises(OSError):
            await trio.open_tcp_stream("127.0.0.1", port)


async def test_entering_under_cancelled_scope_never_runs_the_body() -> None:
    threads = sweeper_threads()
    with trio.CancelScope() as cs:
        cs.cancel()
        async with node():
            pytest.fail("body ran under a cancelled scope")
    assert cs.cancelled_caught
    assert sweeper_threads() == threads


async def test_connect_explicitly() -> None:
    async with node() as a, node() as b:
        b_addr = b.addrs()[0]
        await a.connect(b_addr)
        assert (await next_event(b, PeerEventKind.JOINED)).peer_id == a.peer_id
        assert b.peer_id in a.connected_peers()
        with pytest.raises(ValueError, match="own id"):
            await a.connect(a.addrs()[0])
        with pytest.raises(ValueError, match=re.escape("/ip4/127.0.0.1/tcp/1")):
            await a.connect("/ip4/127.0.0.1/tcp/1")
        dead = dead_addr()
        with pytest.raises(DialError, match=re.escape(dead)):
            await a.connect(dead)
    with pytest.raises(trio.ClosedResourceError):
        await a.connect(b_addr)


async def test_listen_address_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        addr = f"/ip4/127.0.0.1/tcp/{taken.getsockname()[1]}"
        with pytest.raises(OSError, match=re.escape(addr)):
            async with node(listen=[addr]):
                pass


async def test_quic_peers_exchange() -> None:
    async with node(listen=[TCP, QUIC]) as a:
        quic_addr = next(addr for addr in a.addrs() if "/quic-v1/" in addr)
        async with node(listen=[QUIC], bootstrap=[quic_addr]) as b:
            await next_event(a, PeerEventKind.JOINED)
            await wait_until(lambda: b.mesh_peers() == {a.peer_id})
            await b.publish(b"over quic")
            got = await next_message(a)
            assert (got.author, got.data) == (b.peer_id, b"over quic")
            tcp_addr = next(addr for addr in a.addrs() if "/tcp/" in addr)
            with pytest.raises(ValueError, match="listens on quic only"):
                await b.connect(tcp_addr)


# --------------------------------------------------------------------------- signatures


async def test_sign_verify() -> None:
    async with node() as a, node() as b:
        sig = a.sign(b"clock")
        assert len(sig) == 64
        assert b.verify(a.peer_id, b"clock", sig)
        assert a.verify(a.peer_id, b"clock", sig)
        assert not b.verify(a.peer_id, b"clock!", sig)
        assert not a.verify(b.peer_id, b"clock", sig)  # someone else's key
        assert not a.verify(a.peer_id, b"clock", b.sign(b"clock"))
        for bad_sig in (b"", b"\0" * 64, sig[:63], sig + b"\0", "text", None):
            assert not a.verify(a.peer_id, b"clock", bad_sig)  # type: ignore[arg-type]
        rsa_style = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"
        for bad_id in ("", "not-base58-0OIl", rsa_style, a.peer_id[:-2], None, 42, ["x"]):
            assert not a.verify(bad_id, b"clock", sig)  # type: ignore[arg-type]
        assert not a.verify(a.peer_id, None, sig)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- bad input, bootstrap


@pytest.mark.parametrize(
    ("kwargs", "bad"),
    [
        ({"listen": ["garbage"]}, "garbage"),
        ({"listen": ["/ip4/127.0.0.1/tcp/notaport"]}, "/ip4/127.0.0.1/tcp/notaport"),
        ({"listen": ["/ip4/127.0.0.1/udp/0"]}, "/ip4/127.0.0.1/udp/0"),
        ({"listen": [""]}, "''"),
        ({"bootstrap": ["/ip4/127.0.0.1/tcp/4001"]}, "/ip4/127.0.0.1/tcp/4001"),
        ({"bootstrap": ["/ip4/127.0.0.1/tcp/1/p2p/nope"]}, "/ip4/127.0.0.1/tcp/1/p2p/nope"),
        ({"bootstrap": ["nonsense"]}, "nonsense"),
        ({"listen": [QUIC], "bootstrap": [f"/ip4/127.0.0.1/tcp/1/p2p/{PEER}"]}, "/tcp/1/p2p/"),
    ],
)
async def test_bad_multiaddr_raises_value_error_before_start(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, list[str]], bad: str
) -> None:
    def no_host(*args: object, **kw: object) -> None:
        raise AssertionError("a host was built")

    monkeypatch.setattr(libp2p_open, "build_host", no_host)
    with pytest.raises(ValueError, match="address") as info:
        async with open_libp2p_transport(TOPIC, **kwargs):  # type: ignore[arg-type]
            pass
    assert bad in str(info.value)


async def test_bootstrap_only_to_unreachable_peers_fails_clearly() -> None:
    dead = [dead_addr(), dead_addr()]
    with pytest.raises(BootstrapError) as info:
        async with node(bootstrap=dead, dial_timeout=5):
            pass
    assert isinstance(info.value, ConnectionError)
    assert all(addr in str(info.value) for addr in dead)
    assert set(info.value.failures) == set(dead)


async def test_partial_bootstrap_logs_and_redials(caplog: pytest.LogCaptureFixture) -> None:
    late_key = create_new_key_pair()
    late_port = free_port()
    late_addr = f"/ip4/127.0.0.1/tcp/{late_port}/p2p/{peer_id_of(late_key)}"
    caplog.set_level(logging.WARNING, logger="asyncmachine.pubsub._connect_libp2p")
    async with node() as up, node(bootstrap=[up.addrs()[0], late_addr], redial_initial=0.1) as a:
        assert a.connected_peers() == {up.peer_id}
        assert late_addr in caplog.text
        async with node(key_pair=late_key, listen=[f"/ip4/127.0.0.1/tcp/{late_port}"]) as late:
            await wait_until(lambda: late.peer_id in a.connected_peers())


# --------------------------------------------------------------------------- identity keys


async def test_key_file_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "node.key"
    first = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["node.key"]  # no temp files left
    again = load_or_create_key(str(path))
    assert peer_id_of(first) == peer_id_of(again)
    async with node(key_pair=again) as t:
        assert t.peer_id == peer_id_of(first)


def test_key_file_accepts_raw_seed_and_go_format(tmp_path: Path) -> None:
    kp = create_new_key_pair()
    seed = kp.private_key.to_bytes()
    raw, go = tmp_path / "raw.key", tmp_path / "go.key"
    raw.write_bytes(seed)
    go.write_bytes(b"\x08\x01\x12\x40" + seed + kp.public_key.to_bytes())
    assert peer_id_of(load_or_create_key(raw)) == peer_id_of(kp)
    assert peer_id_of(load_or_create_key(go)) == peer_id_of(kp)


def test_corrupt_or_unreadable_key_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_bytes(b"not a key at all")
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        load_or_create_key(bad)
    assert bad.read_bytes() == b"not a key at all"  # left untouched
    folder = tmp_path / "dir.key"
    os.mkdir(folder)
    with pytest.raises(OSError, match=re.escape(str(folder))):
        load_or_create_key(folder)
