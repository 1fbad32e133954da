"""How much a machine logs, and the ``AM_LOG`` environment default (Go: LogLevel)."""

from __future__ import annotations

import enum
import os


class LogLevel(enum.IntEnum):
    """How much a machine logs (Go: LogLevel)."""

    NOTHING = 0
    EXTERNAL = 1
    CHANGES = 2
    OPS = 3
    DECISIONS = 4
    EVERYTHING = 5


def _env_log_level() -> LogLevel:
    try:
        return LogLevel(int(os.environ.get("AM_LOG", "0")))
    except ValueError:
        return LogLevel.NOTHING
