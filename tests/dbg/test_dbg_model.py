"""The debugger's model: clock diffs, peer lifecycle, the bounded log and its filter."""

from __future__ import annotations

import pytest

from asyncmachine.dbg import DbgModel, LogKind, MachineView, diff_clocks
from asyncmachine.machine import State


def view(peer: str = "peer-A", index: int = 0, id: str = "w1") -> MachineView:
    names = ("Bar", "Foo", "Tick")
    schema = {"Bar": State(), "Foo": State(require=["Bar"]), "Tick": State(multi=True)}
    return MachineView(peer, index, id, names, schema, (0, 0, 0))


def test_diff_clocks_splits_activated_deactivated_and_ticked() -> None:
    names = ("A", "B", "C", "D", "E")
    on, off, again = diff_clocks(names, (0, 1, 1, 2, 5), (1, 2, 3, 4, 5))
    assert on == (("A", 1),)
    assert off == (("B", 2),)
    assert again == (("C", 3), ("D", 4))  # a multi state again; on and off in between


def test_clock_changes_are_logged_with_new_ticks() -> None:
    m = DbgModel(clock=lambda: 0.0)
    m.machine_added(view())
    m.clock_updated("peer-A", 0, (1, 1, 3))
    m.clock_updated("peer-A", 0, (1, 1, 3))  # unchanged: nothing logged
    m.clock_updated("peer-A", 0, (2, 1, 5))
    m.clock_updated("peer-B", 0, (1, 1, 1))  # unknown machine: ignored
    changes = [e for e in m.log if e.kind is LogKind.CHANGE]
    assert [e.text().split(" ", 1)[1] for e in changes] == [
        "change w1 @peer-A +Bar:1 +Foo:1 +Tick:3",
        "change w1 @peer-A -Bar:2 ~Tick:5",
    ]
    assert m.machines[("peer-A", 0)].active() == ["Foo", "Tick"]


def test_peers_stay_while_connected_or_discovered() -> None:
    m = DbgModel()
    m.peer_connected("p1", True)
    m.peer_discovered("p1")
    m.peer_removed("p1", "bye")
    assert not m.peers["p1"].discovered  # still connected
    m.peer_connected("p1", False)
    assert "p1" not in m.peers
    assert [e.kind for e in m.log] == [LogKind.PEER_ADDED, LogKind.PEER_REMOVED]


def test_log_is_bounded_and_new_entries_are_found_after_overflow() -> None:
    m = DbgModel(max_log=5)
    m.machine_added(view())
    for t in range(1, 11):
        m.clock_updated("peer-A", 0, (t, 0, 0))
    assert m.logged == 11 and len(m.log) == 5
    assert [e.seq for e in m.entries_since(8)] == [9, 10, 11]
    assert [e.seq for e in m.entries_since(0)] == [7, 8, 9, 10, 11]  # the rest was dropped
    assert m.entries_since(11) == []
    with pytest.raises(ValueError, match="max_log"):
        DbgModel(max_log=0)


def test_filter_matches_machine_ids_and_peer_entries_by_peer_id() -> None:
    m = DbgModel()
    m.peer_discovered("12D3KooWabc")
    m.machine_added(view(id="worker-1"))
    m.machine_added(view(index=1, id="demo-x"))
    assert [e.machine_id for e in m.matching("work")] == ["worker-1"]
    assert [e.peer_id for e in m.matching("koowabc")] == ["12D3KooWabc"]
    assert len(list(m.matching(""))) == 3
