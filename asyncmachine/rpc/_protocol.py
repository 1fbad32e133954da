"""The wire format of remote mutations (Go: pkg/rpc's aRPC messages, re-done in CBOR).

One request and one response per libp2p stream of protocol :data:`PROTOCOL_ID`; each
is an unsigned-varint length prefix and a CBOR map (the framing of py-libp2p's
``request_response``, so its client works unchanged). Requests are capped at
:attr:`RpcLimits.max_request_bytes` before they are read; args travel as their own
CBOR byte string, so an envelope that decodes with args that don't is told apart
(``bad_args``, not ``malformed``). The caller is never named in a request: it is
the connection's authenticated peer id.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cbor2

PROTOCOL_ID = "/asyncmachine/rpc/1"
WIRE_VERSION = 1
CALLER_ARG = "rpc_caller"
"""The args key the server sets to the caller's peer id (any value sent is replaced)."""


class Verb(enum.StrEnum):
    """What a request does: the local mutation family, plus ``get`` (an owner-provided value)."""

    ADD = "add"
    ADD1 = "add1"
    REMOVE = "remove"
    REMOVE1 = "remove1"
    SET = "set"
    TOGGLE = "toggle"
    ADD_ERR = "add_err"
    GET = "get"


SINGLE_STATE_VERBS = frozenset({Verb.ADD1, Verb.REMOVE1})


