"""The signed peer record of every pubsub RPC: a host's cached address list and a
peerstore that keeps addresses when the same record arrives again (real py-libp2p
objects: keys, envelopes, a host listening on loopback); the tuned host's yamux credit
rule."""

from __future__ import annotations

import os
from typing import Literal

import pytest
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.envelope import Envelope, unmarshal_envelope
from libp2p.peer.id import ID
from libp2p.peer.peerstore import create_signed_peer_record, env_to_send_in_RPC
from multiaddr import Multiaddr

from asyncmachine.pubsub._libp2p_host import YAMUX_RELEASE_ON_READ, parse_listen_addrs
from asyncmachine.pubsub._libp2p_records import (
    AddrsCachingHost,
    RecordKeepingPeerStore,
    SentEnvelope,
)

from .helpers import tuned_host

A1, A2, A3 = (Multiaddr(f"/ip4/10.0.0.{i}/tcp/4001") for i in (1, 2, 3))


def _wire(env: Envelope) -> Envelope:
    """The envelope as a receiver gets it: a new object parsed from bytes."""
    return unmarshal_envelope(env.marshal_envelope())


def test_an_unchanged_record_keeps_the_addresses_and_renews_their_ttl() -> None:
    keys = create_new_key_pair()
    pid = ID.from_pubkey(keys.public_key)
    store = RecordKeepingPeerStore()
    env = create_signed_peer_record(pid, [A1], keys.private_key)
    assert store.consume_peer_record(_wire(env), 100)
    store.add_addrs(pid, [A2], 100)  # learned elsewhere (an info record)
    data = store.peer_data_map[pid]
    data.last_identified = 0  # long ago: expired
    assert store.consume_peer_record(_wire(env), 200)  # the next RPC, same record
    assert store.addrs(pid) == [A1, A2]
    assert data.get_ttl() == 200 and not data.is_expired()
    newer = create_signed_peer_record(pid, [A3], keys.private_key)  # moved: replaced
    assert store.consume_peer_record(_wire(newer), 100)
    assert store.addrs(pid) == [A3]


def test_a_record_signed_under_another_key_is_not_taken_for_the_stored_one() -> None:
    keys, other = create_new_key_pair(), create_new_key_pair()
    pid = ID.from_pubkey(keys.public_key)
    store = RecordKeepingPeerStore()
    env = create_signed_peer_record(pid, [A1], keys.private_key)
    assert store.consume_peer_record(_wire(env), 100)
    forged = Envelope(other.public_key, env.payload_type, env.raw_payload, env.signature)
    assert not store.consume_peer_record(forged, 100)  # signer is not the record's peer
    assert store.addrs(pid) == [A1]


async def test_the_address_list_is_kept_once_listening() -> None:
    parts = tuned_host()
    host = parts.host
    assert isinstance(host, AddrsCachingHost)
    assert host.get_addrs() == []  # not listening yet (not kept)
    async with host.run(listen_addrs=parse_listen_addrs(["/ip4/127.0.0.1/tcp/0"])):
        addrs = host.get_addrs()
        assert [str(a).split("/tcp/")[0] for a in addrs] == ["/ip4/127.0.0.1"]
        assert str(addrs[0]).endswith(f"/p2p/{host.get_id()}")
        addrs.clear()  # a caller's copy: the cached list is not touched
        assert host.get_addrs() != []


def test_the_own_record_is_marshalled_and_parsed_once_per_record() -> None:
    keys = create_new_key_pair()
    pid = ID.from_pubkey(keys.public_key)
    store = RecordKeepingPeerStore()
    for addrs in ([A1], [A2, A3]):  # a new address list: py-libp2p signs a new record
        env = create_signed_peer_record(pid, addrs, keys.private_key)
        store.set_local_record(env)
        sent = store.get_local_record()
        assert isinstance(sent, SentEnvelope)
        assert sent.marshal_envelope() == env.marshal_envelope()
        assert sent._env_addrs_set() == set(addrs)
        assert _wire(sent).record().addrs == addrs  # what receivers read: the same record


async def test_a_host_sends_the_same_record_until_its_addresses_change() -> None:
    parts = tuned_host()
    host = parts.host
    async with host.run(listen_addrs=parse_listen_addrs(["/ip4/127.0.0.1/tcp/0"])):
        first, _ = env_to_send_in_RPC(host)
        again, new = env_to_send_in_RPC(host)  # what gossipsub does for every RPC
        assert again == first and not new
        record = unmarshal_envelope(again).record()
        assert record.peer_id == host.get_id() and record.addrs == host.get_addrs()


@pytest.mark.parametrize(
    ("muxer", "preset", "expected"),
    [("yamux", None, "0"), ("yamux", "1", "1"), ("mplex", None, None)],
)
async def test_yamux_returns_credit_per_half_window_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
    muxer: Literal["yamux", "mplex"],
    preset: str | None,
    expected: str | None,
) -> None:
    monkeypatch.setenv(YAMUX_RELEASE_ON_READ, "unset below; restored after the test")
    if preset is None:
        monkeypatch.delenv(YAMUX_RELEASE_ON_READ)
    else:
        monkeypatch.setenv(YAMUX_RELEASE_ON_READ, preset)
    tuned_host(muxer)
    assert os.environ.get(YAMUX_RELEASE_ON_READ) == expected
