"""Wire format of asyncmachine pubsub: CBOR envelopes and owner-signed records.

Go: ``pkg/pubsub`` msgpack structs (``Msg``, ``MsgInfo``, ``MsgUpdates``,
``MsgGossip``, ``MsgReqInfo``, ``MsgReqUpdates``, ``MsgBye``). The port uses
CBOR arrays instead of msgpack maps (smaller, cheaper to validate).

Every message is one CBOR array ``[version, type, *fields]``. Machine
information and clocks travel as *records*: ``[owner, epoch, seq, body, sig]``
where ``body`` is a CBOR byte string signed by ``owner`` (see
:func:`signed_payload`). A relay forwards the record unchanged, so the owner's
signature survives any number of hops. The header fields outside ``body`` let
a receiver drop duplicates before decoding or verifying anything; after the
signature check they must equal the header inside ``body``.

Decoding never raises anything but :class:`DecodeError`, whose ``reason`` is
one of :data:`REASONS` (the Topic counts rejections per reason).
See docs/pubsub.md for the full protocol description.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, NoReturn, TypeAlias

import cbor2

PROTOCOL_VERSION: Final = 1
SIG_DOMAIN: Final = b"asyncmachine-pubsub/1\x00"

# rejection reasons produced by the decoder
R_TOO_LARGE: Final = "too_large"
R_CBOR: Final = "cbor"
R_SHAPE: Final = "shape"
R_TYPE: Final = "type"
R_VERSION: Final = "version"
R_UNKNOWN_TYPE: Final = "unknown_type"
R_LIMIT: Final = "limit"
REASONS: Final = (R_TOO_LARGE, R_CBOR, R_SHAPE, R_TYPE, R_VERSION, R_UNKNOWN_TYPE, R_LIMIT)

MAX_UINT: Final = (1 << 63) - 1


class MsgType(enum.IntEnum):
    """Message types; the roles of Go's ``Type`` strings."""

    INFO = 1  # Go "info": machine records (+ their clocks); optionally a hello
    UPDATES = 2  # Go "updates": clock records
    GOSSIP = 3  # Go "gossip": version digests
    REQINFO = 4  # Go "reqinfo": ask for machine records of peers
    REQUPDATES = 5  # Go "requpdates": ask for clocks of peers
    BYE = 6  # Go "bye": clean leave
    LINKS = 7  # new: owner-signed lists of a peer's connections and mesh peers


class RecordKind(enum.IntEnum):
    INFO = 1
    CLOCKS = 2
    LINKS = 3


class DecodeError(ValueError):
    """A malformed, oversized or unknown message or record."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class WireLimits:
    """Hard limits applied while decoding (and checked when encoding own data)."""

    max_message_bytes: int = 1_000_000  # libp2p caps an RPC at 1 MiB
    max_record_bytes: int = 256 << 10
    max_entries: int = 2048  # records / digest entries per message
    max_ids: int = 256  # peer ids per request
    max_machines: int = 256  # per peer
    max_states: int = 256  # per schema
    max_name_len: int = 128  # state names, tags
    max_id_len: int = 256  # machine ids, parent ids
    max_peer_id_len: int = 128
    max_tags: int = 32  # per machine and per state
    max_sig_len: int = 256
    max_links: int = 64  # peer ids per links list


DEFAULT_LIMITS: Final = WireLimits()


def _fail(reason: str, detail: str) -> NoReturn:
    raise DecodeError(reason, detail)


# --- decoded data ---------------------------------------------------------------


class Record(NamedTuple):
    """An owner-signed record as carried on the wire (Go: none, new).

    A tuple (not a dataclass): tens of thousands are built per second.
    """

    owner: str
    epoch: int
    seq: int
    body: bytes
    sig: bytes

    def to_wire(self) -> list[Any]:
        return [self.owner, self.epoch, self.seq, self.body, self.sig]

    @property
    def version(self) -> tuple[int, int]:
        return (self.epoch, self.seq)


@dataclass(frozen=True, slots=True)
class WireState:
    """One state's properties on the wire (Go: am.State)."""

    auto: bool
    multi: bool
    require: tuple[str, ...]
    add: tuple[str, ...]
    remove: tuple[str, ...]
    after: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WireSchema:
    """State names in time-vector order, and one WireState per name."""

    names: tuple[str, ...]
    states: tuple[WireState, ...]


@dataclass(frozen=True, slots=True)
class MachineInfo:
    """One exposed machine (Go: Info, minus MTime which lives in clock records)."""

    id: str
    schema: WireSchema
    tags: tuple[str, ...]
    parent: str


