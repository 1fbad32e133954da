"""The wire test vectors (tests/data/wire-vectors.json) against the spec in docs/pubsub.md.

The first group uses ONLY cbor2, PyNaCl and hashlib (plus a few lines of base58), the way
an independent implementation would: decode each message, check its layout, rebuild the
signed bytes as the doc says and verify every record signature with the key inside the
owner's peer id. The second group checks that the project's own code agrees.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import cbor2
import pytest
from nacl.signing import SigningKey, VerifyKey

DATA = Path(__file__).parents[1] / "data"
VECTORS: dict[str, Any] = json.loads((DATA / "wire-vectors.json").read_text())
TOPIC: str = VECTORS["topic"]
KEYS = {k["peer_id"]: k for k in VECTORS["keys"]}
RECORDS = {r["name"]: r for r in VECTORS["records"]}
MESSAGES = VECTORS["messages"]

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_PEER_ID_PREFIX = bytes.fromhex("002408011220")  # identity multihash of an Ed25519 PublicKey pb


def b58encode(raw: bytes) -> str:
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def b58decode(s: str) -> bytes:
    n = 0
    for c in s:
        n = n * 58 + _B58.index(c)
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(s) - len(s.lstrip("1"))) + body


def as_json(v: Any) -> Any:
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if isinstance(v, list):
        return [as_json(x) for x in v]
    return v


def public_key_of(peer_id: str) -> bytes:
    raw = b58decode(peer_id)
    assert raw.startswith(_PEER_ID_PREFIX) and len(raw) == 38
    return raw[len(_PEER_ID_PREFIX) :]


def signed_bytes(body: bytes) -> bytes:
    """docs/pubsub.md "Signatures": transport prefix, domain, topic, NUL, body."""
    return b"asyncmachine-pubsub:" + b"asyncmachine-pubsub/1\x00" + TOPIC.encode() + b"\0" + body


def verify_record(rec: list[Any]) -> list[Any]:
    """Check a wire record ``[owner, epoch, seq, body, sig]``; returns the decoded body."""
    owner, epoch, seq, body, sig = rec
    VerifyKey(public_key_of(owner)).verify(signed_bytes(body), sig)
    decoded = cbor2.loads(body)
    assert decoded[1:4] == [owner, epoch, seq]  # the header equals the body's header
    return decoded


# --- independent checks -----------------------------------------------------------


@pytest.mark.parametrize("key", VECTORS["keys"], ids=lambda k: k["name"])
def test_keys_peer_ids_and_ring_keys(key: dict[str, Any]) -> None:
    public = bytes(SigningKey(bytes.fromhex(key["seed_hex"])).verify_key)
    assert public.hex() == key["public_key_hex"]
    assert b58encode(_PEER_ID_PREFIX + public) == key["peer_id"]
    ring = hashlib.blake2b(key["peer_id"].encode(), digest_size=8).digest()
    assert ring.hex() == key["ring_key_hex"]


@pytest.mark.parametrize("rec", VECTORS["records"], ids=lambda r: r["name"])
def test_record_signatures(rec: dict[str, Any]) -> None:
    body = bytes.fromhex(rec["body_hex"])
    assert signed_bytes(body).hex() == rec["signed_hex"]
    assert bytes.fromhex(VECTORS["transport_prefix_hex"]) == b"asyncmachine-pubsub:"
    assert bytes.fromhex(VECTORS["sig_domain_hex"]) == b"asyncmachine-pubsub/1\x00"
    VerifyKey(public_key_of(rec["owner"])).verify(signed_bytes(body), bytes.fromhex(rec["sig_hex"]))
    decoded = cbor2.loads(body)
    assert as_json(decoded) == rec["body"]
    kind = {"info": 1, "clocks": 2, "links": 3}[rec["name"]]
    assert decoded[:4] == [kind, rec["owner"], rec["epoch"], rec["seq"]]
    assert len(decoded) == {1: 8, 2: 7, 3: 6}[kind]
    if kind != 3:  # info and clocks bodies end with (time, addrs) / time: the owner's stamp
        stamp = decoded[6]
        assert isinstance(stamp, int) and stamp > 1_700_000_000_000  # ms since 1970


def test_info_body_layout() -> None:
    _, _, _, _, schemas, machines, _, addrs = cbor2.loads(
        bytes.fromhex(RECORDS["info"]["body_hex"])
    )
    assert all(isinstance(a, str) and a.startswith("/") for a in addrs) and len(addrs) <= 8
    for names, states in schemas:
        assert "Exception" in names and len(states) == len(names)
        for flags, *relations, tags in states:
            assert flags in (0, 1, 2, 3) and all(isinstance(t, str) for t in tags)
            assert all(n in names for rel in relations for n in rel)
    for machine_id, schema_index, tags, parent in machines:
        assert isinstance(machine_id, str) and isinstance(parent, str)
        assert 0 <= schema_index < len(schemas) and isinstance(tags, list)
    clocks = cbor2.loads(bytes.fromhex(RECORDS["clocks"]["body_hex"]))
    assert clocks[4] == RECORDS["info"]["seq"]  # info_seq names the info record
    vectors = clocks[5]
    assert [len(v) for v in vectors] == [len(schemas[m[1]][0]) for m in machines]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: m["name"])
def test_message_layout_and_signatures(msg: dict[str, Any]) -> None:
    raw = bytes.fromhex(msg["hex"])
    v = cbor2.loads(raw)
    assert as_json(v) == msg["decoded"]
    assert cbor2.dumps(v) == raw  # shortest-form encoding: re-encoding gives the same bytes
    assert v[:2] == [3, msg["type"]]
    label, fields = msg["label"], v[2:]
    if label == "info":
        assert len(fields) in (2, 5)  # [entries, sent] or [entries, sent, hello, known, since]
        for info, clocks in fields[0]:
            assert verify_record(info)[0] == 1
            if clocks is not None:
                assert clocks[0] == info[0] and verify_record(clocks)[0] == 2
        assert isinstance(fields[1], int)
        if len(fields) == 5:
            assert isinstance(fields[2], int) and isinstance(fields[4], int)
            assert fields[4] <= fields[1]  # listening since before the hello was sent
        if len(fields) == 5 and fields[3] is not None:
            known = fields[3]
            assert len(known) % 8 == 0
            keys = {k["ring_key_hex"] for k in VECTORS["keys"]}
            assert {known[i : i + 8].hex() for i in range(0, len(known), 8)} <= keys
    elif label in ("updates", "links"):
        (records,) = fields
        kind = 2 if label == "updates" else 3
        assert records and all(verify_record(r)[0] == kind for r in records)
    elif label == "gossip":
        assert len(fields) in (1, 2)
        assert all(len(e) == 4 and e[0] in KEYS for e in fields[0])
        if len(fields) == 2:
            count, xor = fields[1]
            assert count == len(KEYS)
            acc = 0
            for k in VECTORS["keys"]:
                acc ^= int(k["ring_key_hex"], 16)
            assert xor == acc & (2**63 - 1)
    elif label in ("reqinfo", "requpdates"):
        nonce, peers = fields
        assert isinstance(nonce, int) and all(p in KEYS for p in peers)
    else:
        assert label == "bye" and fields == [VECTORS["records"][0]["epoch"]]


def test_every_message_type_has_a_vector() -> None:
    assert {m["type"] for m in MESSAGES} == set(range(1, 8))


# --- the project agrees -------------------------------------------------------------


def test_project_decoder_agrees_with_the_vectors() -> None:
    from asyncmachine.pubsub._libp2p_transport import Libp2pTransport
    from asyncmachine.pubsub._wire import (
        InfoMsg,
        LinksMsg,
        UpdatesMsg,
        decode_clocks_body,
        decode_info_body,
        decode_links_body,
        decode_message,
        encode_message,
        signed_payload,
    )

    decoders = {"info": decode_info_body, "clocks": decode_clocks_body, "links": decode_links_body}
    for rec in VECTORS["records"]:
        body = bytes.fromhex(rec["body_hex"])
        decoded = decoders[rec["name"]](body)
        assert (decoded.owner, decoded.epoch, decoded.seq) == (
            rec["owner"],
            rec["epoch"],
            rec["seq"],
        )
        sig = bytes.fromhex(rec["sig_hex"])
        # the transport's own check (it uses no instance state: the key is in the peer id)
        verify: Any = Libp2pTransport.verify
        assert verify(None, rec["owner"], signed_payload(TOPIC, body), sig)
        assert not verify(None, rec["owner"], signed_payload("other", body), sig)
    for m in MESSAGES:
        raw = bytes.fromhex(m["hex"])
        msg = decode_message(raw)
        assert m["type"] == msg.TYPE and msg.TYPE.label == m["label"]
        assert encode_message(msg) == raw
        if isinstance(msg, InfoMsg | UpdatesMsg | LinksMsg):
            recs = (
                [r for e in msg.entries for r in e if r is not None]
                if isinstance(msg, InfoMsg)
                else list(msg.records)
            )
            assert {r.sig.hex() for r in recs} <= {r["sig_hex"] for r in VECTORS["records"]}


def test_vectors_file_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_wire_vectors", DATA / "make_wire_vectors.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render() == (DATA / "wire-vectors.json").read_text(), (
        "run python tests/data/make_wire_vectors.py"
    )
