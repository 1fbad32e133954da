"""A runnable p2p node: identity, listen/bootstrap, exposed machines, status, console.

``Node`` is the embeddable API (an async context manager); ``asyncmachine node``
(:mod:`asyncmachine.cli.node`) runs one from the command line. See docs/node.md.
"""

from .config import ConfigError, NodeConfig, load_identity
from .demo import DEMO_SCHEMA, demo_machine, drive_demo
from .loader import LoadError, load_entry_point, load_exposed, load_schema_file
from .node import Node, NodeEvent, NodeEventKind, StateChange

__all__ = [
    "DEMO_SCHEMA",
    "ConfigError",
    "LoadError",
    "Node",
    "NodeConfig",
    "NodeEvent",
    "NodeEventKind",
    "StateChange",
    "demo_machine",
    "drive_demo",
    "load_entry_point",
    "load_exposed",
    "load_identity",
    "load_schema_file",
]
