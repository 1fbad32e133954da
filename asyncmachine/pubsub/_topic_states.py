"""The Topic machine's schema (Go: pkg/pubsub/states/ss_topic.go, TopicStates).

Inherits Basic, Connected and Disposed (Go: pkg/states) and adds the Topic's
own states. Port additions (for the fixed defects): ``MsgGossip``,
``PeerDiscovered``, ``PeerRemoved``.
"""

from __future__ import annotations

from ..machine import (
    BASIC_SCHEMA,
    CONNECTED_SCHEMA,
    DISPOSED_SCHEMA,
    EXCEPTION,
    Schema,
    State,
    merge_schemas,
)


class TopicStatesDef:
    """State names of the Topic (Go: TopicStatesDef)."""

    # inherited (Basic, Connected, Disposed)
    Exception = EXCEPTION
    ErrNetwork = "ErrNetwork"
    ErrHandlerTimeout = "ErrHandlerTimeout"
    Start = "Start"
    Ready = "Ready"
    Healthcheck = "Healthcheck"
    Heartbeat = "Heartbeat"
    ErrConnecting = "ErrConnecting"
    Connecting = "Connecting"
    Connected = "Connected"
    Disconnecting = "Disconnecting"
    Disconnected = "Disconnected"
    RegisterDisposal = "RegisterDisposal"
    Disposing = "Disposing"
    Disposed = "Disposed"
    # errors
    ErrJoining = "ErrJoining"
    ErrListening = "ErrListening"
    # lifecycle
    Started = "Started"
    Joining = "Joining"
    Joined = "Joined"
    # work
    SendGossips = "SendGossips"
    SendUpdates = "SendUpdates"
    ReqMissingPeers = "ReqMissingPeers"
    ReqMissingUpdates = "ReqMissingUpdates"
    DoSendInfo = "DoSendInfo"
    SendInfo = "SendInfo"
    # events
    PeerJoined = "PeerJoined"
    PeerLeft = "PeerLeft"
    MsgInfo = "MsgInfo"
    MsgBye = "MsgBye"
    MsgUpdates = "MsgUpdates"
    MsgReqInfo = "MsgReqInfo"
    MsgReqUpdates = "MsgReqUpdates"
    MsgReceived = "MsgReceived"
    MsgGossip = "MsgGossip"  # port
    PeerDiscovered = "PeerDiscovered"  # port
    PeerRemoved = "PeerRemoved"  # port
    # status flags
    MissPeersByUpdates = "MissPeersByUpdates"
    MissPeersByGossip = "MissPeersByGossip"
    MissUpdatesByGossip = "MissUpdatesByGossip"
    # actions
    ListMachines = "ListMachines"
    SendMsg = "SendMsg"
    ProcessMsgs = "ProcessMsgs"


ss = TopicStatesDef

_J = [ss.Joined]

_TOPIC_OWN: Schema = {
    ss.ErrJoining: State(require=[EXCEPTION]),
    ss.ErrListening: State(require=[EXCEPTION]),
    ss.Started: State(require=[ss.Start]),
    ss.Joining: State(require=[ss.Connected], remove=[ss.Joined]),
    ss.Joined: State(require=[ss.Connected], remove=[ss.Joining]),
    ss.Ready: State(auto=True, require=_J),
    ss.Heartbeat: State(require=_J),
    ss.SendGossips: State(require=_J),
    ss.SendUpdates: State(require=_J),
    ss.ReqMissingPeers: State(require=_J),
    ss.ReqMissingUpdates: State(require=_J),
    ss.DoSendInfo: State(require=_J),
    ss.SendInfo: State(require=_J),
    ss.PeerJoined: State(multi=True, require=_J),
    ss.PeerLeft: State(multi=True, require=_J),
    ss.MsgInfo: State(multi=True, require=_J),
    ss.MsgBye: State(multi=True, require=_J),
    ss.MsgUpdates: State(multi=True, require=_J),
    ss.MsgReqInfo: State(multi=True, require=_J),
    ss.MsgReqUpdates: State(multi=True, require=_J),
    ss.MsgReceived: State(multi=True, require=_J),
    ss.MsgGossip: State(multi=True, require=_J),
    ss.PeerDiscovered: State(multi=True, require=_J),
    ss.PeerRemoved: State(multi=True, require=_J),
    ss.MissPeersByUpdates: State(multi=True, require=_J),
    ss.MissPeersByGossip: State(multi=True, require=_J),
    ss.MissUpdatesByGossip: State(multi=True, require=_J),
    ss.ListMachines: State(multi=True, require=_J),
    ss.SendMsg: State(multi=True, require=_J),
    ss.ProcessMsgs: State(multi=True, require=_J),
}

TOPIC_SCHEMA: Schema = merge_schemas(BASIC_SCHEMA, CONNECTED_SCHEMA, DISPOSED_SCHEMA, _TOPIC_OWN)
"""Go: TopicSchema (Basic + Connected + Disposed + the Topic's states)."""

TOPIC_STATE_NAMES: list[str] = list(TOPIC_SCHEMA)
"""Declaration order (Go: TopicStates.Names())."""
