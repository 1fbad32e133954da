"""Job functions for the worker-pool tests (imported by the worker processes)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any


def square(value: Any) -> dict[str, Any]:
    """``{"n": n, "sleep": s}`` → ``{"n": n, "square": n * n, "pid": ...}``; n < 0 raises."""
    n = int(value["n"])
    if n < 0:
        raise ValueError(f"negative: {n}")
    time.sleep(float(value.get("sleep", 0)))
    return {"n": n, "square": n * n, "pid": os.getpid()}


def factory() -> Callable[[Any], Any]:
    return square
