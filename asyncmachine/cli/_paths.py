"""Output paths checked before a long run starts, so it cannot fail at the very end.

The checks really create (and remove) a file: ``os.access`` says yes to root on
read-only or virtual file systems such as ``/proc``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path


def unwritable_file(path: Path) -> str | None:
    """Why ``path`` cannot be written as a file, or None."""
    if path.is_dir():
        return f"{path} is a directory"
    if not path.parent.is_dir():
        return f"directory {path.parent} does not exist"
    existed = path.exists()
    try:
        with path.open("a"):
            pass
    except OSError as e:
        return f"cannot write {path}: {e.strerror or e}"
    if not existed:
        path.unlink(missing_ok=True)
    return None


def unwritable_dir(path: Path) -> str | None:
    """Why files cannot be written into directory ``path`` (created if missing), or None."""
    if path.exists() and not path.is_dir():
        return f"{path} is not a directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        return f"cannot write into {path}: {e.strerror or e}"
    return None
