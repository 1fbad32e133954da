"""Small state files of a node, kept per identity in its data directory.

A node with a key file (``--key``) keeps two files in ``--data-dir`` (default: the key's
directory), named after its peer id so that several keys can share one directory:

- ``<peer id>.peers.json``: the peers it has seen, to rejoin without its bootstrap peers
  (:mod:`asyncmachine.node._peers`);
- ``<peer id>.epoch``: the session epoch of its last run, so that a wall clock that went
  backwards between runs cannot make a new session look older than the last one.

Files are replaced atomically (a temporary file and a rename); an unreadable or corrupt file
is reported as one warning line and ignored, never a reason not to start.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Clock = Callable[[], int]
"""Wall-clock microseconds (``time.time_ns() // 1000`` outside tests)."""


def wall_clock_us() -> int:
    """Wall-clock microseconds since the Unix epoch."""
    return time.time_ns() // 1000


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: readers see the old or the new file, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path, what: str) -> Any | None:
    """The parsed JSON of ``path``; None (after one warning line) when it exists but
    cannot be read or parsed, None silently when it does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        log.warning("ignoring %s file %s: %s", what, path, getattr(e, "strerror", None) or e)
        return None
    try:
        return json.loads(text)
    except ValueError as e:
        log.warning("ignoring corrupt %s file %s: %s", what, path, e)
        return None


def next_epoch(last: int | None, now_us: int) -> int:
    """A session epoch newer than ``last`` even when the clock went backwards:
    ``max(now_us, last + 1)``."""
    return now_us if last is None else max(now_us, last + 1)


class EpochFile:
    """The last session epoch of one identity (``<peer id>.epoch``, one JSON integer).

    Go has no equivalent: asyncmachine-go's sessions are not ordered across restarts.
    """

    def __init__(self, path: Path, clock: Clock = wall_clock_us) -> None:
        self.path = path
        self.clock = clock

    def last(self) -> int | None:
        """The stored epoch, or None (missing, unreadable or not a positive integer)."""
        value = read_json(self.path, "epoch")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            log.warning("ignoring corrupt epoch file %s: not a positive integer", self.path)
            return None
        return value

    def claim(self) -> int:
        """The epoch of a new session, stored before it is used (a crash right after
        start still counts). A failed write is a warning: the epoch is still valid."""
        epoch = next_epoch(self.last(), self.clock())
        try:
            atomic_write(self.path, f"{epoch}\n")
        except OSError as e:
            log.warning("cannot save the session epoch to %s: %s", self.path, e.strerror or e)
        return epoch


__all__ = ["Clock", "EpochFile", "atomic_write", "next_epoch", "read_json", "wall_clock_us"]
