"""Wire format: round trips, and every kind of malformed input is a typed DecodeError."""

from __future__ import annotations

import contextlib
import datetime
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncmachine.pubsub import _wire as wire
from asyncmachine.pubsub._wire import (
    ByeMsg,
    DecodeError,
    DigestEntry,
    GossipMsg,
    InfoMsg,
    MachineInfo,
    Record,
    ReqInfoMsg,
    ReqUpdatesMsg,
    UpdatesMsg,
    WireLimits,
    WireSchema,
    WireState,
    decode_clocks_body,
    decode_info_body,
    decode_message,
    encode_clocks_body,
    encode_info_body,
    encode_message,
)

S0 = WireState(False, False, (), (), (), (), ())
SCHEMA = WireSchema(
    ("Bar", "Exception", "Foo"),
    (
        S0,
        WireState(False, True, (), (), (), (), ()),
        WireState(True, False, ("Bar",), (), (), (), ("t:1",)),
    ),
)
REC = Record("peerA", 7, 3, b"body", b"sig")


def _roundtrip(msg: wire.Message) -> wire.Message:
    return decode_message(encode_message(msg))


@pytest.mark.parametrize(
    "msg",
    [
        InfoMsg(((REC, None), (REC, Record("peerA", 7, 4, b"c", b"s"))), hello=None),
        InfoMsg(((REC, None),), hello=12345),
        InfoMsg((), hello=None),
        UpdatesMsg((REC, REC)),
        GossipMsg((DigestEntry("p1", 1, 2, 3), DigestEntry("p2", 0, 0, 0))),
        ReqInfoMsg(99, ("p1", "p2")),
        ReqUpdatesMsg(1 << 62, ()),
        ByeMsg(123456789),
    ],
)
def test_message_round_trip(msg: wire.Message) -> None:
    assert _roundtrip(msg) == msg


def test_info_body_round_trip_and_schema_dedup() -> None:
    ms = [
        MachineInfo("m1", SCHEMA, ("a", "b"), "parent"),
        MachineInfo("m2", SCHEMA, (), ""),
    ]
    body = encode_info_body("peerA", 5, 2, ms)
    raw = cbor2.loads(body)
    assert len(raw[4]) == 1  # one schema entry for two machines
    out = decode_info_body(body)
    assert out.owner == "peerA" and out.epoch == 5 and out.seq == 2
    assert out.machines == tuple(ms)


def test_clocks_body_round_trip() -> None:
    body = encode_clocks_body("p", 1, 9, 2, [[0, 1, 2], [3]])
    out = decode_clocks_body(body)
    assert out.clocks == ((0, 1, 2), (3,)) and out.info_seq == 2 and out.seq == 9


def _err(data: bytes, lim: WireLimits = wire.DEFAULT_LIMITS) -> str:
    with pytest.raises(DecodeError) as ei:
        decode_message(data, lim)
    return ei.value.reason


def _enc(v: Any) -> bytes:
    return cbor2.dumps(v)


R = [REC.owner, REC.epoch, REC.seq, REC.body, REC.sig]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "cbor"),
        (b"\xff\xff\xff", "cbor"),
        (b"\x9b\xff\xff\xff\xff\xff\xff\xff\xff", "cbor"),  # huge declared array
        (b"\x9f\x01\x02\xff", "cbor"),  # indefinite length
        (_enc(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)), "cbor"),  # semantic tag
        (_enc(cbor2.CBORTag(9999, 1)), "cbor"),  # unknown tag
        (_enc(1 << 70), "cbor"),  # bignum tag
        (_enc([[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]), "cbor"),  # too deep
        (_enc({"Type": "info"}), "shape"),  # Go's msgpack-style map
        (_enc([1]), "shape"),
        (_enc("hello"), "shape"),
        (_enc([2, 1, [], None]), "version"),  # the previous version
        (_enc([True, 1, [], None]), "version"),
        (_enc([3, 99, []]), "unknown_type"),
        (_enc([3, "info", []]), "type"),
        (_enc([3, 2]), "shape"),
        (_enc([3, 2, [], "extra"]), "shape"),
        (_enc([3, 2, "notalist"]), "type"),
        (_enc([3, 2, [[1, 2, 3, b"", b""]]]), "type"),  # owner int
        (_enc([3, 2, [["p", -1, 3, b"", b""]]]), "limit"),  # negative epoch
        (_enc([3, 2, [["p", 1, 1 << 63, b"", b""]]]), "limit"),
        (_enc([3, 2, [["p", 1.5, 3, b"", b""]]]), "type"),
        (_enc([3, 2, [["p", True, 3, b"", b""]]]), "type"),
        (_enc([3, 2, [["p", 1, 3, "body", b""]]]), "type"),
        (_enc([3, 2, [["p" * 500, 1, 3, b"", b""]]]), "limit"),
        (_enc([3, 2, [["", 1, 3, b"", b""]]]), "shape"),
        (_enc([3, 1, [[R]], None]), "shape"),
        (_enc([3, 1, [[R, ["other", 1, 1, b"", b""]]], None]), "shape"),  # owners differ
        (_enc([3, 1, [[R, None]], -5]), "limit"),
        (_enc([3, 3, [["p", 1, 2]]]), "shape"),
        (_enc([3, 4, 1, [1, 2]]), "type"),
        (_enc([3, 4, 1, [""]]), "limit"),
        (_enc([3, 6, "x"]), "type"),
    ],
)
def test_malformed_messages(data: bytes, reason: str) -> None:
    assert _err(data) == reason


