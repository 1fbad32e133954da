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
from ._console import remote_command
from ._errors import (
    RemoteCallerError,
    RemoteError,
    RemoteHandlerError,
    RemoteResult,
    RemoteTimeoutError,
    RemoteUnreachableError,
)
from ._jobs import JobClient, JobResult, JobSettings, JobStats, run_jobs
from ._limiter import RpcRates
from ._pool import POOL_SCHEMA, WorkerPool, run_pool
from ._proc import WorkerDiedError, load_target
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
from ._serving import parse_workers, serve_node
from ._worker import CLIENT_STATES, WORKER_SCHEMA, WorkerSlot, WorkerStatesDef, worker_tag, ws

__all__ = [
    "ANY_PEER",
    "CALLER_ARG",
    "CLIENT_STATES",
    "POOL_SCHEMA",
    "PROTOCOL_ID",
    "WORKER_SCHEMA",
    "AccessPolicy",
    "Allow",
    "ErrorKind",
    "JobClient",
    "JobResult",
    "JobSettings",
    "JobStats",
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
    "WorkerDiedError",
    "WorkerPool",
    "WorkerSlot",
    "WorkerStatesDef",
    "client_of",
    "decode_request",
    "encode_request",
    "load_target",
    "merge_allow",
    "parse_allow",
    "parse_workers",
    "remote",
    "remote_command",
    "run_jobs",
    "run_pool",
    "serve",
    "serve_node",
    "worker_tag",
    "ws",
]
