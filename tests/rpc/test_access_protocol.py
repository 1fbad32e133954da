"""Allow-lists, the request/reply codec and the per-peer limiter, without a network."""

from __future__ import annotations

import cbor2
import pytest
import trio
import trio.testing

from asyncmachine.rpc import (
    AccessPolicy,
    ErrorKind,
    Reply,
    Request,
    RpcLimits,
    RpcRates,
    Verb,
    decode_request,
    encode_request,
    merge_allow,
    parse_allow,
)
from asyncmachine.rpc._limiter import PeerLimiter
from asyncmachine.rpc._protocol import RequestError, decode_reply, encode_reply


def test_every_touched_state_must_be_allowed() -> None:
    p = AccessPolicy({"*": ["Bar"], "P1": ["Foo"]})
    assert p.allows("P1", ["Foo", "Bar"]) and p.allows("P2", ["Bar"])
    assert not p.allows("P2", ["Foo", "Bar"]) and not p.allows("P1", ["Baz"])
    assert not p.allows("P1", []) and not AccessPolicy().allows("P1", ["Bar"])
    assert p.check_states(["Foo"]) == ["Bar"]
    for bad in ({"": ["A"]}, {"*": "Bar"}, {"*": [""]}):
        with pytest.raises(ValueError):
            AccessPolicy(bad)  # type: ignore[arg-type]


def test_allow_flags() -> None:
    assert parse_allow("*:Bar") == ("*", ["Bar"])
    assert parse_allow(" 12D3:Foo, Bar ") == ("12D3", ["Foo", "Bar"])
    assert merge_allow(["*:Bar", "*:Foo,Bar", "P:Foo"]) == {"*": ["Bar", "Foo"], "P": ["Foo"]}
    for bad in ("Bar", "*:", ":Bar", "*:A,,B", "a b:C"):
        with pytest.raises(ValueError, match="bad --allow"):
            parse_allow(bad)


def test_request_round_trip_and_refusals() -> None:
    lim = RpcLimits()
    req = Request("m", Verb.ADD, ("Foo", "Bar"), {"n": 2, "l": [1, b"x", None, 1.5]})
    assert decode_request(encode_request(req), lim) == req
    assert decode_request(encode_request(Request("m", Verb.GET, key="k")), lim).key == "k"
    body = cbor2.loads(encode_request(req))
    cases = [
        ({**body, "v": 2}, ErrorKind.MALFORMED),
        ({**body, "m": ""}, ErrorKind.MALFORMED),
        ({**body, "s": "Foo"}, ErrorKind.MALFORMED),
        ({**body, "verb": "add1"}, ErrorKind.MALFORMED),  # add1 takes one state
        ({**body, "a": cbor2.dumps({1: 2})}, ErrorKind.BAD_ARGS),
        ({**body, "a": cbor2.dumps({"d": [[[1]]]})}, None),
    ]
    for raw, kind in cases:
        if kind is None:
            decode_request(cbor2.dumps(raw), lim)
            continue
        with pytest.raises(RequestError) as ei:
            decode_request(cbor2.dumps(raw), lim)
        assert ei.value.kind is kind
    with pytest.raises(RequestError) as ei:
        decode_request(
            cbor2.dumps({**body, "a": cbor2.dumps({"d": [[[1]]]})}), RpcLimits(max_depth=2)
        )
    assert ei.value.kind is ErrorKind.BAD_ARGS
    with pytest.raises(ValueError, match="not a plain CBOR value"):
        encode_request(Request("m", Verb.ADD, ("A",), {"x": object()}))


def test_reply_round_trip() -> None:
    for r in (
        Reply(0, (1, 2)),
        Reply(5),
        Reply(0, (), {"a": 1}),
        Reply(1, (), None, ErrorKind.DENIED, "no"),
    ):
        assert decode_reply(encode_reply(r)) == r
    with pytest.raises(ValueError):
        decode_reply(cbor2.dumps({"v": 1, "r": -1}))


async def test_limiter_burst_rate_and_inflight(autojump_clock: trio.testing.MockClock) -> None:
    lim = PeerLimiter(RpcRates(per_second=10, burst=3, max_inflight=2))
    assert lim.take("a") and lim.take("a") and not lim.take("a")  # in flight: 2
    lim.done("a")
    assert lim.take("a") and lim.take("b") is not False  # b has its own bucket
    lim.done("a"), lim.done("a")
    assert not lim.take("a")  # the burst of 3 is spent
    await trio.sleep(0.1)  # one token back
    assert lim.take("a") and not lim.take("a")
