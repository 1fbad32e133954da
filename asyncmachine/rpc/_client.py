"""Calling remote machines (Go: pkg/rpc's client, NetworkMachine).

``await remote(topic, "worker").add1("Foo", {"n": 2})`` reads like the local verb,
awaited. Checks and waits stay on the mirror (:attr:`NetworkMachine.mirror`), which
the owner's gossip keeps up to date; :meth:`NetworkMachine.when_synced` waits until
the mirror has caught up with a result's time.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..machine import ReadOnlyMachine
from ..pubsub import Topic
from ._errors import (
    RemoteError,
    RemoteHandlerError,
    RemoteResult,
    RemoteTimeoutError,
    RemoteUnreachableError,
)
from ._host import libp2p_host
from ._protocol import (
    PROTOCOL_ID,
    ErrorKind,
    Reply,
    Request,
    RpcLimits,
    Verb,
    decode_reply,
    encode_request,
    request_states,
)

if TYPE_CHECKING:
    from libp2p.request_response import RequestResponse

_CLIENTS: weakref.WeakKeyDictionary[Topic, dict[RpcLimits, RpcClient]] = weakref.WeakKeyDictionary()


class RpcClient:
    """Sends requests from ``topic``'s libp2p host through py-libp2p's
    ``request_response`` (one stream per call, varint-framed)."""

    def __init__(self, topic: Topic, limits: RpcLimits | None = None) -> None:
        self.topic = topic
        self.limits = limits or RpcLimits()
        self._rr: RequestResponse | None = None

    async def request(self, peer_id: str, req: Request) -> Reply:
        """Send one request to ``peer_id`` and return its reply (errors included);
        :class:`RemoteTimeoutError` / :class:`RemoteUnreachableError` without one."""
        from libp2p.custom_types import TProtocol
        from libp2p.peer.id import ID
        from libp2p.request_response import (
            BytesCodec,
            MessageTooLargeError,
            RequestResponse,
            RequestResponseConfig,
            RequestResponseError,
            RequestTimeoutError,
        )

        if self._rr is None:
            self._rr = RequestResponse(libp2p_host(self.topic))
        lim = self.limits
        try:
            body = encode_request(req)
        except ValueError as e:
            raise RemoteError(ErrorKind.BAD_ARGS, str(e), req.machine_id) from None
        if len(body) > lim.max_request_bytes:
            msg = f"request of {len(body)} bytes > {lim.max_request_bytes}"
            raise RemoteError(ErrorKind.TOO_LARGE, msg, req.machine_id)
        cfg = RequestResponseConfig(
            timeout=lim.timeout,
            max_request_size=lim.max_request_bytes,
            max_response_size=lim.max_response_bytes,
        )
        try:
            pid = ID.from_base58(peer_id)
        except Exception:
            raise RemoteError(ErrorKind.UNREACHABLE, f"bad peer id {peer_id!r}") from None
        try:
            data = await self._rr.send_request(
                pid, [TProtocol(PROTOCOL_ID)], body, BytesCodec(), cfg
            )
        except RequestTimeoutError:
            msg = f"no answer from {peer_id[-6:]} in {lim.timeout:g}s"
            raise RemoteTimeoutError(ErrorKind.TIMEOUT, msg, req.machine_id) from None
        except MessageTooLargeError as e:
            raise RemoteError(ErrorKind.TOO_LARGE, str(e), req.machine_id) from None
        except RequestResponseError as e:
            msg = f"{peer_id[-6:]}: {type(e).__name__}: {e}"
            raise RemoteUnreachableError(ErrorKind.UNREACHABLE, msg, req.machine_id) from None
        try:
            return decode_reply(data)
        except Exception as e:
            raise RemoteError(ErrorKind.MALFORMED, f"bad reply: {e}", req.machine_id) from None


def client_of(topic: Topic, limits: RpcLimits | None = None) -> RpcClient:
    """The topic's shared :class:`RpcClient` for these limits (created on first use)."""
    lim = limits or RpcLimits()
    clients = _CLIENTS.setdefault(topic, {})
    client = clients.get(lim)
    if client is None:
        client = clients[lim] = RpcClient(topic, lim)
    return client


