"""Wire format of asyncmachine pubsub: CBOR messages and owner-signed records.

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

Decoding never raises anything but :class:`DecodeError`, whose ``reason`` is a
:class:`Reason` (the Topic counts rejections per reason). docs/pubsub.md
("Wire format") is the exact specification; tests/data/wire-vectors.json holds
test vectors.

Modules, one concern each: ``_limits`` (constants, :class:`WireLimits`,
:class:`Reason`, :class:`DecodeError`), ``_records`` (decoded data and
:class:`MsgType`), ``_cbor`` (hardened CBOR loading), ``_validate`` (field
validators, records), ``_bodies`` (record bodies, the signed payload),
``_codec`` (messages), ``_cache`` (typed bounded caches and
:func:`clear_caches`).
"""

from ._bodies import (
    BODY_CACHE,
    decode_clocks_body,
    decode_info_body,
    decode_links_body,
    encode_clocks_body,
    encode_info_body,
    encode_links_body,
    encode_schema,
    pack_keys,
    signed_payload,
    unpack_keys,
)
from ._cache import FifoCache, clear_caches, process_cache, process_caches
from ._cbor import MAX_DEPTH, dumps
from ._codec import MESSAGE_CACHE, decode_message, encode_message, entry_size
from ._limits import (
    DEFAULT_LIMITS,
    MAX_UINT,
    PROTOCOL_VERSION,
    SIG_DOMAIN,
    DecodeError,
    Reason,
    WireLimits,
)
from ._records import (
    MESSAGE_CLASSES,
    ByeMsg,
    ClocksBody,
    DigestEntry,
    GossipMsg,
    InfoBody,
    InfoMsg,
    LinksBody,
    LinksMsg,
    MachineInfo,
    Message,
    MsgType,
    Record,
    RecordKind,
    ReqInfoMsg,
    ReqUpdatesMsg,
    UpdatesMsg,
    WireSchema,
    WireState,
)
from ._validate import decode_record

__all__ = [
    "BODY_CACHE",
    "DEFAULT_LIMITS",
    "MAX_DEPTH",
    "MAX_UINT",
    "MESSAGE_CACHE",
    "MESSAGE_CLASSES",
    "PROTOCOL_VERSION",
    "SIG_DOMAIN",
    "ByeMsg",
    "ClocksBody",
    "DecodeError",
    "DigestEntry",
    "FifoCache",
    "GossipMsg",
    "InfoBody",
    "InfoMsg",
    "LinksBody",
    "LinksMsg",
    "MachineInfo",
    "Message",
    "MsgType",
    "Reason",
    "Record",
    "RecordKind",
    "ReqInfoMsg",
    "ReqUpdatesMsg",
    "UpdatesMsg",
    "WireLimits",
    "WireSchema",
    "WireState",
    "clear_caches",
    "decode_clocks_body",
    "decode_info_body",
    "decode_links_body",
    "decode_message",
    "decode_record",
    "dumps",
    "encode_clocks_body",
    "encode_info_body",
    "encode_links_body",
    "encode_message",
    "encode_schema",
    "entry_size",
    "pack_keys",
    "process_cache",
    "process_caches",
    "signed_payload",
    "unpack_keys",
]
