"""Serving remote mutations of exposed machines (Go: pkg/rpc's server side).

``async with serve(topic) as server: server.expose(mach, allow={"*": ["Bar"]})``
registers the stream protocol on the topic's libp2p host. Every request is
answered (refusals included, so the caller knows) except streams that break or
stall; every refusal is counted per reason in :attr:`RpcServer.counters`, and
nothing refused touches a machine.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from ..machine import EXCEPTION, Machine, Result
from ..pubsub import Topic
from ._access import AccessPolicy, Allow
from ._errors import RemoteCallerError
from ._host import libp2p_host
from ._limiter import PeerLimiter, RpcRates
from ._protocol import (
    CALLER_ARG,
    PROTOCOL_ID,
    ErrorKind,
    Reply,
    Request,
    RequestError,
    RpcLimits,
    Verb,
    check_plain,
    decode_request,
    encode_reply,
)

if TYPE_CHECKING:
    from libp2p.abc import INetStream

log = logging.getLogger(__name__)

ValueGetter = Callable[[str], Any]
"""``fn(caller_peer_id) -> value`` for ``get``; PermissionError answers ``denied``."""


@dataclass(slots=True)
class RpcCounters:
    """What the server did: mutations by result (``handler_errors`` of them canceled by a
    raising handler), values read, and refusals by reason (nothing refused ran)."""

    executed: int = 0
    canceled: int = 0
    queued: int = 0
    handler_errors: int = 0
    values: int = 0
    refused: Counter[ErrorKind] = field(default_factory=Counter)

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())


@dataclass(slots=True)
class _Exposed:
    mach: Machine
    policy: AccessPolicy
    values: dict[str, ValueGetter]
    errors: list[BaseException] | None = None
    """Errors raised by handlers during the call being served (None: not serving)."""


class RpcServer:
    """Answers remote calls for the machines given to :meth:`expose` (create with
    :func:`serve`). :meth:`call` is the transport-free core, handy in tests."""

    def __init__(
        self, topic: Topic, limits: RpcLimits | None = None, rates: RpcRates | None = None
    ) -> None:
        self.topic = topic
        self.limits = limits or RpcLimits()
        self.limiter = PeerLimiter(rates or RpcRates())
        self.counters = RpcCounters()
        self._machines: dict[str, _Exposed] = {}

    def expose(
        self,
        mach: Machine,
        allow: Allow | None = None,
        values: Mapping[str, ValueGetter] | None = None,
    ) -> None:
        """Serve ``mach``: peers in ``allow`` may mutate the listed states (default: nobody),
        ``values`` are readable with ``get``. Exposes it on the topic too, if it isn't.
        ValueError for an allow-list naming states the machine doesn't have."""
        policy = AccessPolicy(allow)
        if unknown := policy.check_states(mach.state_names()):
            raise ValueError(f"allow for {mach.id}: unknown states {', '.join(unknown)}")
        if mach.id in self._machines:
            raise ValueError(f"machine {mach.id} is already served")
        if not any(m is mach for m in self.topic.exposed()):
            self.topic.expose(mach)
        ex = _Exposed(mach, policy, dict(values or {}))

        def on_error(_m: Machine, err: BaseException) -> None:
            if ex.errors is not None:
                ex.errors.append(err)

        mach.on_error(on_error)
        self._machines[mach.id] = ex

    def policy(self, machine_id: str) -> AccessPolicy | None:
        ex = self._machines.get(machine_id)
        return ex.policy if ex is not None else None

    # --- the core -------------------------------------------------------------

    def call(self, req: Request, caller: str) -> Reply:
        """Check and run one request from ``caller`` (an authenticated peer id)."""
        ex = self._machines.get(req.machine_id)
        if ex is None or ex.mach.is_disposed():
            return self._refuse(ErrorKind.UNKNOWN_MACHINE, f"no machine {req.machine_id!r}")
        mach = ex.mach
        if req.verb is Verb.GET:
            return self._get(ex, req.key, caller)
        if unknown := [s for s in req.states if not mach.has1(s)]:
            return self._refuse(ErrorKind.UNKNOWN_STATE, f"unknown states {', '.join(unknown)}")
        touched = list(req.states)
        if req.verb is Verb.ADD_ERR:
            touched.append(EXCEPTION)
        elif req.verb is Verb.SET:  # set also deactivates every other active state
            touched += [s for s in mach.active_states() if s not in req.states]
        if not ex.policy.allows(caller, touched):
            return self._refuse(ErrorKind.DENIED, f"{caller[-6:]} may not change {touched}")
        args = dict(req.args)
        args[CALLER_ARG] = caller
        ex.errors = []
        try:
            res = _dispatch(mach, req, args)
        except Exception as e:  # a bad mutation the machine itself refused to queue
            return self._refuse(ErrorKind.BAD_ARGS, f"{type(e).__name__}: {e}")
        finally:
            errors, ex.errors = ex.errors, None
        self._count(res)
        time = tuple(mach.time())
        if errors and req.verb is not Verb.ADD_ERR:
            err = errors[0]
            self.counters.handler_errors += 1
            msg = f"{type(err).__name__}: {err}"
            return Reply(int(res), time, error=ErrorKind.HANDLER_ERROR, message=msg)
        return Reply(int(res), time)

    def _get(self, ex: _Exposed, key: str, caller: str) -> Reply:
        getter = ex.values.get(key)
        if getter is None:
            return self._refuse(ErrorKind.UNKNOWN_KEY, f"no value {key!r}")
        try:
            value = getter(caller)
            check_plain(value, self.limits.max_depth, key)
        except PermissionError as e:
            return self._refuse(ErrorKind.DENIED, str(e) or f"{key} is not yours")
        except Exception as e:
            self.counters.handler_errors += 1
            msg = f"{type(e).__name__}: {e}"
            return Reply(int(Result.CANCELED), error=ErrorKind.HANDLER_ERROR, message=msg)
        self.counters.values += 1
        return Reply(0, tuple(ex.mach.time()), value=value)

    def _count(self, res: Result) -> None:
        c = self.counters
        if res == Result.EXECUTED:
            c.executed += 1
        elif res == Result.CANCELED:
            c.canceled += 1
        else:
            c.queued += 1

    def _refuse(self, kind: ErrorKind, message: str) -> Reply:
        self.counters.refused[kind] += 1
        return Reply(int(Result.CANCELED), error=kind, message=message)

    # --- the stream -------------------------------------------------------------

    async def handle_stream(self, stream: INetStream) -> None:
        """One request, one reply; a stalled or broken stream is reset, never raised."""
        peer = stream.muxed_conn.peer_id.to_base58()
        if not self.limiter.take(peer):
            await self._answer(stream, self._refuse(ErrorKind.RATE_LIMITED, "too many requests"))
            return
        try:
            reply: Reply | None = None
            with trio.move_on_after(self.limits.read_timeout) as cs:
                reply = await self._read_and_call(stream, peer)
            if reply is None:  # unreadable (counted) or incomplete in time
                if cs.cancelled_caught:
                    self.counters.refused[ErrorKind.MALFORMED] += 1
                await _reset(stream)
                return
            await self._answer(stream, reply)
        finally:
            self.limiter.done(peer)

    async def _read_and_call(self, stream: INetStream, peer: str) -> Reply | None:
        from libp2p.io.utils import read_exactly
        from libp2p.utils.varint import decode_uvarint_from_stream

        try:
            size = await decode_uvarint_from_stream(stream)
            if size > self.limits.max_request_bytes:
                cap = self.limits.max_request_bytes
                return self._refuse(ErrorKind.TOO_LARGE, f"request of {size} bytes > {cap}")
            data = await read_exactly(stream, size)
        except Exception as e:  # reset, EOF, a bad varint: nothing to answer
            log.debug("rpc: unreadable request from %s: %r", peer, e)
            self.counters.refused[ErrorKind.MALFORMED] += 1
            return None
        try:
            req = decode_request(data, self.limits)
        except RequestError as e:
            return self._refuse(e.kind, str(e))
        return self.call(req, peer)

    async def _answer(self, stream: INetStream, reply: Reply) -> None:
        from libp2p.utils.varint import encode_uvarint

        body = encode_reply(reply)
        if len(body) > self.limits.max_response_bytes:
            msg = f"reply of {len(body)} bytes > {self.limits.max_response_bytes}"
            body = encode_reply(self._refuse(ErrorKind.TOO_LARGE, msg))
        try:
            await stream.write(encode_uvarint(len(body)) + body)
            await stream.close()
        except Exception as e:
            log.debug("rpc: reply not delivered: %r", e)
            await _reset(stream)


