"""Clocks bodies (one per received update) decode on a fast path; anything it does not
accept gets the same precise error as before, naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cbor2
import pytest

from asyncmachine.pubsub import clear_caches
from asyncmachine.pubsub._wire import (
    MAX_UINT,
    DecodeError,
    Reason,
    RecordKind,
    WireLimits,
    decode_clocks_body,
    encode_clocks_body,
)

GOOD: list[Any] = [int(RecordKind.CLOCKS), "peer", 1, 2, 3, [[0, 1], [5]], 1234]
LIM = WireLimits(max_states=3, max_machines=2, max_peer_id_len=8)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    clear_caches()
    yield
    clear_caches()


def _with(i: int, v: Any) -> bytes:
    f = list(GOOD)
    f[i] = v
    return cbor2.dumps(f)


def test_a_valid_body_decodes_to_its_fields() -> None:
    body = decode_clocks_body(cbor2.dumps(GOOD), LIM)
    assert (body.owner, body.epoch, body.seq, body.info_seq, body.time) == ("peer", 1, 2, 3, 1234)
    assert body.clocks == ((0, 1), (5,))
    assert decode_clocks_body(encode_clocks_body("p", 1, 1, 1, [[MAX_UINT]])).clocks == (
        (MAX_UINT,),
    )


@pytest.mark.parametrize(
    ("data", "reason", "detail"),
    [
        (_with(1, ""), Reason.SHAPE, "clocks.owner: empty"),
        (_with(1, "x" * 9), Reason.LIMIT, "clocks.owner: length 9 > 8"),
        (_with(1, 7), Reason.TYPE, "clocks.owner: expected text, got int"),
        (_with(2, True), Reason.TYPE, "clocks.epoch: expected unsigned int, got bool"),
        (_with(3, -1), Reason.LIMIT, "clocks.seq: -1 out of range"),
        (_with(4, MAX_UINT + 1), Reason.LIMIT, f"clocks.info_seq: {MAX_UINT + 1} out of range"),
        (_with(6, 1.5), Reason.TYPE, "clocks.time: expected unsigned int, got float"),
        (_with(5, {}), Reason.TYPE, "clocks.clocks: expected array, got dict"),
        (_with(5, [[0], [0], [0]]), Reason.LIMIT, "clocks.clocks: 3 items > 2"),
        (_with(5, [[0], 5]), Reason.TYPE, "clocks[1]: expected array, got int"),
        (_with(5, [[0, 0, 0, 0]]), Reason.LIMIT, "clocks[0]: 4 items > 3"),
        (_with(5, [[0, -1]]), Reason.TYPE, "clocks[0]: bad tick -1"),
        (_with(5, [[False]]), Reason.TYPE, "clocks[0]: bad tick False"),
        # the clocks are checked before the header, as they always were
        (cbor2.dumps([2, "", 1, 2, 3, [[-1]], 0]), Reason.TYPE, "clocks[0]: bad tick -1"),
    ],
)
def test_a_bad_field_is_named(data: bytes, reason: Reason, detail: str) -> None:
    with pytest.raises(DecodeError) as ei:
        decode_clocks_body(data, LIM)
    assert (ei.value.reason, ei.value.detail) == (reason, detail)