class NetworkMachine:
    """A remote machine with the local verbs, awaited (Go: rpc.NetworkMachine).

    Mutations return :class:`RemoteResult` (equal to the local ``Result``; a handler
    error is a canceled result with ``.error``) and raise :class:`RemoteError` for
    every refusal (``kind``: denied, unknown state, rate limited, ...),
    :class:`RemoteTimeoutError` and :class:`RemoteUnreachableError`.
    """

    def __init__(self, client: RpcClient, machine_id: str, peer_id: str = "") -> None:
        self.client = client
        self.id = machine_id
        self._peer_id = peer_id

    @property
    def peer_id(self) -> str:
        """The owner's peer id: given, or found among the topic's mirrors."""
        if self._peer_id:
            return self._peer_id
        owners = {rm.peer_id for rm in self.client.topic.remote_machines(id=self.id)}
        if len(owners) > 1:
            raise ValueError(f"machine {self.id!r} is on {len(owners)} peers: pass peer_id")
        if not owners:
            raise RemoteError(ErrorKind.UNKNOWN_MACHINE, "not discovered (yet)", self.id)
        self._peer_id = owners.pop()
        return self._peer_id

    @property
    def mirror(self) -> ReadOnlyMachine | None:
        """The read-only mirror of this machine (checks and waits), once discovered."""
        found = self.client.topic.list_machines(id=self.id, peer_id=self.peer_id)
        return found[0] if found else None

    async def call(
        self,
        verb: Verb,
        states: Sequence[str] | str = (),
        args: dict[str, Any] | None = None,
        key: str = "",
    ) -> Reply:
        """One raw request; the reply as sent (errors not raised)."""
        req = Request(self.id, verb, request_states(states), dict(args or {}), key)
        return await self.client.request(self.peer_id, req)

    async def _mutate(
        self, verb: Verb, states: Sequence[str] | str, args: dict[str, Any] | None
    ) -> RemoteResult:
        reply = await self.call(verb, states, args)
        if reply.error is ErrorKind.HANDLER_ERROR:
            return RemoteResult(reply.result, reply.time, RemoteHandlerError(reply.message))
        if reply.error is not None:
            raise RemoteError(reply.error, reply.message, self.id)
        return RemoteResult(reply.result, reply.time)

    async def add(self, states: Sequence[str], args: dict[str, Any] | None = None) -> RemoteResult:
        """Go: Add."""
        return await self._mutate(Verb.ADD, states, args)

    async def add1(self, state: str, args: dict[str, Any] | None = None) -> RemoteResult:
        """Go: Add1."""
        return await self._mutate(Verb.ADD1, [state], args)

    async def remove(
        self, states: Sequence[str], args: dict[str, Any] | None = None
    ) -> RemoteResult:
        """Go: Remove."""
        return await self._mutate(Verb.REMOVE, states, args)

    async def remove1(self, state: str, args: dict[str, Any] | None = None) -> RemoteResult:
        """Go: Remove1."""
        return await self._mutate(Verb.REMOVE1, [state], args)

    async def set(self, states: Sequence[str], args: dict[str, Any] | None = None) -> RemoteResult:
        """Go: Set (needs permission for the active states it would deactivate, too)."""
        return await self._mutate(Verb.SET, states, args)

    async def toggle(
        self, states: Sequence[str], args: dict[str, Any] | None = None
    ) -> RemoteResult:
        """Go: Toggle."""
        return await self._mutate(Verb.TOGGLE, states, args)

    async def add_err(
        self, message: str, args: dict[str, Any] | None = None, state: str = ""
    ) -> RemoteResult:
        """Go: AddErr / AddErrState, with the error as text (needs Exception allowed)."""
        return await self._mutate(
            Verb.ADD_ERR, [state] if state else [], {**(args or {}), "err": message}
        )

    async def get(self, key: str) -> Any:
        """A value the owner provides under ``key`` (e.g. a worker's result)."""
        reply = await self.call(Verb.GET, (), None, key)
        if reply.error is not None:
            raise RemoteError(reply.error, reply.message, self.id)
        return reply.value

    async def when_synced(self, time: Sequence[int]) -> ReadOnlyMachine:
        """Until the mirror's clock reached ``time`` (e.g. ``result.time``)."""
        from ..pubsub import MachineFilter

        topic = self.client.topic
        mirror = self.mirror or await topic.when_machine(
            MachineFilter(id=self.id, peer_id=self.peer_id)
        )
        await mirror.when_time(mirror.state_names(), list(time))
        return mirror


def remote(
    topic: Topic, machine_id: str, *, peer_id: str = "", limits: RpcLimits | None = None
) -> NetworkMachine:
    """A handle on ``machine_id`` owned by another peer of ``topic`` (its owner is found
    among the mirrors unless ``peer_id`` is given)."""
    return NetworkMachine(client_of(topic, limits), machine_id, peer_id)


__all__ = ["NetworkMachine", "RpcClient", "client_of", "remote"]
