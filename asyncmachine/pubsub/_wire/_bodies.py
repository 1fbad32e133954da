"""Record bodies (info, clocks, links): what is signed, encoders, cached decoders."""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any, Final, Generic, TypeAlias, TypeVar

from ._cache import DECODED_PER_BYTE, Failure, FifoCache, process_cache
from ._cbor import dumps, loads
from ._limits import DEFAULT_LIMITS, MAX_UINT, SIG_DOMAIN, DecodeError, Reason, WireLimits, fail
from ._records import (
    ClocksBody,
    InfoBody,
    LinksBody,
    MachineInfo,
    RecordKind,
    WireSchema,
    WireState,
)
from ._validate import array, fields, text, texts, uint

Body: TypeAlias = InfoBody | ClocksBody | LinksBody
B = TypeVar("B", InfoBody, ClocksBody, LinksBody)

BODY_CACHE: Final[FifoCache[tuple[RecordKind, bytes], tuple[WireLimits, Body | Failure]]] = (
    process_cache(
        "wire bodies", 8192, max_weight=64 << 20, weigh=lambda k: DECODED_PER_BYTE * len(k[1])
    )
)
"""Decoded record bodies (and failures) by (kind, body bytes)."""

WIRE_SCHEMAS: Final[FifoCache[WireSchema, WireSchema]] = process_cache("wire schemas", 4096)
"""One decoded instance of each schema: the info records of every peer exposing a schema
share it (a node holds its state names and relations once, not once per peer)."""


def signed_payload(topic: str, body: bytes) -> bytes:
    """The bytes a record signature covers (before the transport's own prefix):
    ``SIG_DOMAIN + utf8(topic) + b"\\x00" + body``.

    Binding the topic name stops a record signed for one topic from being replayed into
    another. docs/pubsub.md gives the complete signed byte layout per transport.
    """
    return SIG_DOMAIN + topic.encode() + b"\x00" + body


def pack_keys(keys: Sequence[int]) -> bytes:
    """8-byte big-endian ring keys, concatenated (a hello's ``known``)."""
    return struct.pack(f">{len(keys)}Q", *keys)