async def _reset(stream: INetStream) -> None:
    try:
        await stream.reset()
    except Exception:
        log.debug("rpc: stream reset failed", exc_info=True)


def _dispatch(mach: Machine, req: Request, args: dict[str, Any]) -> Result:
    s = list(req.states)
    v = req.verb
    if v is Verb.ADD or v is Verb.ADD1:
        return mach.add(s, args)
    if v is Verb.REMOVE or v is Verb.REMOVE1:
        return mach.remove(s, args)
    if v is Verb.SET:
        return mach.set(s, args)
    if v is Verb.TOGGLE:
        return mach.toggle(s, args)
    message = args.pop("err", "")
    err = RemoteCallerError(f"from {args[CALLER_ARG]}: {message}")
    if s:
        return mach.add_err_state(s[0], err, args)
    return mach.add_err(err, args)


@asynccontextmanager
async def serve(
    topic: Topic, *, limits: RpcLimits | None = None, rates: RpcRates | None = None
) -> AsyncIterator[RpcServer]:
    """Answer remote calls on ``topic``'s libp2p host until the block exits."""
    from libp2p.custom_types import TProtocol

    host = libp2p_host(topic)
    server = RpcServer(topic, limits, rates)
    proto = TProtocol(PROTOCOL_ID)
    host.set_stream_handler(proto, server.handle_stream)
    try:
        yield server
    finally:
        host.remove_stream_handler(proto)


__all__ = ["RpcCounters", "RpcServer", "ValueGetter", "serve"]
