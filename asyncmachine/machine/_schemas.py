"""Reusable schemas, ported from asyncmachine-go's pkg/states.

Merge them into your own with :func:`merge_schemas`, e.g.
``merge_schemas(BASIC_SCHEMA, CONNECTED_SCHEMA, {"Foo": State()})``.
"""

from __future__ import annotations

from ._schema import EXCEPTION, Schema, State

# Basic (Go: states.BasicSchema) --------------------------------------------

ERR_NETWORK = "ErrNetwork"
ERR_HANDLER_TIMEOUT = "ErrHandlerTimeout"
START = "Start"
READY = "Ready"
HEALTHCHECK = "Healthcheck"
HEARTBEAT = "Heartbeat"

BASIC_SCHEMA: Schema = {
    EXCEPTION: State(multi=True),
    ERR_NETWORK: State(multi=True, add=[EXCEPTION], require=[EXCEPTION]),
    ERR_HANDLER_TIMEOUT: State(multi=True, add=[EXCEPTION], require=[EXCEPTION]),
    START: State(),
    READY: State(require=[START]),
    HEALTHCHECK: State(multi=True),
    HEARTBEAT: State(),
}

# Connected (Go: states.ConnectedSchema); needs Start -------------------------

ERR_CONNECTING = "ErrConnecting"
CONNECTING = "Connecting"
CONNECTED = "Connected"
DISCONNECTING = "Disconnecting"
DISCONNECTED = "Disconnected"
CONNECTED_GROUP = (CONNECTING, CONNECTED, DISCONNECTING, DISCONNECTED)
"""Mutually exclusive connection states (Go: group Connected)."""

CONNECTED_SCHEMA: Schema = {
    ERR_CONNECTING: State(require=[EXCEPTION]),
    CONNECTING: State(require=[START], remove=CONNECTED_GROUP),
    CONNECTED: State(require=[START], remove=CONNECTED_GROUP),
    DISCONNECTING: State(remove=CONNECTED_GROUP),
    DISCONNECTED: State(auto=True, remove=CONNECTED_GROUP),
}

# Disposed (Go: states.DisposedSchema); needs Start ---------------------------

REGISTER_DISPOSAL = "RegisterDisposal"
DISPOSING = "Disposing"
DISPOSED = "Disposed"

DISPOSED_SCHEMA: Schema = {
    REGISTER_DISPOSAL: State(multi=True),
    DISPOSING: State(remove=[START, EXCEPTION]),
    DISPOSED: State(remove=[START, EXCEPTION, DISPOSING]),
}
