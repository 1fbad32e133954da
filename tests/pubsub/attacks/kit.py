"""Rogue peers' material built from the project's own wire code (issue 12, cases 1-6).

Everything a rogue sends here is well formed and correctly signed: the attacks are about
volume and replay, not malformed input (the fuzz tests cover that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from asyncmachine.pubsub._wallclock import wall_ms
from asyncmachine.pubsub._wire import (
    DigestEntry,
    GossipMsg,
    InfoMsg,
    MachineInfo,
    Record,
    ReqInfoMsg,
    UpdatesMsg,
    WireSchema,
    WireState,
    encode_clocks_body,
    encode_info_body,
    encode_message,
    signed_payload,
)

SignAs = Callable[[str, bytes], bytes]
"""``sign_as(peer_id, payload)``: a signature by ``peer_id``'s key (the rogue made the keys)."""

Entry = tuple[Record, Record | None]


def wide_schema(states: int) -> WireSchema:
    """A schema of ``states`` plain states (``Exception`` first)."""
    names = ("Exception", *(f"S{i}" for i in range(1, states)))
    plain = WireState(False, False, (), (), (), (), ())
    return WireSchema(
        names, (WireState(False, True, (), (), (), (), ()),) + (plain,) * (states - 1)
    )


def owner_entry(
    topic: str,
    owner: str,
    sign_as: SignAs,
    *,
    machines: int,
    states: int,
    epoch: int = 1,
    stamp_ms: int | None = None,
) -> Entry:
    """A signed (info, clocks) pair of ``owner`` exposing ``machines`` of ``states``."""
    t = wall_ms() if stamp_ms is None else stamp_ms
    schema = wide_schema(states)
    ms = [MachineInfo(f"m{i}", schema, (), "") for i in range(machines)]
    info_body = encode_info_body(owner, epoch, 1, ms, time=t)
    clocks_body = encode_clocks_body(owner, epoch, 1, 1, [[0] * states] * machines, time=t)
    info = Record(owner, epoch, 1, info_body, sign_as(owner, signed_payload(topic, info_body)))
    clocks = Record(
        owner, epoch, 1, clocks_body, sign_as(owner, signed_payload(topic, clocks_body))
    )
    return info, clocks


def info_messages(entries: Sequence[Entry], per_message: int) -> Iterator[bytes]:
    """``entries`` as encoded info messages of ``per_message`` entries each."""
    for i in range(0, len(entries), per_message):
        yield encode_message(InfoMsg(tuple(entries[i : i + per_message])))


def fake_digest(prefix: str, n: int, start: int = 0) -> bytes:
    """A gossip message listing ``n`` made-up peer ids (an unsigned claim)."""
    digest = tuple(DigestEntry(f"{prefix}{start + i:06d}", 1, 1, 1) for i in range(n))
    return encode_message(GossipMsg(digest, (n + 1, 12345)))


def empty_hello(nonce: int, entry: Entry) -> bytes:
    """A hello listing nothing as known: "send me everything"."""
    return encode_message(InfoMsg((entry,), hello=nonce, known=b""))


def reqinfo(nonce: int, peers: Sequence[str]) -> bytes:
    return encode_message(ReqInfoMsg(nonce, tuple(peers)))


def clock_updates(topic: str, owners: Sequence[tuple[str, SignAs]], n: int) -> list[bytes]:
    """``n`` updates messages, each one new signed clocks record (one machine of one
    state) of the next of ``owners`` in turn: well formed, correctly signed, never seen."""
    out: list[bytes] = []
    t = wall_ms()
    for i in range(n):
        owner, sign_as = owners[i % len(owners)]
        seq = i // len(owners) + 1
        body = encode_clocks_body(owner, 1, seq, 1, [[seq]], time=t)
        rec = Record(owner, 1, seq, body, sign_as(owner, signed_payload(topic, body)))
        out.append(encode_message(UpdatesMsg((rec,))))
    return out