def test_oversized_and_too_many() -> None:
    lim = WireLimits(max_message_bytes=100, max_entries=3, max_ids=2)
    assert _err(b"\x00" * 101, lim) == "too_large"
    assert _err(_enc([3, 2, [R] * 4]), lim) == "limit"
    assert _err(_enc([3, 4, 1, ["a", "b", "c"]]), lim) == "limit"
    assert _err(_enc([3, 3, [["p", 1, 2, 3]] * 4]), lim) == "limit"
    big = encode_message(UpdatesMsg((Record("p", 1, 1, b"x" * 300_000, b"s"),)))
    assert _err(big) == "limit"  # record body > max_record_bytes


def _info_body(schemas: Any, machines: Any) -> bytes:
    return _enc([1, "p", 1, 1, schemas, machines, 0, []])


GOOD_SCHEMA = [["A", "Exception"], [[0, [], [], [], [], []], [2, [], [], [], [], []]]]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff", "cbor"),
        (_enc([2, "p", 1, 1, [], []]), "shape"),  # wrong kind
        (_enc([1, "p", 1, 1, []]), "shape"),
        (_info_body([GOOD_SCHEMA], [["m", 1, [], ""]]), "shape"),  # schema index
        (_info_body([GOOD_SCHEMA], [["m", 0, [], 5]]), "type"),  # parent int
        (_info_body([GOOD_SCHEMA], [["", 0, [], ""]]), "shape"),  # empty id
        (_info_body([GOOD_SCHEMA], [["m", 0, ["t"] * 33, ""]]), "limit"),  # too many tags
        (_info_body([[["A", "A"], [[0, [], [], [], [], []]] * 2]], []), "shape"),  # dup names
        (_info_body([[["A"], []]], []), "shape"),  # rows != names
        (_info_body([[["A"], [[4, [], [], [], [], []]]]], []), "shape"),  # bad flags
        (_info_body([[["A"], [[0, ["B"], [], [], [], []]]]], []), "shape"),  # unknown relation
        (_info_body([[["A"], [[0, [], [], [], []]]]], []), "shape"),  # row fields
        (_info_body([[["x" * 200], [[0, [], [], [], [], []]]]], []), "limit"),  # long name
        (_info_body([[[f"S{i}" for i in range(300)], []]], []), "limit"),  # too many states
        (_info_body([GOOD_SCHEMA], [["m", 0, [], ""]] * 300), "limit"),  # too many machines
    ],
)
def test_malformed_info_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as ei:
        decode_info_body(body)
    assert ei.value.reason == reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_enc([2, "p", 1, 1, 1, [[1, "x"]], 0]), "type"),
        (_enc([2, "p", 1, 1, 1, [[1, True]], 0]), "type"),
        (_enc([2, "p", 1, 1, 1, [[-1]], 0]), "type"),
        (_enc([2, "p", 1, 1, 1, [list(range(300))], 0]), "limit"),
        (_enc([2, "p", 1, 1, 1, [[0]] * 300, 0]), "limit"),
        (_enc([1, "p", 1, 1, 1, []]), "shape"),
    ],
)
def test_malformed_clocks_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as ei:
        decode_clocks_body(body)
    assert ei.value.reason == reason


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_message(data)


_cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(1 << 64), 1 << 64)
    | st.text(max_size=8)
    | st.binary(max_size=8)
    | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 8), _cbor_values, _cbor_values, _cbor_values)
def test_random_structures_only_raise_decode_error(t: int, a: Any, b: Any, c: Any) -> None:
    for v in ([1, t, a], [1, t, a, b], [1, t, a, b, c]):
        with contextlib.suppress(DecodeError):
            decode_message(cbor2.dumps(v))
    for body in ([1, "p", 1, 1, a, b], [2, "p", 1, 1, 1, a]):
        for fn in (decode_info_body, decode_clocks_body):
            with contextlib.suppress(DecodeError):
                fn(cbor2.dumps(body))


def test_equal_schemas_decode_to_one_instance() -> None:
    """Every peer's info record of one schema shares its decoded names and relations."""
    plain = WireState(False, False, (), (), (), (), ())
    ws = WireSchema(("A", "Exception"), (plain, WireState(False, True, ("A",), (), (), (), ())))
    bodies = [encode_info_body(f"p{i}", 1, 1, [MachineInfo(f"m{i}", ws, (), "")]) for i in range(2)]
    a, b = (decode_info_body(body).machines[0].schema for body in bodies)
    assert a == ws and a is b