@dataclass(frozen=True, slots=True)
class InfoBody:
    """The signed body of an info record: all machines a peer exposes."""

    owner: str
    epoch: int
    seq: int
    machines: tuple[MachineInfo, ...]


@dataclass(frozen=True, slots=True)
class ClocksBody:
    """The signed body of a clocks record: full time vectors of every machine.

    ``info_seq`` names the info record whose machine list the vectors follow.
    """

    owner: str
    epoch: int
    seq: int
    info_seq: int
    clocks: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """Versions of one peer's records (Go: PeerGossips, with seqs not sums)."""

    peer: str
    epoch: int
    info_seq: int
    clock_seq: int

    def to_wire(self) -> list[Any]:
        return [self.peer, self.epoch, self.info_seq, self.clock_seq]


@dataclass(frozen=True, slots=True)
class InfoMsg:
    """Go: MsgInfo. ``hello`` (a nonce) asks a chosen peer for what the author misses;
    ``known`` lists the author's known peers (8-byte ring keys, see :func:`pack_keys`)."""

    entries: tuple[tuple[Record, Record | None], ...]
    hello: int | None = None
    known: bytes | None = None


@dataclass(frozen=True, slots=True)
class UpdatesMsg:
    """Go: MsgUpdates."""

    records: tuple[Record, ...]


@dataclass(frozen=True, slots=True)
class GossipMsg:
    """Go: MsgGossip. ``view`` = (count, xor of ring keys) of the author's known peers
    (itself included): receivers with a different view pull what they miss."""

    digest: tuple[DigestEntry, ...]
    view: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class ReqInfoMsg:
    """Go: MsgReqInfo."""

    nonce: int
    peers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReqUpdatesMsg:
    """Go: MsgReqUpdates."""

    nonce: int
    peers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ByeMsg:
    """Go: MsgBye (never sent in Go); the author leaves the topic."""

    epoch: int


@dataclass(frozen=True, slots=True)
class LinksMsg:
    """Links records (new): who each owner is connected to, for peer graphs."""

    records: tuple[Record, ...]


@dataclass(frozen=True, slots=True)
class LinksBody:
    """The signed body of a links record: the owner's topic connections and mesh peers."""

    owner: str
    epoch: int
    seq: int
    connected: tuple[str, ...]
    mesh: tuple[str, ...]


Message: TypeAlias = (
    InfoMsg | UpdatesMsg | GossipMsg | ReqInfoMsg | ReqUpdatesMsg | ByeMsg | LinksMsg
)

MSG_TYPE_NAMES: Final = {
    InfoMsg: "info",
    UpdatesMsg: "updates",
    GossipMsg: "gossip",
    ReqInfoMsg: "reqinfo",
    ReqUpdatesMsg: "requpdates",
    ByeMsg: "bye",
    LinksMsg: "links",
}


def msg_type_name(msg: Message) -> str:
    """Go's ``Type`` string of a message."""
    return MSG_TYPE_NAMES[type(msg)]


# --- CBOR -----------------------------------------------------------------------


def _reject_tag(_decoder: Any, *_args: Any) -> NoReturn:
    raise cbor2.CBORDecodeError("CBOR tags are not allowed")


# cbor2's built-in semantic tags (datetime, bignum, regex, ...) are all refused
_NO_SEMANTIC: Final = {
    t: _reject_tag
    for t in (
        0,
        1,
        2,
        3,
        4,
        5,
        25,
        28,
        29,
        30,
        35,
        36,
        37,
        52,
        54,
        100,
        256,
        258,
        260,
        261,
        1004,
        55799,
    )
}
_MAX_DEPTH: Final = 12


def _loads(data: bytes, what: str) -> Any:
    try:
        return cbor2.loads(
            data,
            tag_hook=_reject_tag,
            semantic_decoders=_NO_SEMANTIC,
            max_depth=_MAX_DEPTH,
            allow_indefinite=False,
        )
    except RecursionError:
        _fail(R_CBOR, f"{what}: nested too deep")
    except Exception as e:  # cbor2 raises several types (CBORDecodeError, ValueError, ...)
        _fail(R_CBOR, f"{what}: {type(e).__name__}: {e}")


def dumps(obj: Any) -> bytes:
    """Encode plain data as CBOR."""
    return cbor2.dumps(obj)


# --- field validators (small and inlined-ish for speed) ---------------------------


