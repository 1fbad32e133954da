"""Facts the docs state about the code stay true: defaults, import paths, citations."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from asyncmachine.pubsub import TopicSettings

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_documented_topic_settings_defaults() -> None:
    """docs/pubsub.md's ``TopicSettings`` bullet lists each default as ```name` value``."""
    text = _text(ROOT / "docs" / "pubsub.md")
    start = text.index("- `TopicSettings`")
    bullet = text[start : text.index("\n- ", start)]
    pairs = re.findall(r"`(\w+)` (\d+(?:\.\d+)?|True|False)( KiB)?\b", bullet)
    assert len(pairs) >= 20, pairs
    defaults = TopicSettings()
    for name, value, kib in pairs:
        actual = getattr(defaults, name)
        if isinstance(actual, bool):
            assert str(actual) == value, name
        else:
            assert actual == float(value) * (1024 if kib else 1), name


def test_push_delay_in_milliseconds() -> None:
    """Wherever the docs give ``push_delay`` in ms, it is the default."""
    ms = TopicSettings().push_delay * 1000
    for doc in DOCS:
        for m in re.finditer(r"`push_delay`, (\d+) ms", _text(doc)):
            assert float(m.group(1)) == ms, f"{doc.name}: {m.group(0)}"


def test_named_modules_exist_and_are_public() -> None:
    """Every ``asyncmachine.x.y`` the docs name imports (or is an attribute of its parent)
    and is public; only a command line (``python -m ...``) may name a private module."""
    found = [
        (m.group(1) is not None, m.group(2).rstrip("."))
        for doc in DOCS
        for m in re.finditer(r"`(python -m )?(asyncmachine(?:\.\w+)+)", _text(doc))
    ]
    assert found
    for command, name in sorted(set(found)):
        assert command or not any(p.startswith("_") for p in name.split(".")), name
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            parent, _, attr = name.rpartition(".")
            assert hasattr(importlib.import_module(parent), attr), name


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_cite_only_files_in_the_repository(doc: Path) -> None:
    text = _text(doc)
    assert not re.search(r"(?<![\w/])(/work/|shared/(notes|spec)/)", text), doc.name
    for m in re.finditer(r"\]\(((?!https?://|#)[^)#\s]+)", text):  # relative markdown links
        assert (doc.parent / m.group(1)).exists(), f"{doc.name}: {m.group(1)}"
