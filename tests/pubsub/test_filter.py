"""MachineFilter: the one filter type of every remote-machine listing."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from asyncmachine.pubsub import FilterArgs, MachineFilter
from asyncmachine.pubsub._filter import FILTER_FIELDS
from asyncmachine.pubsub._wire import MachineInfo, WireSchema


@dataclass
class Listed:
    peer_id: str
    info: MachineInfo


def listed(peer: str, id: str, parent: str = "", tags: tuple[str, ...] = ()) -> Listed:
    schema = WireSchema((), ())  # filters never look at the schema
    return Listed(peer, MachineInfo(id=id, schema=schema, parent=parent, tags=tags))


M = [
    listed("p1", "worker-1", "sup", ("kind:w", "zone:a")),
    listed("p1", "worker-2", "sup", ("kind:w",)),
    listed("p2", "db", "", ("kind:db",)),
]


@pytest.mark.parametrize(
    ("flt", "want"),
    [
        (MachineFilter(), ["worker-1", "worker-2", "db"]),
        (MachineFilter(id="db"), ["db"]),
        (MachineFilter(id_partial="worker"), ["worker-1", "worker-2"]),
        (MachineFilter(id_regex=r"-\d$"), ["worker-1", "worker-2"]),
        (MachineFilter(id_regex=re.compile("^d")), ["db"]),
        (MachineFilter(peer_id="p2"), ["db"]),
        (MachineFilter(parent="sup"), ["worker-1", "worker-2"]),
        (MachineFilter(tags=["kind:w", "zone:a"]), ["worker-1"]),
        (MachineFilter(tags=[]), ["worker-1", "worker-2", "db"]),
        (MachineFilter(id_partial="worker", tags={"kind:w"}, peer_id="p2"), []),
    ],
)
def test_matches(flt: MachineFilter, want: list[str]) -> None:
    assert [m.info.id for m in M if flt.matches(m)] == want


def test_validation_names_the_bad_filter() -> None:
    with pytest.raises(ValueError, match="'id_regex': bad regex '\\['"):
        MachineFilter(id_regex="[")
    with pytest.raises(TypeError, match="'tags' must be an iterable of str"):
        MachineFilter(tags="kind:w")
    with pytest.raises(TypeError, match="'tags' must hold str"):
        MachineFilter(tags=[1])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="'peer_id' must be a str"):
        MachineFilter(peer_id=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"'id_regex' must be a str or re\.Pattern"):
        MachineFilter(id_regex=5)  # type: ignore[arg-type]


def test_of_keywords_or_filter() -> None:
    assert MachineFilter.of(None, {"id": "a", "tags": ["x"]}) == MachineFilter(id="a", tags={"x"})
    f = MachineFilter(id="a")
    assert MachineFilter.of(f, {}) is f
    with pytest.raises(TypeError, match="not both"):
        MachineFilter.of(f, {"id": "b"})
    with pytest.raises(TypeError, match="unknown machine filter bogus"):
        MachineFilter.of(None, {"bogus": 1})
    with pytest.raises(TypeError, match="expected a MachineFilter"):
        MachineFilter.of({"id": "a"}, {})  # type: ignore[arg-type]


def test_frozen_hashable_and_printable() -> None:
    f = MachineFilter(id_regex="^w", tags=["b", "a"])
    assert hash(f) == hash(MachineFilter(id_regex="^w", tags=("a", "b")))
    assert str(f) == "id_regex='^w', tags=['a', 'b']"
    assert str(MachineFilter()) == "any"
    with pytest.raises(AttributeError):
        f.id = "x"  # type: ignore[misc]


def test_keyword_form_matches_the_fields() -> None:
    assert set(FilterArgs.__annotations__) == FILTER_FIELDS
