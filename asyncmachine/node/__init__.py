"""A runnable p2p node: identity, listen/bootstrap, exposed machines, status, console.

``Node`` is the embeddable API (an async context manager); ``asyncmachine node``
(:mod:`asyncmachine.cli._node`) runs one from the command line. See docs/node.md.
"""

from ._config import (
    DATA_ENV,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DEMO_INTERVAL,
    DEFAULT_LISTEN,
    DEFAULT_STATUS_INTERVAL,
    DEFAULT_TOPIC,
    ConfigError,
    NodeConfig,
    default_data_dir,
    load_identity,
)
from ._demo import DEMO_SCHEMA, demo_machine, drive_demo
from ._events import NodeEvent, NodeEventKind, NodeObserver, StateChange, diff_times
from ._loader import LoadError, file_allow, load_entry_point, load_exposed, load_schema_file
from ._node import Node
from ._runner import run

__all__ = [
    "DATA_ENV",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DEMO_INTERVAL",
    "DEFAULT_LISTEN",
    "DEFAULT_STATUS_INTERVAL",
    "DEFAULT_TOPIC",
    "DEMO_SCHEMA",
    "ConfigError",
    "LoadError",
    "Node",
    "NodeConfig",
    "NodeEvent",
    "NodeEventKind",
    "NodeObserver",
    "StateChange",
    "default_data_dir",
    "demo_machine",
    "diff_times",
    "drive_demo",
    "file_allow",
    "load_entry_point",
    "load_exposed",
    "load_identity",
    "load_schema_file",
    "run",
]
