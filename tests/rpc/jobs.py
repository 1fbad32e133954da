"""Job functions for the worker-pool tests (imported by the worker processes)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def square(value: Any) -> dict[str, Any]:
    """``{"n": n, "sleep": s}`` → ``{"n": n, "square": n * n, "pid": ...}``; n < 0 raises.

    With ``"hold": path`` and ``"hold_n": n``, job n's first run writes its pid to
    ``path`` and then blocks (tests kill that process: the retry runs at once)."""
    n = int(value["n"])
    if n < 0:
        raise ValueError(f"negative: {n}")
    hold = value.get("hold")
    if hold and n == value.get("hold_n") and not Path(hold).exists():
        Path(hold).write_text(str(os.getpid()))
        time.sleep(60)
    time.sleep(float(value.get("sleep", 0)))
    return {"n": n, "square": n * n, "pid": os.getpid()}


def factory() -> Callable[[Any], Any]:
    return square