def _list(v: Any, what: str, max_len: int) -> list[Any]:
    if type(v) is not list:
        _fail(R_TYPE, f"{what}: expected array, got {type(v).__name__}")
    if len(v) > max_len:
        _fail(R_LIMIT, f"{what}: {len(v)} items > {max_len}")
    return v


def _str(v: Any, what: str, max_len: int, *, empty: bool = False) -> str:
    if type(v) is not str:
        _fail(R_TYPE, f"{what}: expected text, got {type(v).__name__}")
    if len(v) > max_len:
        _fail(R_LIMIT, f"{what}: length {len(v)} > {max_len}")
    if not v and not empty:
        _fail(R_SHAPE, f"{what}: empty")
    return v


def _uint(v: Any, what: str) -> int:
    if type(v) is not int:
        _fail(R_TYPE, f"{what}: expected unsigned int, got {type(v).__name__}")
    if v < 0 or v > MAX_UINT:
        _fail(R_LIMIT, f"{what}: {v} out of range")
    return v


def _bytes(v: Any, what: str, max_len: int) -> bytes:
    if type(v) is not bytes:
        _fail(R_TYPE, f"{what}: expected bytes, got {type(v).__name__}")
    if len(v) > max_len:
        _fail(R_LIMIT, f"{what}: {len(v)} bytes > {max_len}")
    return v


def _strs(v: Any, what: str, max_items: int, max_len: int) -> tuple[str, ...]:
    items = _list(v, what, max_items)
    for s in items:
        if type(s) is not str:
            _fail(R_TYPE, f"{what}: expected text items, got {type(s).__name__}")
        if not s or len(s) > max_len:
            _fail(R_LIMIT, f"{what}: bad item length {len(s)}")
    return tuple(items)


def _fields(v: Any, what: str, n: int) -> list[Any]:
    if type(v) is not list:
        _fail(R_TYPE, f"{what}: expected array, got {type(v).__name__}")
    if len(v) != n:
        _fail(R_SHAPE, f"{what}: {len(v)} fields, expected {n}")
    return v


# --- records --------------------------------------------------------------------


def signed_payload(topic: str, body: bytes) -> bytes:
    """The exact bytes a record signature covers: domain, topic and body.

    Binding the topic name stops a record signed for one topic from being
    replayed into another.
    """
    return SIG_DOMAIN + topic.encode() + b"\x00" + body


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
    f = _fields(v, what, 5)
    return Record(
        owner=_str(f[0], what + ".owner", lim.max_peer_id_len),
        epoch=_uint(f[1], what + ".epoch"),
        seq=_uint(f[2], what + ".seq"),
        body=_bytes(f[3], what + ".body", lim.max_record_bytes),
        sig=_bytes(f[4], what + ".sig", lim.max_sig_len),
    )


def _decode_schema(v: Any, lim: WireLimits, what: str) -> WireSchema:
    f = _fields(v, what, 2)
    names = _strs(f[0], what + ".names", lim.max_states, lim.max_name_len)
    nameset = set(names)
    if len(nameset) != len(names):
        _fail(R_SHAPE, f"{what}: duplicate state names")
    rows = _list(f[1], what + ".states", lim.max_states)
    if len(rows) != len(names):
        _fail(R_SHAPE, f"{what}: {len(rows)} states for {len(names)} names")
    states: list[WireState] = []
    n = len(names)
    for i, row in enumerate(rows):
        w = f"{what}.states[{i}]"
        r = _fields(row, w, 6)
        flags = _uint(r[0], w + ".flags")
        if flags > 3:
            _fail(R_SHAPE, f"{w}: unknown flags {flags}")
        rels: list[tuple[str, ...]] = []
        for j, rel in enumerate(("require", "add", "remove", "after")):
            names_j = _strs(r[1 + j], f"{w}.{rel}", n, lim.max_name_len)
            for s in names_j:
                if s not in nameset:
                    _fail(R_SHAPE, f"{w}.{rel}: unknown state {s!r}")
            rels.append(names_j)
        tags = _strs(r[5], w + ".tags", lim.max_tags, lim.max_name_len)
        states.append(
            WireState(bool(flags & 1), bool(flags & 2), rels[0], rels[1], rels[2], rels[3], tags)
        )
    return WireSchema(names, tuple(states))


