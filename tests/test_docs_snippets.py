"""Every ```python snippet of README.md and docs/*.md runs stand-alone.

Each snippet runs in a fresh interpreter (``sys.executable``) in an empty temporary
directory, so it must bring its own imports and machines and clean up after itself
(network snippets listen on loopback only). A snippet that cannot run alone is marked
on the line before its fence with ``<!-- no-run: reason -->``; the reason is required.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import TIMEOUT

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(?P<indent>\s*)```python\s*$")
END = re.compile(r"^\s*```\s*$")
NO_RUN = re.compile(r"^\s*<!--\s*no-run\b:?(?P<reason>.*?)-->\s*$")


@dataclass(frozen=True)
class Snippet:
    where: str
    """``file:line`` of the opening fence."""
    code: str
    no_run: str | None
    """The ``no-run`` reason ("" when the marker has none), None when the snippet runs."""


def collect(path: Path, root: Path = ROOT) -> list[Snippet]:
    """The python snippets of one markdown file, dedented by their fence's indent
    (``where`` is relative to ``root``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Snippet] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and not END.match(lines[i]):
            body.append(lines[i])
            i += 1
        assert i < len(lines), f"{path.name}:{start + 1}: unterminated ```python fence"
        marker = NO_RUN.match(lines[start - 1]) if start else None
        out.append(
            Snippet(
                where=f"{path.relative_to(root)}:{start + 1}",
                code=textwrap.dedent("\n".join(body)) + "\n",
                no_run=None if marker is None else marker.group("reason").strip(),
            )
        )
        i += 1
    return out


SNIPPETS = [s for doc in DOCS for s in collect(doc)]


def test_snippets_are_found() -> None:
    assert len(SNIPPETS) >= 5, [s.where for s in SNIPPETS]
    assert {s.where.split(":")[0] for s in SNIPPETS} >= {"README.md", "docs/graph.md"}


def test_collect_reads_markers_and_indented_fences(tmp_path: Path) -> None:
    md = tmp_path / "x.md"
    md.write_text(
        "<!-- no-run: needs a peer -->\n```python\nx = 1\n```\n"
        "- item:\n\n  ```python\n  y = 2\n  ```\n"
        "<!-- no-run -->\n```python\nz = 3\n```\n",
        encoding="utf-8",
    )
    snippets = [(s.code, s.no_run) for s in collect(md, tmp_path)]
    assert snippets == [("x = 1\n", "needs a peer"), ("y = 2\n", None), ("z = 3\n", "")]


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.where for s in SNIPPETS])
def test_snippet_runs(snippet: Snippet, tmp_path: Path) -> None:
    if snippet.no_run is not None:
        assert snippet.no_run, f"{snippet.where}: <!-- no-run: ... --> needs a reason"
        pytest.skip(f"no-run: {snippet.no_run}")
    script = tmp_path / "snippet.py"
    script.write_text(snippet.code, encoding="utf-8")
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}  # this checkout's package
    try:
        r = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT * 2,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{snippet.where}: still running after {TIMEOUT * 2:g} s")
    assert r.returncode == 0, f"{snippet.where} failed ({r.returncode}):\n{r.stderr}"
