"""The clock-based state machine, a port of asyncmachine-go's pkg/machine."""

from ._base import MachineBase
from ._clock import Clock, Time, activations, is_active_tick, next_active_in, next_inactive_in
from ._errors import (
    AsyncMachineError,
    EvalTimeoutError,
    HandlerTimeoutError,
    MachineDisposedError,
    SchemaError,
    StateMissingError,
)
from ._log_level import LogLevel
from ._machine import Machine
from ._mirror import ReadOnlyMachine
from ._mutation import EXCEPTION_ARG, Event, ExceptionArgs, Mutation, MutationSource
from ._result import MutationType, Result
from ._schema import (
    EXCEPTION,
    RELATIONS,
    CompiledSchema,
    Schema,
    State,
    merge_schemas,
    normalize_schema,
    prefix_schema,
    schema_hash,
    states_by_tag,
)
from ._schemas import BASIC_SCHEMA, CONNECTED_SCHEMA, DISPOSED_SCHEMA
from ._tracer import Tracer, TracerBase
from ._transition import Transition

__all__ = [
    "BASIC_SCHEMA",
    "CONNECTED_SCHEMA",
    "DISPOSED_SCHEMA",
    "EXCEPTION",
    "EXCEPTION_ARG",
    "RELATIONS",
    "AsyncMachineError",
    "Clock",
    "CompiledSchema",
    "EvalTimeoutError",
    "Event",
    "ExceptionArgs",
    "HandlerTimeoutError",
    "LogLevel",
    "Machine",
    "MachineBase",
    "MachineDisposedError",
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
    "Tracer",
    "TracerBase",
    "Transition",
    "activations",
    "is_active_tick",
    "merge_schemas",
    "next_active_in",
    "next_inactive_in",
    "normalize_schema",
    "prefix_schema",
    "schema_hash",
    "states_by_tag",
]