def _cached(fn: Any) -> Any:
    """Share decoded bodies per process (pure function of the bytes, immutable result)."""

    def wrapper(body: bytes, lim: WireLimits = DEFAULT_LIMITS) -> Any:
        hit = BODY_CACHE.get(body, lim)
        if hit is not None:
            if isinstance(hit, DecodeError):
                raise hit
            return hit
        try:
            out = fn(body, lim)
        except DecodeError as e:
            BODY_CACHE.put(body, lim, e)
            raise
        BODY_CACHE.put(body, lim, out)
        return out

    wrapper.__doc__ = fn.__doc__
    wrapper.__name__ = fn.__name__
    return wrapper


def _decode_info_body(body: bytes, lim: WireLimits = DEFAULT_LIMITS) -> InfoBody:
    """Decode and validate an info record body (after its signature checked out)."""
    f = _fields(_loads(body, "info body"), "info body", 6)
    if f[0] != RecordKind.INFO:
        _fail(R_SHAPE, f"info body: kind {f[0]!r}")
    owner = _str(f[1], "info.owner", lim.max_peer_id_len)
    epoch = _uint(f[2], "info.epoch")
    seq = _uint(f[3], "info.seq")
    raw_schemas = _list(f[4], "info.schemas", lim.max_machines)
    schemas = [_decode_schema(s, lim, f"info.schemas[{i}]") for i, s in enumerate(raw_schemas)]
    machines: list[MachineInfo] = []
    for i, m in enumerate(_list(f[5], "info.machines", lim.max_machines)):
        w = f"info.machines[{i}]"
        mf = _fields(m, w, 4)
        idx = _uint(mf[1], w + ".schema")
        if idx >= len(schemas):
            _fail(R_SHAPE, f"{w}: schema index {idx} out of range")
        machines.append(
            MachineInfo(
                id=_str(mf[0], w + ".id", lim.max_id_len),
                schema=schemas[idx],
                tags=_strs(mf[2], w + ".tags", lim.max_tags, lim.max_name_len),
                parent=_str(mf[3], w + ".parent", lim.max_id_len, empty=True),
            )
        )
    return InfoBody(owner, epoch, seq, tuple(machines))


def _decode_clocks_body(body: bytes, lim: WireLimits = DEFAULT_LIMITS) -> ClocksBody:
    """Decode and validate a clocks record body."""
    f = _fields(_loads(body, "clocks body"), "clocks body", 6)
    if f[0] != RecordKind.CLOCKS:
        _fail(R_SHAPE, f"clocks body: kind {f[0]!r}")
    clocks: list[tuple[int, ...]] = []
    for i, c in enumerate(_list(f[5], "clocks.clocks", lim.max_machines)):
        ticks = _list(c, f"clocks[{i}]", lim.max_states)
        for t in ticks:
            if type(t) is not int or t < 0 or t > MAX_UINT:
                _fail(R_TYPE, f"clocks[{i}]: bad tick {t!r}")
        clocks.append(tuple(ticks))
    return ClocksBody(
        owner=_str(f[1], "clocks.owner", lim.max_peer_id_len),
        epoch=_uint(f[2], "clocks.epoch"),
        seq=_uint(f[3], "clocks.seq"),
        info_seq=_uint(f[4], "clocks.info_seq"),
        clocks=tuple(clocks),
    )


def decode_info_body(body: bytes, lim: WireLimits = DEFAULT_LIMITS) -> InfoBody:
    """Decode and validate an info record body (cached per process by the bytes)."""
    out: InfoBody = _info_cached(body, lim)
    return out


def decode_clocks_body(body: bytes, lim: WireLimits = DEFAULT_LIMITS) -> ClocksBody:
    """Decode and validate a clocks record body (cached per process by the bytes)."""
    out: ClocksBody = _clocks_cached(body, lim)
    return out


def _decode_links_body(body: bytes, lim: WireLimits = DEFAULT_LIMITS) -> LinksBody:
    f = _fields(_loads(body, "links body"), "links body", 6)
    if f[0] != RecordKind.LINKS:
        _fail(R_SHAPE, f"links body: kind {f[0]!r}")
    return LinksBody(
        owner=_str(f[1], "links.owner", lim.max_peer_id_len),
        epoch=_uint(f[2], "links.epoch"),
        seq=_uint(f[3], "links.seq"),
        connected=_strs(f[4], "links.connected", lim.max_links, lim.max_peer_id_len),
        mesh=_strs(f[5], "links.mesh", lim.max_links, lim.max_peer_id_len),
    )


def decode_links_body(body: bytes, lim: WireLimits = DEFAULT_LIMITS) -> LinksBody:
    """Decode and validate a links record body (cached per process by the bytes)."""
    out: LinksBody = _links_cached(body, lim)
    return out


