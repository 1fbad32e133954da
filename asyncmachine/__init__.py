"""asyncmachine: clock-based Trio state machines gossiping over libp2p."""

from .machine import (
    EXCEPTION,
    Event,
    Machine,
    MutationType,
    Result,
    Schema,
    State,
    StateMissingError,
    Transition,
)

__all__ = [
    "EXCEPTION",
    "Event",
    "Machine",
    "MutationType",
    "Result",
    "Schema",
    "State",
    "StateMissingError",
    "Transition",
]
__version__ = "0.1.0"
