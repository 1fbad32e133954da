"""Field validators: exact CBOR types (``bool`` is not an int), bounds, field counts.

Each returns the checked value or raises :class:`DecodeError` naming the field.
"""

from __future__ import annotations

from typing import Any

from ._limits import MAX_UINT, Reason, WireLimits, fail
from ._records import Record


def array(v: Any, what: str, max_len: int) -> list[Any]:
    """An array of at most ``max_len`` items."""
    if type(v) is not list:
        fail(Reason.TYPE, f"{what}: expected array, got {type(v).__name__}")
    if len(v) > max_len:
        fail(Reason.LIMIT, f"{what}: {len(v)} items > {max_len}")
    return v


def text(v: Any, what: str, max_len: int, *, empty: bool = False) -> str:
    """A text string of at most ``max_len`` characters (non-empty unless ``empty``)."""
    if type(v) is not str:
        fail(Reason.TYPE, f"{what}: expected text, got {type(v).__name__}")
    if len(v) > max_len:
        fail(Reason.LIMIT, f"{what}: length {len(v)} > {max_len}")
    if not v and not empty:
        fail(Reason.SHAPE, f"{what}: empty")
    return v


def uint(v: Any, what: str) -> int:
    """An unsigned integer <= :data:`MAX_UINT`."""
    if type(v) is not int:
        fail(Reason.TYPE, f"{what}: expected unsigned int, got {type(v).__name__}")
    if v < 0 or v > MAX_UINT:
        fail(Reason.LIMIT, f"{what}: {v} out of range")
    return v


def byte_string(v: Any, what: str, max_len: int) -> bytes:
    """A byte string of at most ``max_len`` bytes."""
    if type(v) is not bytes:
        fail(Reason.TYPE, f"{what}: expected bytes, got {type(v).__name__}")
    if len(v) > max_len:
        fail(Reason.LIMIT, f"{what}: {len(v)} bytes > {max_len}")
    return v


def texts(v: Any, what: str, max_items: int, max_len: int) -> tuple[str, ...]:
    """An array of non-empty text strings."""
    items = array(v, what, max_items)
    for s in items:
        if type(s) is not str:
            fail(Reason.TYPE, f"{what}: expected text items, got {type(s).__name__}")
        if not s or len(s) > max_len:
            fail(Reason.LIMIT, f"{what}: bad item length {len(s)}")
    return tuple(items)


def fields(v: Any, what: str, n: int) -> list[Any]:
    """An array of exactly ``n`` items."""
    if type(v) is not list:
        fail(Reason.TYPE, f"{what}: expected array, got {type(v).__name__}")
    if len(v) != n:
        fail(Reason.SHAPE, f"{what}: {len(v)} fields, expected {n}")
    return v


def decode_record(v: Any, lim: WireLimits, what: str = "record") -> Record:
    """Validate a record's fields (not its body: that waits until the header says the
    record is new and the signature checked out)."""
    if type(v) is list and len(v) == 5:
        o, e, q, b, g = v
        if (
            type(o) is str
            and 0 < len(o) <= lim.max_peer_id_len
            and type(e) is int
            and 0 <= e <= MAX_UINT
            and type(q) is int
            and 0 <= q <= MAX_UINT
            and type(b) is bytes
            and len(b) <= lim.max_record_bytes
            and type(g) is bytes
            and len(g) <= lim.max_sig_len
        ):
            return Record(o, e, q, b, g)
    # slow path: the precise reason
    f = fields(v, what, 5)
    return Record(
        owner=text(f[0], what + ".owner", lim.max_peer_id_len),
        epoch=uint(f[1], what + ".epoch"),
        seq=uint(f[2], what + ".seq"),
        body=byte_string(f[3], what + ".body", lim.max_record_bytes),
        sig=byte_string(f[4], what + ".sig", lim.max_sig_len),
    )