class ErrorKind(enum.StrEnum):
    """Why a request failed; the first group is answered by the server, the rest are
    the client's own view (the request never got an answer)."""

    DENIED = "denied"
    UNKNOWN_MACHINE = "unknown_machine"
    UNKNOWN_STATE = "unknown_state"
    UNKNOWN_KEY = "unknown_key"
    BAD_ARGS = "bad_args"
    HANDLER_ERROR = "handler_error"
    RATE_LIMITED = "rate_limited"
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    # client side only
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class RpcLimits:
    """Size and time caps of the protocol (both sides)."""

    max_request_bytes: int = 64 * 1024
    max_response_bytes: int = 1024 * 1024
    max_depth: int = 16
    """Nesting depth of args and values."""
    timeout: float = 10.0
    """Seconds a client waits for an answer (then :class:`RemoteTimeoutError`)."""
    read_timeout: float = 10.0
    """Seconds the server waits for a request's bytes before dropping the stream."""

    def __post_init__(self) -> None:
        for name in ("max_request_bytes", "max_response_bytes", "max_depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"RpcLimits.{name} must be >= 1")
        for name in ("timeout", "read_timeout"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"RpcLimits.{name} must be > 0, got {v}")


class RequestError(ValueError):
    """A request the server refuses before looking at any machine."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Request:
    """One call: ``verb`` on machine ``machine_id`` with ``states`` and ``args``
    (``key`` names the value of a ``get``)."""

    machine_id: str
    verb: Verb
    states: tuple[str, ...] = ()
    args: dict[str, Any] = field(default_factory=dict)
    key: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer: the mutation's result (0 executed, 1 canceled, >= 2 queued at that
    queue tick) and the machine time after it, a ``get`` value, or an error."""

    result: int = 1
    time: tuple[int, ...] = ()
    value: Any = None
    error: ErrorKind | None = None
    message: str = ""


def check_plain(value: Any, depth: int, where: str = "args") -> None:
    """Only CBOR's plain types (str-keyed maps, lists, str, bytes, int, float, bool,
    None), at most ``depth`` levels deep; ValueError naming the first offender."""
    if depth < 0:
        raise ValueError(f"{where} nested too deeply")
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_plain(v, depth - 1, f"{where}[{i}]")
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{where} has a non-string key {k!r}")
            check_plain(v, depth - 1, f"{where}.{k}")
        return
    raise ValueError(f"{where} holds a {type(value).__name__}, not a plain CBOR value")


def encode_request(req: Request) -> bytes:
    """The CBOR body of a request (ValueError for args that are not plain CBOR)."""
    check_plain(req.args, 64)
    body: dict[str, Any] = {
        "v": WIRE_VERSION,
        "m": req.machine_id,
        "verb": req.verb.value,
        "s": list(req.states),
        "a": cbor2.dumps(req.args) if req.args else b"",
    }
    if req.key:
        body["k"] = req.key
    return cbor2.dumps(body)


def decode_request(data: bytes, limits: RpcLimits) -> Request:
    """Parse a request body; :class:`RequestError` (``malformed`` / ``bad_args``)."""
    try:
        body = cbor2.loads(data)
    except Exception as e:  # cbor2 raises several types, RecursionError included
        raise RequestError(ErrorKind.MALFORMED, f"not CBOR: {type(e).__name__}") from None
    if not isinstance(body, dict) or body.get("v") != WIRE_VERSION:
        raise RequestError(ErrorKind.MALFORMED, f"not a v{WIRE_VERSION} request map")
    mid, verb, states, raw_args, key = (
        body.get("m"),
        body.get("verb"),
        body.get("s", []),
        body.get("a", b""),
        body.get("k", ""),
    )
    if not isinstance(mid, str) or not mid:
        raise RequestError(ErrorKind.MALFORMED, "machine id must be a non-empty string")
    try:
        v = Verb(str(verb))
    except ValueError:
        raise RequestError(ErrorKind.MALFORMED, f"unknown verb {verb!r}") from None
    if not isinstance(states, list) or not all(isinstance(s, str) for s in states):
        raise RequestError(ErrorKind.MALFORMED, "states must be a list of strings")
    if not isinstance(key, str) or not isinstance(raw_args, bytes):
        raise RequestError(ErrorKind.MALFORMED, "bad key or args field")
    if v in SINGLE_STATE_VERBS and len(states) != 1:
        raise RequestError(ErrorKind.MALFORMED, f"{v} takes exactly one state")
    return Request(mid, v, tuple(states), _decode_args(raw_args, limits), key)


def _decode_args(raw: bytes, limits: RpcLimits) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        args = cbor2.loads(raw)
    except Exception as e:
        raise RequestError(ErrorKind.BAD_ARGS, f"args are not CBOR: {type(e).__name__}") from None
    if not isinstance(args, dict):
        raise RequestError(ErrorKind.BAD_ARGS, "args must be a map")
    try:
        check_plain(args, limits.max_depth)
    except ValueError as e:
        raise RequestError(ErrorKind.BAD_ARGS, str(e)) from None
    return args


def encode_reply(reply: Reply) -> bytes:
    body: dict[str, Any] = {"v": WIRE_VERSION, "r": reply.result, "t": list(reply.time)}
    if reply.value is not None:
        body["val"] = reply.value
    if reply.error is not None:
        body["e"] = reply.error.value
        body["msg"] = reply.message
    return cbor2.dumps(body)


def decode_reply(data: bytes) -> Reply:
    """Parse a response body; ValueError when it isn't one."""
    body = cbor2.loads(data)
    if not isinstance(body, dict) or body.get("v") != WIRE_VERSION:
        raise ValueError("not a reply map")
    result, time = body.get("r"), body.get("t", [])
    if not isinstance(result, int) or result < 0:
        raise ValueError("bad result")
    if not isinstance(time, list) or not all(isinstance(t, int) for t in time):
        raise ValueError("bad time")
    err = body.get("e")
    return Reply(
        result,
        tuple(time),
        body.get("val"),
        ErrorKind(err) if err is not None else None,
        str(body.get("msg", "")),
    )


def request_states(states: Sequence[str] | str) -> tuple[str, ...]:
    """A state list from one name or many (a bare string is one state, not letters)."""
    return (states,) if isinstance(states, str) else tuple(states)


__all__ = [
    "CALLER_ARG",
    "PROTOCOL_ID",
    "ErrorKind",
    "Reply",
    "Request",
    "RequestError",
    "RpcLimits",
    "Verb",
    "check_plain",
    "decode_reply",
    "decode_request",
    "encode_reply",
    "encode_request",
]
