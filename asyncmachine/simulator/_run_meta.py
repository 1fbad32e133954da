"""Run metadata for reports: when, with what code and on what host a run was made.

Numbers from a benchmark are only comparable with the code, the interpreter, py-libp2p
and the host that produced them; gossipsub evaluations print these first.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[2]
"""The checkout holding this package (when run from one)."""


def _commit() -> str | None:
    """``git rev-parse HEAD`` of the checkout this package runs from, or None (installed
    from a wheel, no git, not a repository)."""
    if not (_ROOT / ".git").exists():
        return None
    try:
        r = subprocess.run(
            ["git", "-C", str(_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = r.stdout.strip()
    return out if r.returncode == 0 and len(out) == 40 else None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def run_metadata(argv: list[str] | None = None) -> dict[str, Any]:
    """``date`` (UTC, ISO 8601), ``version`` and ``commit`` of asyncmachine, ``python``,
    ``libp2p`` (py-libp2p's version, None if not installed), ``platform``, ``cpus``
    (``os.cpu_count``) and the ``command`` line (``argv``, default ``sys.argv``)."""
    from .. import __version__

    args = list(sys.argv if argv is None else argv)
    if args and args[0].endswith(("__main__.py", "asyncmachine")):
        args[0] = "asyncmachine"
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "version": __version__,
        "commit": _commit(),
        "python": platform.python_version(),
        "libp2p": _version("libp2p"),
        "platform": platform.platform(terse=True),
        "cpus": os.cpu_count() or 1,
        "command": shlex.join(args),
    }


__all__ = ["run_metadata"]
