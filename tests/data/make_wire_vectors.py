"""Generate tests/data/wire-vectors.json: one message of every type, signed records.

Run from the repository root::

    python tests/data/make_wire_vectors.py          # rewrite the file
    python tests/data/make_wire_vectors.py --check  # exit 1 if the file is out of date

Everything is deterministic: two Ed25519 keys from fixed 32-byte seeds (``A`` signs
every record, ``B`` only appears as a peer id), fixed epochs, seqs and nonces. The
messages are built and encoded with the project's own wire code, and the records are
signed exactly as the libp2p transport signs them (its key type, from the seed). The
layout of the JSON is described in tests/data/README.md; the format in docs/pubsub.md
("Wire format"). tests/pubsub/test_wire_vectors.py checks the file with cbor2 and
PyNaCl alone, and that the project's decoder agrees.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from libp2p.crypto.ed25519 import Ed25519PrivateKey
from libp2p.crypto.keys import KeyPair

from asyncmachine.pubsub._libp2p_keys import peer_id_of
from asyncmachine.pubsub._libp2p_transport import SIGNATURE_DOMAIN
from asyncmachine.pubsub._rendezvous import ring_key
from asyncmachine.pubsub._wire import (
    SIG_DOMAIN,
    ByeMsg,
    DigestEntry,
    GossipMsg,
    InfoMsg,
    LinksMsg,
    MachineInfo,
    Message,
    Record,
    ReqInfoMsg,
    ReqUpdatesMsg,
    UpdatesMsg,
    WireSchema,
    WireState,
    encode_clocks_body,
    encode_info_body,
    encode_links_body,
    encode_message,
    pack_keys,
    signed_payload,
)

OUT = Path(__file__).with_name("wire-vectors.json")
TOPIC = "vectors"
SEED_A = bytes(range(32))
SEED_B = bytes(range(32, 64))
EPOCH_A = 1_764_000_000_000_000  # wall-clock µs at session start
EPOCH_B = 1_764_000_000_500_000
TIME_A = 1_764_000_123_456  # wall-clock ms when A signed its records
ADDRS_A = ("/ip4/192.0.2.1/tcp/4001",)  # A's listen addresses (documentation range)
SINCE_A = TIME_A + 1_000  # wall-clock ms since when A listens on the topic (its hello)

_NONE = WireState(False, False, (), (), (), (), ())
WORKER = WireSchema(
    ("Exception", "Start", "Ready", "Busy"),
    (
        WireState(False, True, (), (), (), (), ()),  # Exception: multi
        WireState(False, False, (), (), (), (), ("lifecycle",)),
        WireState(True, False, ("Start",), (), ("Busy",), (), ()),  # Ready: auto
        WireState(False, False, ("Ready",), (), (), ("Ready",), ()),
    ),
)
PLAIN = WireSchema(("Exception", "Foo"), (WireState(False, True, (), (), (), (), ()), _NONE))


def key_pair_from_seed(seed: bytes) -> KeyPair:
    """The libp2p Ed25519 key pair of a 32-byte seed (as a 32-byte key file gives)."""
    private = Ed25519PrivateKey.from_bytes(seed)
    return KeyPair(private, private.get_public_key())


def _json(v: Any) -> Any:
    """A decoded CBOR value as JSON: byte strings become ``{"bytes": "<hex>"}``."""
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if isinstance(v, list):
        return [_json(x) for x in v]
    return v


def build() -> dict[str, Any]:
    """The vectors as a JSON-ready dict."""
    import cbor2  # only to show the decoded form

    pair_a, pair_b = key_pair_from_seed(SEED_A), key_pair_from_seed(SEED_B)
    a, b = peer_id_of(pair_a), peer_id_of(pair_b)

    def sign(body: bytes) -> tuple[bytes, bytes]:
        signed = SIGNATURE_DOMAIN + signed_payload(TOPIC, body)  # = Libp2pTransport.sign
        sig: bytes = pair_a.private_key.sign(signed)
        return signed, sig

    machines = [
        MachineInfo("worker-1", WORKER, ("role:worker",), ""),
        MachineInfo("worker-2", WORKER, (), "worker-1"),
        MachineInfo("plain", PLAIN, (), ""),
    ]
    bodies = {
        "info": encode_info_body(a, EPOCH_A, 2, machines, time=TIME_A, addrs=ADDRS_A),
        "clocks": encode_clocks_body(
            a, EPOCH_A, 7, 2, [[0, 1, 1, 4], [0, 1, 3, 0], [2, 1]], time=TIME_A + 500
        ),
        "links": encode_links_body(a, EPOCH_A, 1, [b], [b]),
    }
    seqs = {"info": 2, "clocks": 7, "links": 1}
    records: dict[str, Record] = {}
    record_rows: list[dict[str, Any]] = []
    for name, body in bodies.items():
        signed, sig = sign(body)
        records[name] = Record(a, EPOCH_A, seqs[name], body, sig)
        record_rows.append(
            {
                "name": name,
                "owner": a,
                "epoch": EPOCH_A,
                "seq": seqs[name],
                "body_hex": body.hex(),
                "body": _json(cbor2.loads(body)),
                "signed_hex": signed.hex(),
                "sig_hex": sig.hex(),
            }
        )
    ka, kb = ring_key(a), ring_key(b)
    info, clocks, links = records["info"], records["clocks"], records["links"]
    messages: list[tuple[str, Message]] = [
        (
            "info-hello",
            InfoMsg(
                ((info, clocks),),
                hello=12345,
                known=pack_keys([kb]),
                since=SINCE_A,
                sent=SINCE_A + 60,
            ),
        ),
        ("info-answer", InfoMsg(((info, None),), sent=SINCE_A + 900)),
        ("updates", UpdatesMsg((clocks,))),
        (
            "gossip",
            GossipMsg(
                (DigestEntry(a, EPOCH_A, 2, 7), DigestEntry(b, EPOCH_B, 1, 0)),
                view=(2, (ka ^ kb) & 0x7FFF_FFFF_FFFF_FFFF),
            ),
        ),
        ("gossip-no-view", GossipMsg((DigestEntry(b, EPOCH_B, 1, 0),))),
        ("reqinfo", ReqInfoMsg(42, (b,))),
        ("requpdates", ReqUpdatesMsg(43, (a, b))),
        ("bye", ByeMsg(EPOCH_A)),
        ("links", LinksMsg((links,))),
    ]
    message_rows = []
    for name, msg in messages:
        raw = encode_message(msg)
        message_rows.append(
            {
                "name": name,
                "type": int(msg.TYPE),
                "label": msg.TYPE.label,
                "hex": raw.hex(),
                "decoded": _json(cbor2.loads(raw)),
            }
        )
    return {
        "about": "asyncmachine pubsub wire test vectors; see tests/data/README.md",
        "generator": "tests/data/make_wire_vectors.py",
        "topic": TOPIC,
        "transport_prefix_hex": SIGNATURE_DOMAIN.hex(),
        "sig_domain_hex": SIG_DOMAIN.hex(),
        "keys": [
            {
                "name": name,
                "seed_hex": seed.hex(),
                "public_key_hex": pair.public_key.to_bytes().hex(),
                "peer_id": peer,
                "ring_key_hex": ring_key(peer).to_bytes(8, "big").hex(),
            }
            for name, seed, pair, peer in (("A", SEED_A, pair_a, a), ("B", SEED_B, pair_b, b))
        ],
        "records": record_rows,
        "messages": message_rows,
    }


def render() -> str:
    return json.dumps(build(), indent=2) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if OUT.read_text() != text:
            print(f"{OUT} is out of date: run python {Path(__file__).as_posix()}")
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
