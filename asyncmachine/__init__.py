"""asyncmachine: clock-based Trio state machines gossiping over libp2p."""

from .machine import (
    EXCEPTION,
    Event,
    Machine,
    MachineDisposedError,
    MutationType,
    Result,
    Schema,
    State,
    StateMissingError,
    Tracer,
    TracerBase,
    Transition,
)

__all__ = [
    "EXCEPTION",
    "Event",
    "Machine",
    "MachineDisposedError",
    "MutationType",
    "Result",
    "Schema",
    "State",
    "StateMissingError",
    "Tracer",
    "TracerBase",
    "Transition",
]
__version__ = "0.1.0"