def encode_links_body(
    owner: str, epoch: int, seq: int, connected: Sequence[str], mesh: Sequence[str]
) -> bytes:
    return dumps([int(RecordKind.LINKS), owner, epoch, seq, list(connected), list(mesh)])


_links_cached: Final = _cached(_decode_links_body)
_info_cached: Final = _cached(_decode_info_body)
_clocks_cached: Final = _cached(_decode_clocks_body)


def pack_keys(keys: Sequence[int]) -> bytes:
    """8-byte big-endian ring keys, concatenated (a hello's ``known``)."""
    return struct.pack(f">{len(keys)}Q", *keys)


def unpack_keys(data: bytes) -> set[int]:
    return set(struct.unpack(f">{len(data) // 8}Q", data))


def encode_schema(schema: WireSchema) -> list[Any]:
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


def encode_info_body(owner: str, epoch: int, seq: int, machines: Sequence[MachineInfo]) -> bytes:
    """Encode an info body; identical schemas are stored once."""
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
        ]
    )


def encode_clocks_body(
    owner: str, epoch: int, seq: int, info_seq: int, clocks: Sequence[Sequence[int]]
) -> bytes:
    return dumps([int(RecordKind.CLOCKS), owner, epoch, seq, info_seq, [list(c) for c in clocks]])


# --- messages -------------------------------------------------------------------


def _decode_digest(v: Any, lim: WireLimits) -> tuple[DigestEntry, ...]:
    out: list[DigestEntry] = []
    for i, e in enumerate(_list(v, "digest", lim.max_entries)):
        f = _fields(e, f"digest[{i}]", 4)
        out.append(
            DigestEntry(
                _str(f[0], "digest.peer", lim.max_peer_id_len),
                _uint(f[1], "digest.epoch"),
                _uint(f[2], "digest.info_seq"),
                _uint(f[3], "digest.clock_seq"),
            )
        )
    return tuple(out)


class _DecodeCache:
    """Decoded results by input bytes, bounded by entries and total bytes (FIFO).

    Decoding is a pure function of the bytes and the limits, and decoded objects
    are immutable, so every Topic of a process can share them: with many peers in
    one process (simulations, tests) a message is decoded once, not once per peer.
    """

    __slots__ = ("_bytes", "_d", "hits", "max_bytes", "max_entries", "misses")

    def __init__(self, max_entries: int = 8192, max_bytes: int = 64 << 20) -> None:
        self._d: dict[bytes, tuple[WireLimits, Any]] = {}
        self._bytes = 0
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0

    def get(self, data: bytes, lim: WireLimits) -> Any:
        hit = self._d.get(data)
        if hit is not None and (hit[0] is lim or hit[0] == lim):
            self.hits += 1
            return hit[1]
        self.misses += 1
        return None

    def put(self, data: bytes, lim: WireLimits, value: Any) -> None:
        d = self._d
        if data in d:
            return
        d[data] = (lim, value)
        self._bytes += len(data)
        while len(d) > self.max_entries or self._bytes > self.max_bytes:
            old = next(iter(d))
            del d[old]
            self._bytes -= len(old)

    def clear(self) -> None:
        self._d.clear()
        self._bytes = 0


MESSAGE_CACHE: Final = _DecodeCache()
BODY_CACHE: Final = _DecodeCache()


def decode_message(data: bytes, lim: WireLimits = DEFAULT_LIMITS) -> Message:
    """Decode one message; raises :class:`DecodeError` on anything invalid.

    Results (and errors) are cached per process by the message bytes.
    """
    if type(data) is not bytes:
        data = bytes(data)
    hit = MESSAGE_CACHE.get(data, lim)
    if hit is not None:
        if isinstance(hit, DecodeError):
            raise hit
        return hit  # type: ignore[no-any-return]
    try:
        msg = _decode_message(data, lim)
    except DecodeError as e:
        MESSAGE_CACHE.put(data, lim, e)
        raise
    MESSAGE_CACHE.put(data, lim, msg)
    return msg