def unpack_keys(data: bytes) -> set[int]:
    """The ring keys of :func:`pack_keys` output (a trailing partial key is ignored)."""
    return set(struct.unpack(f">{len(data) // 8}Q", data[: len(data) // 8 * 8]))


# --- decoding -------------------------------------------------------------------


def _decode_schema(v: Any, lim: WireLimits, what: str) -> WireSchema:
    f = fields(v, what, 2)
    names = texts(f[0], what + ".names", lim.max_states, lim.max_name_len)
    nameset = set(names)
    if len(nameset) != len(names):
        fail(Reason.SHAPE, f"{what}: duplicate state names")
    rows = array(f[1], what + ".states", lim.max_states)
    if len(rows) != len(names):
        fail(Reason.SHAPE, f"{what}: {len(rows)} states for {len(names)} names")
    states: list[WireState] = []
    n = len(names)
    for i, row in enumerate(rows):
        w = f"{what}.states[{i}]"
        r = fields(row, w, 6)
        flags = uint(r[0], w + ".flags")
        if flags > 3:
            fail(Reason.SHAPE, f"{w}: unknown flags {flags}")
        rels: list[tuple[str, ...]] = []
        for j, rel in enumerate(("require", "add", "remove", "after")):
            names_j = texts(r[1 + j], f"{w}.{rel}", n, lim.max_name_len)
            for s in names_j:
                if s not in nameset:
                    fail(Reason.SHAPE, f"{w}.{rel}: unknown state {s!r}")
            rels.append(names_j)
        tags = texts(r[5], w + ".tags", lim.max_tags, lim.max_name_len)
        states.append(
            WireState(bool(flags & 1), bool(flags & 2), rels[0], rels[1], rels[2], rels[3], tags)
        )
    ws = WireSchema(names, tuple(states))
    known = WIRE_SCHEMAS.get(ws)
    if known is None:
        WIRE_SCHEMAS.put(ws, ws)
        return ws
    return known


_BODY_FIELDS: Final = {RecordKind.INFO: 8, RecordKind.CLOCKS: 7, RecordKind.LINKS: 6}
_BODY_WHAT: Final = {k: f"{k.name.lower()} body" for k in RecordKind}


def _body_fields(body: bytes, kind: RecordKind) -> list[Any]:
    what = _BODY_WHAT[kind]
    f = fields(loads(body, what), what, _BODY_FIELDS[kind])
    if type(f[0]) is not int or f[0] != kind:
        fail(Reason.SHAPE, f"{what}: kind {f[0]!r}")
    return f


def _decode_info_body(body: bytes, lim: WireLimits) -> InfoBody:
    f = _body_fields(body, RecordKind.INFO)
    owner = text(f[1], "info.owner", lim.max_peer_id_len)
    epoch = uint(f[2], "info.epoch")
    seq = uint(f[3], "info.seq")
    raw_schemas = array(f[4], "info.schemas", lim.max_machines)
    schemas = [_decode_schema(s, lim, f"info.schemas[{i}]") for i, s in enumerate(raw_schemas)]
    machines: list[MachineInfo] = []
    for i, m in enumerate(array(f[5], "info.machines", lim.max_machines)):
        w = f"info.machines[{i}]"
        mf = fields(m, w, 4)
        idx = uint(mf[1], w + ".schema")
        if idx >= len(schemas):
            fail(Reason.SHAPE, f"{w}: schema index {idx} out of range")
        machines.append(
            MachineInfo(
                id=text(mf[0], w + ".id", lim.max_id_len),
                schema=schemas[idx],
                tags=texts(mf[2], w + ".tags", lim.max_tags, lim.max_name_len),
                parent=text(mf[3], w + ".parent", lim.max_id_len, empty=True),
            )
        )
    stamp = uint(f[6], "info.time")
    addrs = texts(f[7], "info.addrs", lim.max_addrs, lim.max_addr_len)
    return InfoBody(owner, epoch, seq, tuple(machines), stamp, addrs)


def _decode_clocks_body(body: bytes, lim: WireLimits) -> ClocksBody:
    # the most frequent body (one per update): valid ones take a fast path without a
    # call per field; anything else takes the checks below, which name the problem
    _, o, e, q, iq, raw, t = f = _body_fields(body, RecordKind.CLOCKS)
    if (
        type(o) is str
        and 0 < len(o) <= lim.max_peer_id_len
        and type(e) is int
        and type(q) is int
        and type(iq) is int
        and type(t) is int
        and min(e, q, iq, t) >= 0
        and max(e, q, iq, t) <= MAX_UINT
        and type(raw) is list
        and len(raw) <= lim.max_machines
    ):
        clocks = [_ticks(c, i, lim) for i, c in enumerate(raw)]
        return ClocksBody(o, e, q, iq, tuple(clocks), t)
    clocks = [
        _ticks(c, i, lim) for i, c in enumerate(array(raw, "clocks.clocks", lim.max_machines))
    ]
    return ClocksBody(
        owner=text(f[1], "clocks.owner", lim.max_peer_id_len),
        epoch=uint(f[2], "clocks.epoch"),
        seq=uint(f[3], "clocks.seq"),
        info_seq=uint(f[4], "clocks.info_seq"),
        clocks=tuple(clocks),
        time=uint(f[6], "clocks.time"),
    )


def _ticks(c: Any, i: int, lim: WireLimits) -> tuple[int, ...]:
    """One machine's clock of a clocks body: at most ``max_states`` uints."""
    if type(c) is not list or len(c) > lim.max_states:
        array(c, f"clocks[{i}]", lim.max_states)  # raises, naming the problem
    for t in c:
        if type(t) is not int or t < 0 or t > MAX_UINT:
            fail(Reason.TYPE, f"clocks[{i}]: bad tick {t!r}")
    return tuple(c)


def _decode_links_body(body: bytes, lim: WireLimits) -> LinksBody:
    f = _body_fields(body, RecordKind.LINKS)
    return LinksBody(
        owner=text(f[1], "links.owner", lim.max_peer_id_len),
        epoch=uint(f[2], "links.epoch"),
        seq=uint(f[3], "links.seq"),
        connected=texts(f[4], "links.connected", lim.max_links, lim.max_peer_id_len),
        mesh=texts(f[5], "links.mesh", lim.max_links, lim.max_peer_id_len),
    )


class CachedBodyDecoder(Generic[B]):
    """A body decoder sharing results and failures per process in :data:`BODY_CACHE`."""

    __slots__ = ("_decode", "kind", "result")

    def __init__(
        self, kind: RecordKind, result: type[B], decode: Callable[[bytes, WireLimits], B]
    ) -> None:
        self.kind = kind
        self.result: type[B] = result
        self._decode: Callable[[bytes, WireLimits], B] = decode

    def __call__(self, body: bytes, lim: WireLimits = DEFAULT_LIMITS) -> B:
        key = (self.kind, body)
        hit = BODY_CACHE.get(key)
        if hit is not None and (hit[0] is lim or hit[0] == lim):
            value = hit[1]
            if isinstance(value, Failure):
                value.raise_again()
            if isinstance(value, self.result):
                return value
        try:
            out = self._decode(body, lim)
        except DecodeError as e:
            BODY_CACHE.put(key, (lim, Failure.of(e)))
            raise
        BODY_CACHE.put(key, (lim, out))
        return out


_info_cached: Final = CachedBodyDecoder(RecordKind.INFO, InfoBody, _decode_info_body)
_clocks_cached: Final = CachedBodyDecoder(RecordKind.CLOCKS, ClocksBody, _decode_clocks_body)
_links_cached: Final = CachedBodyDecoder(RecordKind.LINKS, LinksBody, _decode_links_body)


def decode_info_body(body: bytes, lim: WireLimits = DEFAULT_LIMITS) -> InfoBody:
    """Decode and validate an info record body (cached per process by the bytes)."""
    return _info_cached(body, lim)


def decode_clocks_body(body: bytes, lim: WireLimits = DEFAULT_LIMITS) -> ClocksBody:
    """Decode and validate a clocks record body (cached per process by the bytes)."""
    return _clocks_cached(body, lim)


def decode_links_body(body: bytes, lim: WireLimits = DEFAULT_LIMITS) -> LinksBody:
    """Decode and validate a links record body (cached per process by the bytes)."""
    return _links_cached(body, lim)


# --- encoding -------------------------------------------------------------------


def encode_schema(schema: WireSchema) -> list[Any]:
    """The wire form ``[names, states]`` of a schema."""
    return [
        list(schema.names),
        [
            [
                int(s.auto) | (int(s.multi) << 1),
                list(s.require),
                list(s.add),
                list(s.remove),
                list(s.after),
                list(s.tags),
            ]
            for s in schema.states
        ],
    ]


def encode_info_body(
    owner: str,
    epoch: int,
    seq: int,
    machines: Sequence[MachineInfo],
    *,
    time: int = 0,
    addrs: Sequence[str] = (),
) -> bytes:
    """Encode an info body; identical schemas are stored once (in first-use order).
    ``time``: the owner's wall clock in ms; ``addrs``: its listen multiaddrs."""
    schema_idx: dict[WireSchema, int] = {}
    for m in machines:
        schema_idx.setdefault(m.schema, len(schema_idx))
    return dumps(
        [
            int(RecordKind.INFO),
            owner,
            epoch,
            seq,
            [encode_schema(s) for s in schema_idx],
            [[m.id, schema_idx[m.schema], list(m.tags), m.parent] for m in machines],
            time,
            list(addrs),
        ]
    )


def encode_clocks_body(
    owner: str,
    epoch: int,
    seq: int,
    info_seq: int,
    clocks: Sequence[Sequence[int]],
    *,
    time: int = 0,
) -> bytes:
    """Encode a clocks body: one full time vector per machine of info record ``info_seq``,
    stamped with the owner's wall clock ``time`` (ms)."""
    return dumps(
        [int(RecordKind.CLOCKS), owner, epoch, seq, info_seq, [list(c) for c in clocks], time]
    )


def encode_links_body(
    owner: str, epoch: int, seq: int, connected: Sequence[str], mesh: Sequence[str]
) -> bytes:
    """Encode a links body: the owner's connected topic peers and gossip-mesh peers."""
    return dumps([int(RecordKind.LINKS), owner, epoch, seq, list(connected), list(mesh)])
