"""Fixtures of the network-namespace tests: skipped only where namespaces cannot be made."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.netns.netns_helpers import netns_unavailable


@pytest.fixture(scope="session")
def netns_ok() -> Iterator[None]:
    """Skip (with the reason) when this kernel/user cannot create network namespaces."""
    reason = netns_unavailable()
    if reason is not None:
        pytest.skip(f"no network namespaces: {reason}")
    yield
