"""Decode errors: only malformed input becomes DecodeError, cached failures stay cheap,
process caches are bounded and resettable, reasons and message types are one table."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any

import cbor2
import pytest

import asyncmachine.pubsub.libp2p  # noqa: F401  # registers the verified-signature cache
from asyncmachine.pubsub import clear_caches
from asyncmachine.pubsub._wire import (
    BODY_CACHE,
    MESSAGE_CACHE,
    MESSAGE_CLASSES,
    ByeMsg,
    DecodeError,
    MsgType,
    Reason,
    decode_clocks_body,
    decode_info_body,
    decode_message,
    encode_clocks_body,
    encode_message,
    process_caches,
)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    clear_caches()
    yield
    clear_caches()


def test_a_non_decode_error_of_the_cbor_library_propagates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A TypeError (e.g. a cbor2 too old for the keywords used) is a bug, not a bad message:
    it must not be counted as a ``cbor`` rejection and dropped silently."""

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise TypeError("'allow_indefinite' is an invalid keyword argument")

    monkeypatch.setattr(cbor2, "loads", broken)
    with pytest.raises(TypeError, match="allow_indefinite"):
        decode_message(encode_message(ByeMsg(1)))
    with pytest.raises(TypeError):
        decode_clocks_body(encode_clocks_body("p", 1, 1, 1, [[0]]))


@pytest.mark.parametrize("data", [b"\xff", b"\x9f\xff", b"\x1b", b"\x62\xff\xfe", b"\xc1\x00"])
def test_malformed_cbor_is_a_cbor_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError) as ei:
        decode_message(data)
    assert ei.value.reason is Reason.CBOR


def _tb_len(e: BaseException) -> int:
    return len(traceback.extract_tb(e.__traceback__))


def test_a_cached_failure_raises_a_fresh_short_error_each_time() -> None:
    bad = b"\x83\x03\x02\x05"  # updates with a non-array records field
    errors: list[DecodeError] = []
    for _ in range(1000):
        with pytest.raises(DecodeError) as ei:
            decode_message(bad)
        errors.append(ei.value)
    assert MESSAGE_CACHE.hits >= 999  # the failure is cached ...
    assert {e.reason for e in errors} == {Reason.TYPE}
    assert _tb_len(errors[-1]) <= 5  # ... but its traceback does not grow
    assert errors[-1] is not errors[0]


def test_a_cached_body_failure_raises_a_fresh_short_error_each_time() -> None:
    bad = cbor2.dumps([1, "p", 1, 1, "not schemas", [], 0, []])
    last: DecodeError | None = None
    for _ in range(1000):
        with pytest.raises(DecodeError) as ei:
            decode_info_body(bad)
        last = ei.value
    assert last is not None and last.reason is Reason.TYPE
    assert _tb_len(last) <= 5


def test_body_cache_does_not_confuse_body_kinds() -> None:
    """A clocks body signed and sent as an info record is an info-body error, even after
    the same bytes were decoded (and cached) as a clocks body."""
    body = encode_clocks_body("p", 1, 1, 1, [[0, 1]])
    assert decode_clocks_body(body).clocks == ((0, 1),)
    with pytest.raises(DecodeError) as ei:
        decode_info_body(body)
    assert ei.value.reason is Reason.SHAPE


EXPECTED_CACHES = {
    "wire messages",
    "wire bodies",
    "wire schemas",
    "shared schemas",
    "topic schema",
    "verified signatures",
}


def test_every_process_cache_is_bounded() -> None:
    caches = {c.name: c for c in process_caches()}
    assert set(caches) >= EXPECTED_CACHES
    for cache in caches.values():
        for i in range(cache.max_entries + 10):
            cache.put(("bound-test", i.to_bytes(4, "big"), b"x"), True)
        assert len(cache) == cache.max_entries, cache.name
    # weighted caches also hold at most max_weight bytes of keys
    for i in range(5):
        BODY_CACHE.put((1, bytes([i]) * (20 << 20)), True)  # type: ignore[arg-type]
    assert BODY_CACHE.max_weight is not None and BODY_CACHE.weight <= BODY_CACHE.max_weight


def test_clear_caches_empties_every_process_cache() -> None:
    decode_message(encode_message(ByeMsg(7)))
    decode_clocks_body(encode_clocks_body("p", 1, 1, 1, [[0]]))
    for cache in process_caches():
        cache.put(("clear-test", b"", b""), True)
    assert all(len(c) > 0 for c in process_caches())
    clear_caches()
    assert [c.name for c in process_caches() if len(c)] == []
    assert BODY_CACHE.weight == 0 and MESSAGE_CACHE.weight == 0


def test_reasons_keep_their_counter_keys() -> None:
    assert [str(r) for r in Reason] == [
        "too_large",
        "cbor",
        "shape",
        "type",
        "version",
        "unknown_type",
        "limit",
    ]
    counters = {"cbor": 1}
    assert counters[Reason.CBOR] == 1  # a StrEnum hashes and compares as its value


def test_message_type_labels_are_derived_from_msg_type() -> None:
    assert [t.label for t in MsgType] == [
        "info",
        "updates",
        "gossip",
        "reqinfo",
        "requpdates",
        "bye",
        "links",
    ]
    assert ByeMsg(1).TYPE.label == "bye"
    assert {cls.TYPE for cls in MESSAGE_CLASSES} == set(MsgType)
    assert len(MESSAGE_CLASSES) == len(MsgType)
