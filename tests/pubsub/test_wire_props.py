"""Property tests of the wire format (hypothesis): every message type and record body
round-trips, and no input whatsoever makes the decoder raise anything but DecodeError."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncmachine.pubsub._wire import (
    MAX_UINT,
    ByeMsg,
    ClocksBody,
    DecodeError,
    DigestEntry,
    GossipMsg,
    InfoBody,
    InfoMsg,
    LinksBody,
    LinksMsg,
    MachineInfo,
    Message,
    Record,
    ReqInfoMsg,
    ReqUpdatesMsg,
    UpdatesMsg,
    WireSchema,
    WireState,
    decode_clocks_body,
    decode_info_body,
    decode_links_body,
    decode_message,
    encode_clocks_body,
    encode_info_body,
    encode_links_body,
    encode_message,
)

PROPS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

uints = st.integers(0, MAX_UINT)
small = st.integers(0, 1000)
names = st.text(min_size=1, max_size=12)
ids = st.text(min_size=1, max_size=40)
records = st.builds(Record, ids, uints, uints, st.binary(max_size=64), st.binary(max_size=80))


def _same_owner(r: Record) -> st.SearchStrategy[Record | None]:
    return st.none() | st.builds(
        Record, st.just(r.owner), uints, uints, st.binary(max_size=32), st.binary(max_size=64)
    )


entries = records.flatmap(lambda r: st.tuples(st.just(r), _same_owner(r)))
messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(InfoMsg, st.lists(entries, max_size=4).map(tuple), sent=uints),  # not a hello
    st.builds(
        InfoMsg,
        st.lists(entries, max_size=4).map(tuple),
        uints,
        st.none()
        | st.lists(uints, max_size=6).map(lambda k: b"".join(x.to_bytes(8, "big") for x in k)),
        uints,
        uints,
    ),
    st.builds(UpdatesMsg, st.lists(records, max_size=4).map(tuple)),
    st.builds(
        GossipMsg,
        st.lists(st.builds(DigestEntry, ids, uints, uints, uints), max_size=6).map(tuple),
        st.none() | st.tuples(uints, uints),
    ),
    st.builds(ReqInfoMsg, uints, st.lists(ids, max_size=6).map(tuple)),
    st.builds(ReqUpdatesMsg, uints, st.lists(ids, max_size=6).map(tuple)),
    st.builds(ByeMsg, uints),
    st.builds(LinksMsg, st.lists(records, max_size=4).map(tuple)),
)


@st.composite
def schemas(draw: st.DrawFn) -> WireSchema:
    ns = tuple(draw(st.lists(names, min_size=1, max_size=5, unique=True)))
    rel = st.lists(st.sampled_from(ns), max_size=len(ns)).map(tuple)
    states = tuple(
        WireState(
            draw(st.booleans()),
            draw(st.booleans()),
            draw(rel),
            draw(rel),
            draw(rel),
            draw(rel),
            tuple(draw(st.lists(names, max_size=3))),
        )
        for _ in ns
    )
    return WireSchema(ns, states)


machines = st.builds(
    MachineInfo,
    ids,
    schemas(),
    st.lists(names, max_size=3).map(tuple),
    st.text(max_size=20),
)


@PROPS
@given(messages)
def test_every_message_round_trips(msg: Message) -> None:
    assert decode_message(encode_message(msg)) == msg


@PROPS
@given(ids, uints, uints, st.lists(machines, max_size=4))
def test_info_bodies_round_trip(owner: str, epoch: int, seq: int, ms: list[MachineInfo]) -> None:
    body = encode_info_body(owner, epoch, seq, ms)
    assert decode_info_body(body) == InfoBody(owner, epoch, seq, tuple(ms))


@PROPS
@given(ids, uints, uints, uints, st.lists(st.lists(uints, max_size=6), max_size=4))
def test_clocks_bodies_round_trip(
    owner: str, epoch: int, seq: int, info_seq: int, clocks: list[list[int]]
) -> None:
    body = encode_clocks_body(owner, epoch, seq, info_seq, clocks)
    expected = ClocksBody(owner, epoch, seq, info_seq, tuple(tuple(c) for c in clocks))
    assert decode_clocks_body(body) == expected


@PROPS
@given(ids, uints, uints, st.lists(ids, max_size=5), st.lists(ids, max_size=5))
def test_links_bodies_round_trip(
    owner: str, epoch: int, seq: int, connected: list[str], mesh: list[str]
) -> None:
    body = encode_links_body(owner, epoch, seq, connected, mesh)
    assert decode_links_body(body) == LinksBody(owner, epoch, seq, tuple(connected), tuple(mesh))


_DECODERS: tuple[Callable[[bytes], object], ...] = (
    decode_message,
    decode_info_body,
    decode_clocks_body,
    decode_links_body,
)


def _only_decode_errors(data: bytes) -> None:
    for decode in _DECODERS:
        with contextlib.suppress(DecodeError):
            decode(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_decode_error(data: bytes) -> None:
    _only_decode_errors(data)


cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(1 << 70), 1 << 70)
    | st.floats()
    | st.text(max_size=8)
    | st.binary(max_size=8)
    | st.sampled_from([cbor2.undefined, cbor2.CBORSimpleValue(99)]),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(max_size=3) | st.integers(), inner, max_size=3)
        | st.builds(cbor2.CBORTag, st.integers(0, 1 << 16), inner)
    ),
    max_leaves=25,
)


@PROPS
@given(st.integers(0, 9), st.lists(cbor_values, max_size=5), st.integers(0, 4))
def test_arbitrary_cbor_values_only_raise_decode_error(t: int, rest: list[Any], kind: int) -> None:
    for value in ([1, t, *rest], [kind, *rest], rest, [1, t, [rest]]):
        _only_decode_errors(cbor2.dumps(value))


@PROPS
@given(messages, st.data())
def test_corrupted_messages_only_raise_decode_error(msg: Message, data: st.DataObject) -> None:
    raw = bytearray(encode_message(msg))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    _only_decode_errors(bytes(raw))
    _only_decode_errors(bytes(raw[:cut]))
