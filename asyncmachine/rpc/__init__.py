"""Acting on remote machines: authorized remote mutations over libp2p streams, and
worker pools found over pubsub (Go: pkg/rpc, pkg/node).

Owner::

    async with open_topic("demo", expose=[mach]) as topic, rpc.serve(topic) as server:
        server.expose(mach, allow={"*": ["Bar"], "12D3KooW...": ["Foo", "Bar"]})

Caller (connected to the owner)::

    res = await rpc.remote(topic, "mach").add1("Bar", {"n": 2})   # RemoteResult
    await rpc.remote(topic, "mach").when_synced(res.time)         # the mirror caught up

Default deny; the caller is the connection's authenticated peer id. See docs/rpc.md.
"""

from ._access import ANY_PEER, AccessPolicy, Allow, merge_allow, parse_allow
from ._client import NetworkMachine, RpcClient, client_of, remote
from ._errors import (
    RemoteCallerError,
    RemoteError,
    RemoteHandlerError,
    RemoteResult,
    RemoteTimeoutError,
    RemoteUnreachableError,
)
from ._limiter import RpcRates
from ._protocol import (
    CALLER_ARG,
    PROTOCOL_ID,
    ErrorKind,
    Reply,
    Request,
    RpcLimits,
    Verb,
    decode_request,
    encode_request,
)
from ._server import RpcCounters, RpcServer, ValueGetter, serve

__all__ = [
    "ANY_PEER",
    "CALLER_ARG",
    "PROTOCOL_ID",
    "AccessPolicy",
    "Allow",
    "ErrorKind",
    "NetworkMachine",
    "RemoteCallerError",
    "RemoteError",
    "RemoteHandlerError",
    "RemoteResult",
    "RemoteTimeoutError",
    "RemoteUnreachableError",
    "Reply",
    "Request",
    "RpcClient",
    "RpcCounters",
    "RpcLimits",
    "RpcRates",
    "RpcServer",
    "ValueGetter",
    "Verb",
    "client_of",
    "decode_request",
    "encode_request",
    "merge_allow",
    "parse_allow",
    "remote",
    "serve",
]