def _decode_message(data: bytes, lim: WireLimits) -> Message:
    if len(data) > lim.max_message_bytes:
        _fail(R_TOO_LARGE, f"{len(data)} bytes > {lim.max_message_bytes}")
    v = _loads(data, "message")
    if type(v) is not list or len(v) < 2:
        _fail(R_SHAPE, "message: expected array [version, type, ...]")
    if v[0] != PROTOCOL_VERSION or type(v[0]) is not int:
        _fail(R_VERSION, f"unsupported version {v[0]!r}")
    t = v[1]
    if type(t) is not int:
        _fail(R_TYPE, f"message type {t!r}")
    if t == MsgType.UPDATES:
        f = _fields(v, "updates", 3)
        recs = _list(f[2], "updates.records", lim.max_entries)
        return UpdatesMsg(tuple(decode_record(r, lim) for r in recs))
    if t == MsgType.INFO:
        f = v if len(v) == 5 else _fields(v, "info", 4)
        entries: list[tuple[Record, Record | None]] = []
        for i, e in enumerate(_list(f[2], "info.entries", lim.max_entries)):
            ef = _fields(e, f"info.entries[{i}]", 2)
            info = decode_record(ef[0], lim, "info.record")
            clocks = None if ef[1] is None else decode_record(ef[1], lim, "info.clocks")
            if clocks is not None and clocks.owner != info.owner:
                _fail(R_SHAPE, "info entry: clocks owner differs from info owner")
            entries.append((info, clocks))
        hello = None if f[3] is None else _uint(f[3], "info.hello")
        known = None
        if len(f) == 5 and f[4] is not None:
            known = _bytes(f[4], "info.known", 8 * lim.max_entries * 4)
            if len(known) % 8:
                _fail(R_SHAPE, "info.known: not a multiple of 8 bytes")
        return InfoMsg(tuple(entries), hello, known)
    if t == MsgType.GOSSIP:
        f = v if len(v) == 4 else _fields(v, "gossip", 3)
        view = None
        if len(f) == 4 and f[3] is not None:
            vf = _fields(f[3], "gossip.view", 2)
            view = (_uint(vf[0], "gossip.view.count"), _uint(vf[1], "gossip.view.xor"))
        return GossipMsg(_decode_digest(f[2], lim), view)
    if t == MsgType.REQINFO or t == MsgType.REQUPDATES:
        f = _fields(v, "request", 4)
        nonce = _uint(f[2], "request.nonce")
        peers = _strs(f[3], "request.peers", lim.max_ids, lim.max_peer_id_len)
        return ReqInfoMsg(nonce, peers) if t == MsgType.REQINFO else ReqUpdatesMsg(nonce, peers)
    if t == MsgType.LINKS:
        f = _fields(v, "links", 3)
        recs = _list(f[2], "links.records", lim.max_entries)
        return LinksMsg(tuple(decode_record(r, lim, "links.record") for r in recs))
    if t == MsgType.BYE:
        f = _fields(v, "bye", 3)
        return ByeMsg(_uint(f[2], "bye.epoch"))
    _fail(R_UNKNOWN_TYPE, f"message type {t}")


def encode_message(msg: Message) -> bytes:
    """Encode one message (the inverse of :func:`decode_message`)."""
    v = PROTOCOL_VERSION
    if isinstance(msg, UpdatesMsg):
        return dumps([v, int(MsgType.UPDATES), [r.to_wire() for r in msg.records]])
    if isinstance(msg, InfoMsg):
        entries = [[i.to_wire(), None if c is None else c.to_wire()] for i, c in msg.entries]
        if msg.known is None:
            return dumps([v, int(MsgType.INFO), entries, msg.hello])
        return dumps([v, int(MsgType.INFO), entries, msg.hello, msg.known])
    if isinstance(msg, GossipMsg):
        digest = [e.to_wire() for e in msg.digest]
        if msg.view is None:
            return dumps([v, int(MsgType.GOSSIP), digest])
        return dumps([v, int(MsgType.GOSSIP), digest, list(msg.view)])
    if isinstance(msg, ReqInfoMsg):
        return dumps([v, int(MsgType.REQINFO), msg.nonce, list(msg.peers)])
    if isinstance(msg, ReqUpdatesMsg):
        return dumps([v, int(MsgType.REQUPDATES), msg.nonce, list(msg.peers)])
    if isinstance(msg, LinksMsg):
        return dumps([v, int(MsgType.LINKS), [r.to_wire() for r in msg.records]])
    if isinstance(msg, ByeMsg):
        return dumps([v, int(MsgType.BYE), msg.epoch])
    raise TypeError(f"not a message: {type(msg).__name__}")


def entry_size(info: Record, clocks: Record | None) -> int:
    """An upper estimate of an info entry's encoded size, for chunking."""
    n = len(info.body) + len(info.sig) + len(info.owner) + 32
    if clocks is not None:
        n += len(clocks.body) + len(clocks.sig) + len(clocks.owner) + 32
    return n
