"""The ``--events`` JSON-lines writer (see :data:`~._schema.EVENT_SCHEMA`)."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ._options import TelemetryError
from ._schema import EventType

log = logging.getLogger(__name__)
_json = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(..., separators) is slow


class EventWriter:
    """Appends one JSON object per line to a file, or writes them to stdout (``-``).

    A file is flushed by :meth:`flush` (the telemetry task calls it twice a second)
    and on close; stdout is flushed per line, as other programs read it live. A write
    error is logged once and turns the writer off: the node keeps running.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.node = ""
        """The own peer id, put into every line (set when the node starts)."""
        self._stdout = target == "-"
        self._failed = False
        if self._stdout:
            self._out: TextIO = sys.stdout
            return
        path = Path(target).expanduser()
        try:
            self._out = path.open("a", encoding="utf-8")
        except OSError as e:
            raise TelemetryError(
                f"cannot write --events file {target!r}: {e.strerror or e}"
            ) from None

    def emit(self, kind: EventType, **fields: Any) -> None:
        if self._failed:
            return
        doc = {"ts": time.time(), "node": self.node, "kind": kind.value, **fields}
        try:
            self._out.write(_json(doc) + "\n")
            if self._stdout:
                self._out.flush()
        except (OSError, ValueError) as e:
            self._fail(e)

    def flush(self) -> None:
        if self._failed:
            return
        try:
            self._out.flush()
        except (OSError, ValueError) as e:
            self._fail(e)

    def _fail(self, e: Exception) -> None:
        self._failed = True
        log.error("--events %s: write failed, no more events: %s", self.target, e)

    def close(self) -> None:
        self.flush()
        if not self._stdout:
            self._out.close()
