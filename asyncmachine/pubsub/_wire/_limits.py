"""Protocol constants, decoder limits and the one error type the decoder raises."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, NoReturn

PROTOCOL_VERSION: Final = 3
"""First element of every message array (2: info and clocks bodies carry the owner's
send time, info bodies its listen addresses; 3: info messages carry their send time,
hellos the time their author has been listening since)."""

SIG_DOMAIN: Final = b"asyncmachine-pubsub/1\x00"
"""Prefix of :func:`signed_payload` (the transport adds its own prefix when signing)."""

MAX_UINT: Final = (1 << 63) - 1
"""Largest unsigned integer any field may hold (fits a signed 64-bit integer)."""


class Reason(enum.StrEnum):
    """Why the decoder rejected a message or record body.

    A :class:`~enum.StrEnum`: the Topic counts rejections in ``metrics.rejected`` keyed by
    these string values, next to reasons of later checks (``stale``, ``bad_signature``).
    """

    TOO_LARGE = "too_large"  # more bytes than WireLimits.max_message_bytes
    CBOR = "cbor"  # not well-formed CBOR, a tag, an indefinite length, nested too deep
    SHAPE = "shape"  # wrong field count, unknown record kind, inconsistent fields
    TYPE = "type"  # a field of the wrong CBOR type
    VERSION = "version"  # not PROTOCOL_VERSION
    UNKNOWN_TYPE = "unknown_type"  # a message type this version does not know
    LIMIT = "limit"  # a WireLimits bound or the integer range exceeded


# the names before Reason existed (string constants); still importable


class DecodeError(ValueError):
    """A malformed, oversized or unknown message or record body.

    ``reason`` says which check failed (counted per reason), ``detail`` where and how.
    """

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: Reason = reason
        self.detail = detail


def fail(reason: Reason, detail: str) -> NoReturn:
    """Raise a :class:`DecodeError` (validators call this to stay one-liners)."""
    raise DecodeError(reason, detail)


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
    max_addrs: int = 8  # listen addresses per info record
    max_addr_len: int = 256  # characters per listen address (a multiaddr string)

    @property
    def max_known_bytes(self) -> int:
        """Longest ``known`` field of an info message (8-byte ring keys)."""
        return 8 * self.max_entries * 4


DEFAULT_LIMITS: Final = WireLimits()
