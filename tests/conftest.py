"""Fixtures shared by the whole suite.

Helpers that tests call directly (machine builders, waits, settings) live in the
``helpers`` modules: ``tests/helpers.py`` (constants of every folder),
``tests/pubsub/helpers.py`` (network tests), ``tests/machine/mach_helpers.py``,
``tests/graph/graph_helpers.py`` and ``tests/node/node_helpers.py``.
"""

from __future__ import annotations

import pytest

from asyncmachine.pubsub import MemoryNetwork


@pytest.fixture
def net() -> MemoryNetwork:
    """A fresh in-memory gossip network (one per test: no state leaks between tests)."""
    return MemoryNetwork()
