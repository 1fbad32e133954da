"""Gossip of machine schemas and clocks over a gossip transport (Go: pkg/pubsub).

Every peer exposes local machines; every other peer sees them as read-only
mirrors (:class:`asyncmachine.machine.ReadOnlyMachine`) it can check and
await. See docs/pubsub.md for the protocol.
"""

from ._connect import ConnectionManager
from ._connect_book import AddressSource, DropReason
from ._connect_policy import (
    ConnectCounters,
    ConnectSettings,
    Dialer,
    TrimCandidate,
    TrimScore,
    diversity_score,
)
from ._events import EventKind, TopicEvent, TopicMetrics
from ._filter import FilterArgs, MachineFilter
from ._memory_transport import InboxTransport, MemoryNetwork, MemoryTransport
from ._registry import RemoteMachine
from ._settings import Budgets, RateLimits, TopicSettings
from ._topic import Topic, open_topic
from ._topic_states import TOPIC_SCHEMA, TOPIC_STATE_NAMES, TopicStatesDef
from ._transport import (
    AuthorSigned,
    GossipMessage,
    GossipTransport,
    PeerEvent,
    PeerEventKind,
    SelfOrganizing,
)
from ._wire import DecodeError, WireLimits, clear_caches

__all__ = [
    "TOPIC_SCHEMA",
    "TOPIC_STATE_NAMES",
    "AddressSource",
    "AuthorSigned",
    "Budgets",
    "ConnectCounters",
    "ConnectSettings",
    "ConnectionManager",
    "DecodeError",
    "Dialer",
    "DropReason",
    "EventKind",
    "FilterArgs",
    "GossipMessage",
    "GossipTransport",
    "InboxTransport",
    "MachineFilter",
    "MemoryNetwork",
    "MemoryTransport",
    "PeerEvent",
    "PeerEventKind",
    "RateLimits",
    "RemoteMachine",
    "SelfOrganizing",
    "Topic",
    "TopicEvent",
    "TopicMetrics",
    "TopicSettings",
    "TopicStatesDef",
    "TrimCandidate",
    "TrimScore",
    "WireLimits",
    "clear_caches",
    "diversity_score",
    "open_topic",
]
