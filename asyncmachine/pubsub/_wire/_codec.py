"""Messages: ``[version, type, *fields]`` arrays, encoded and (strictly) decoded."""

from __future__ import annotations

from typing import Any, Final

from ._cache import DECODED_PER_BYTE, Failure, FifoCache, process_cache
from ._cbor import dumps, loads
from ._limits import DEFAULT_LIMITS, PROTOCOL_VERSION, DecodeError, Reason, WireLimits, fail
from ._records import (
    MESSAGE_CLASSES,
    ByeMsg,
    DigestEntry,
    GossipMsg,
    InfoMsg,
    LinksMsg,
    Message,
    MsgType,
    Record,
    ReqInfoMsg,
    ReqUpdatesMsg,
    UpdatesMsg,
)
from ._validate import array, byte_string, decode_record, fields, text, texts, uint

MESSAGE_CACHE: Final[FifoCache[bytes, tuple[WireLimits, Message | Failure]]] = process_cache(
    "wire messages", 8192, max_weight=64 << 20, weigh=lambda d: DECODED_PER_BYTE * len(d)
)
"""Decoded messages (and failures) by message bytes."""


def decode_message(data: bytes, lim: WireLimits = DEFAULT_LIMITS) -> Message:
    """Decode one message; raises :class:`DecodeError` on anything invalid.

    Results (and failures) are cached per process by the message bytes; a cached
    failure raises a fresh error each time.
    """
    if type(data) is not bytes:
        data = bytes(data)
    hit = MESSAGE_CACHE.get(data)
    if hit is not None and (hit[0] is lim or hit[0] == lim):
        if isinstance(hit[1], Failure):
            hit[1].raise_again()
        return hit[1]
    try:
        msg = _decode_message(data, lim)
    except DecodeError as e:
        MESSAGE_CACHE.put(data, (lim, Failure.of(e)))
        raise
    MESSAGE_CACHE.put(data, (lim, msg))
    return msg


def _decode_digest(v: Any, lim: WireLimits) -> tuple[DigestEntry, ...]:
    out: list[DigestEntry] = []
    for i, e in enumerate(array(v, "digest", lim.max_entries)):
        f = fields(e, f"digest[{i}]", 4)
        out.append(
            DigestEntry(
                text(f[0], "digest.peer", lim.max_peer_id_len),
                uint(f[1], "digest.epoch"),
                uint(f[2], "digest.info_seq"),
                uint(f[3], "digest.clock_seq"),
            )
        )
    return tuple(out)


def _decode_info(v: list[Any], lim: WireLimits) -> InfoMsg:
    f = v if len(v) == 7 else fields(v, "info", 4)
    entries: list[tuple[Record, Record | None]] = []
    for i, e in enumerate(array(f[2], "info.entries", lim.max_entries)):
        ef = fields(e, f"info.entries[{i}]", 2)
        info = decode_record(ef[0], lim, "info.record")
        clocks = None if ef[1] is None else decode_record(ef[1], lim, "info.clocks")
        if clocks is not None and clocks.owner != info.owner:
            fail(Reason.SHAPE, "info entry: clocks owner differs from info owner")
        entries.append((info, clocks))
    sent = uint(f[3], "info.sent")
    if len(f) == 4:
        return InfoMsg(tuple(entries), sent=sent)
    hello = uint(f[4], "info.hello")
    known = None
    if f[5] is not None:
        known = byte_string(f[5], "info.known", lim.max_known_bytes)
        if len(known) % 8:
            fail(Reason.SHAPE, "info.known: not a multiple of 8 bytes")
    return InfoMsg(tuple(entries), hello, known, uint(f[6], "info.since"), sent)


def _decode_gossip(v: list[Any], lim: WireLimits) -> GossipMsg:
    f = v if len(v) == 4 else fields(v, "gossip", 3)
    view = None
    if len(f) == 4 and f[3] is not None:
        vf = fields(f[3], "gossip.view", 2)
        view = (uint(vf[0], "gossip.view.count"), uint(vf[1], "gossip.view.xor"))
    return GossipMsg(_decode_digest(f[2], lim), view)


def _decode_message(data: bytes, lim: WireLimits) -> Message:
    if len(data) > lim.max_message_bytes:
        fail(Reason.TOO_LARGE, f"{len(data)} bytes > {lim.max_message_bytes}")
    v = loads(data, "message")
    if type(v) is not list or len(v) < 2:
        fail(Reason.SHAPE, "message: expected array [version, type, ...]")
    if type(v[0]) is not int or v[0] != PROTOCOL_VERSION:
        fail(Reason.VERSION, f"unsupported version {v[0]!r}")
    t = v[1]
    if type(t) is not int:
        fail(Reason.TYPE, f"message type {t!r}")
    if t == MsgType.UPDATES:
        f = fields(v, "updates", 3)
        recs = array(f[2], "updates.records", lim.max_entries)
        return UpdatesMsg(tuple([decode_record(r, lim) for r in recs]))
    if t == MsgType.INFO:
        return _decode_info(v, lim)
    if t == MsgType.GOSSIP:
        return _decode_gossip(v, lim)
    if t == MsgType.REQINFO or t == MsgType.REQUPDATES:
        f = fields(v, "request", 4)
        nonce = uint(f[2], "request.nonce")
        peers = texts(f[3], "request.peers", lim.max_ids, lim.max_peer_id_len)
        return ReqInfoMsg(nonce, peers) if t == MsgType.REQINFO else ReqUpdatesMsg(nonce, peers)
    if t == MsgType.LINKS:
        f = fields(v, "links", 3)
        recs = array(f[2], "links.records", lim.max_entries)
        return LinksMsg(tuple(decode_record(r, lim, "links.record") for r in recs))
    if t == MsgType.BYE:
        f = fields(v, "bye", 3)
        return ByeMsg(uint(f[2], "bye.epoch"))
    fail(Reason.UNKNOWN_TYPE, f"message type {t}")


def encode_message(msg: Message) -> bytes:
    """Encode one message (the inverse of :func:`decode_message`)."""
    if not isinstance(msg, MESSAGE_CLASSES):
        raise TypeError(f"not a message: {type(msg).__name__}")
    head = [PROTOCOL_VERSION, int(msg.TYPE)]
    if isinstance(msg, UpdatesMsg | LinksMsg):
        return dumps([*head, [r.to_wire() for r in msg.records]])
    if isinstance(msg, InfoMsg):
        entries = [[i.to_wire(), None if c is None else c.to_wire()] for i, c in msg.entries]
        if msg.hello is None:
            if msg.known is not None or msg.since:
                raise ValueError("info: known and since belong to a hello")
            return dumps([*head, entries, msg.sent])
        return dumps([*head, entries, msg.sent, msg.hello, msg.known, msg.since])
    if isinstance(msg, GossipMsg):
        digest = [e.to_wire() for e in msg.digest]
        if msg.view is None:
            return dumps([*head, digest])
        return dumps([*head, digest, list(msg.view)])
    if isinstance(msg, ReqInfoMsg | ReqUpdatesMsg):
        return dumps([*head, msg.nonce, list(msg.peers)])
    return dumps([*head, msg.epoch])


def entry_size(info: Record, clocks: Record | None) -> int:
    """An upper estimate of an info entry's encoded size, for chunking."""
    n = len(info.body) + len(info.sig) + len(info.owner) + 32
    if clocks is not None:
        n += len(clocks.body) + len(clocks.sig) + len(clocks.owner) + 32
    return n
