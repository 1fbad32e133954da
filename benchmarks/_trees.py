"""Old tree vs this checkout: benchmark sessions in fresh processes, alternating.

A benchmark script that compares code trees runs itself with ``--role session`` in a new
process whose ``PYTHONPATH`` starts with the tree to measure (another checkout's
``asyncmachine`` package, e.g. ``git archive <commit> asyncmachine | tar -x -C DIR``, or
this checkout), and takes the session's result from the last line of its stdout (JSON).
Sessions of the trees alternate, so load on the machine hits every tree alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Tree = tuple[str, str | None]
"""(label, directory holding an ``asyncmachine`` package; None: this checkout)."""

CHECKOUT = str(Path(__file__).resolve().parent.parent)


def trees(label: str, before_tree: str | None) -> list[Tree]:
    """This checkout as ``label``, after the ``--before-tree`` (labelled "before")."""
    out: list[Tree] = [(label, None)]
    if before_tree:
        out.insert(0, ("before", str(Path(before_tree).resolve())))
    return out


def run_session(script: str, argv: Sequence[str], tree: str | None) -> dict[str, Any]:
    """``script --role session *argv`` in a new process importing ``asyncmachine`` from
    ``tree`` (default: this checkout); its last stdout line, decoded."""
    path = os.pathsep.join(p for p in (tree or CHECKOUT, os.environ.get("PYTHONPATH")) if p)
    cmd = [sys.executable, script, "--role", "session", *argv]
    out = subprocess.run(
        cmd, env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def alternate(
    runs: int, labelled: Sequence[Tree], session: Callable[[str | None], dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """``runs`` sessions per tree, interleaved; the results by label."""
    got: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in labelled}
    for i in range(runs):
        for label, tree in labelled:
            got[label].append(session(tree))
            print(f"run {i + 1}/{runs} {label}: done", file=sys.stderr)
    return got


def merge_json(path: Path, results: dict[str, Any]) -> None:
    """Write ``results`` by label into ``path``, keeping the other labels there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else {}
    old.update(results)
    path.write_text(json.dumps(old, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")
