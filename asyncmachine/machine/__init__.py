"""The clock-based state machine, a port of asyncmachine-go's pkg/machine."""

from .base import MachineBase
from .clock import Clock, Time, activations, is_active_tick, next_active_in, next_inactive_in
from .errors import (
    AsyncMachineError,
    EvalTimeoutError,
    HandlerError,
    HandlerTimeoutError,
    InvalidArgsError,
    SchemaError,
    StateMissingError,
)
from .machine import LogLevel, Machine
from .mirror import ReadOnlyMachine
from .mutation import EXCEPTION_ARG, Event, ExceptionArgs, Mutation, MutationSource
from .result import MutationType, Result
from .schema import (
    EXCEPTION,
    CompiledSchema,
    Schema,
    State,
    merge_schemas,
    prefix_schema,
    schema_hash,
    states_by_tag,
)
from .schemas import BASIC_SCHEMA, CONNECTED_SCHEMA, DISPOSED_SCHEMA
from .transition import Transition

__all__ = [
    "BASIC_SCHEMA",
    "CONNECTED_SCHEMA",
    "DISPOSED_SCHEMA",
    "EXCEPTION",
    "EXCEPTION_ARG",
    "AsyncMachineError",
    "Clock",
    "CompiledSchema",
    "EvalTimeoutError",
    "Event",
    "ExceptionArgs",
    "HandlerError",
    "HandlerTimeoutError",
    "InvalidArgsError",
    "LogLevel",
    "Machine",
    "MachineBase",
    "Mutation",
    "MutationSource",
    "MutationType",
    "ReadOnlyMachine",
    "Result",
    "Schema",
    "SchemaError",
    "State",
    "StateMissingError",
    "Time",
    "Transition",
    "activations",
    "is_active_tick",
    "merge_schemas",
    "next_active_in",
    "next_inactive_in",
    "prefix_schema",
    "schema_hash",
    "states_by_tag",
]
