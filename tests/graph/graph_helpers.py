"""Shared fixtures of the graph tests: small machines with relations and a parent."""

from __future__ import annotations

import re

from asyncmachine import Machine, State
from tests.pubsub.helpers import worker

RELATIONS_SCHEMA = {
    "Foo": State(require=["Bar"], remove=["Baz"]),
    "Bar": State(add=["Qux"], auto=True),
    "Baz": State(multi=True, tags=["group:x"]),
    "Qux": State(after=["Bar"]),
}
"""Every relation kind, auto, multi and state tags: each becomes a graph edge or attribute."""
PARENT_SCHEMA = {"Start": State(), "Ready": State(require=["Start"])}

CLI = "import sys; from asyncmachine.cli import main; sys.exit(main())"
"""``python -c CLI graph ...`` runs the console script in a subprocess."""


def parent(id: str = "p1") -> Machine:
    return Machine(PARENT_SCHEMA, id=id, tags=["role:parent"])


def rich_worker(id: str = "w1", *, parent: Machine | str | None = None) -> Machine:
    """A worker of :data:`RELATIONS_SCHEMA` (tagged ``role:worker``)."""
    return worker(id, parent=parent, tags=["role:worker"], schema=RELATIONS_SCHEMA)


# --- well-formedness checks of the text exports ---------------------------------

_Q = r'"(?:[^"\\]|\\.)*"'
_ATTR = rf"[A-Za-z_][A-Za-z0-9_]*={_Q}"
_ATTRS = rf"\[(?:{_ATTR}(?:, {_ATTR})*)?\]"
DOT_NODE = re.compile(rf"^  ({_Q}) {_ATTRS};$")
DOT_EDGE = re.compile(rf"^  ({_Q}) -> ({_Q}) {_ATTRS};$")


def check_dot(text: str) -> tuple[set[str], int]:
    """Parse our DOT subset strictly; returns (node ids, edge count)."""
    lines = text.splitlines()
    assert re.fullmatch(rf"digraph {_Q} \{{", lines[0]), lines[0]
    assert lines[1] == '  graph [rankdir="LR"];'
    assert lines[-1] == "}"
    nodes: set[str] = set()
    edges = 0
    for line in lines[2:-1]:
        if m := DOT_NODE.match(line):
            nodes.add(m.group(1))
        elif m := DOT_EDGE.match(line):
            assert m.group(1) in nodes and m.group(2) in nodes, line
            edges += 1
        else:
            raise AssertionError(f"malformed DOT line: {line!r}")
    return nodes, edges


MM_NODE = re.compile(r'^  (n\d+)(\[\[|\(\[|\()"([^"<>]*)"(\]\]|\]\)|\))$')
MM_EDGE = re.compile(r"^  (n\d+) (-->|-\.->|---)\|([a-z_]+)\| (n\d+)$")


def check_mermaid(text: str) -> tuple[set[str], int]:
    """Parse our Mermaid flowchart subset strictly; returns (node ids, edge count)."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes: set[str] = set()
    edges = 0
    pairs = {"[[": "]]", "([": "])", "(": ")"}
    for line in lines[1:]:
        if m := MM_NODE.match(line):
            assert pairs[m.group(2)] == m.group(4), line
            nodes.add(m.group(1))
        elif m := MM_EDGE.match(line):
            assert m.group(1) in nodes and m.group(4) in nodes, line
            edges += 1
        elif line.startswith("  classDef active "):
            pass
        elif line.startswith("  class "):
            assert all(n in nodes for n in line.split()[1].split(",")), line
        else:
            raise AssertionError(f"malformed Mermaid line: {line!r}")
    return nodes, edges


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
