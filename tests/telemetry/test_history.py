"""The SQLite history: a scripted run's answers match the machines' own clock logs;
retention bounds the database; ``asyncmachine history`` prints the answers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from asyncmachine import Machine
from asyncmachine.cli import main
from asyncmachine.machine import Time
from asyncmachine.pubsub import MemoryNetwork
from asyncmachine.telemetry import History, HistoryRow, HistoryStore, Telemetry, TelemetryOptions
from tests.pubsub.helpers import WORKER_SCHEMA, memory_topics, until_event

Log = list[tuple[float, dict[str, int]]]


def clock_log(mach: Machine) -> Log:
    """(wall time, clock) after every change of ``mach``: the reference answers."""
    log: Log = []

    def on_change(m: Machine, before: Time, after: Time) -> None:
        if before != after:
            log.append((time.time(), dict(m.clock())))

    mach.on_change(on_change)
    return log


async def scripted_run(
    net: MemoryNetwork, db: Path, machines: tuple[str, ...] = ()
) -> tuple[Log, dict[str, int]]:
    """w1 (local to the recorder) and w2 (mirrored) change; returns w1's clock log and
    w2's last clock."""
    w1, w2 = Machine(WORKER_SCHEMA, id="w1"), Machine(WORKER_SCHEMA, id="w2")
    log = clock_log(w1)
    tel = Telemetry(TelemetryOptions(history=db, history_machines=machines))
    try:
        async with memory_topics(net, [[w1], [w2]]) as (a, _b), tel.attach(a):
            await until_event([a], lambda: len(a.remote_machines()) == 1)
            (mirror,) = a.list_machines(id="w2")
            for states in (["Bar"], ["Foo", "Bar"], ["Baz"], ["Baz"]):
                w1.add(states)
                w2.add(states)
            w1.remove1("Bar")  # removes Foo too
            w2.remove1("Bar")
            w1.add1("Bar")
            await until_event([a], lambda: mirror.time() == w2.time())
    finally:
        tel.close()
    return log, dict(w2.clock())


async def test_queries_match_the_clock_log(net: MemoryNetwork, tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    log, w2_clock = await scripted_run(net, db)
    with History(db) as h:
        assert sorted(h.machines()) == ["w1", "w2"]
        # clock of w1 at each logged time, and before the first change: none
        for at, clock in log:
            assert h.clock_at("w1", at) == clock
        assert h.clock_at("w1", log[0][0] - 60) is None
        # Foo: active from the 2nd change until the 5th (removing Bar removed it)
        act = h.last_active("w1", "Foo")
        assert act is not None
        assert log[0][0] < act.activated_at <= log[1][0]
        assert act.deactivated_at is not None
        assert log[3][0] < act.deactivated_at <= log[4][0]
        # Bar is active again since the last change
        bar = h.last_active("w1", "Bar")
        assert bar is not None and bar.deactivated_at is None
        assert log[4][0] < bar.activated_at <= log[5][0]
        assert h.last_active("w1", "Nope") is None
        # transitions between two times
        rows = h.between(log[1][0], log[4][0], machine="w1")
        assert [r.clock for r in rows] == [c for _, c in log[2:5]]
        assert all(r.local for r in rows)
        foo = h.between(0, time.time(), machine="w1", state="Foo")
        assert [(r.added, r.removed) for r in foo] == [(("Foo",), ()), ((), ("Bar", "Foo"))]
        # the mirror's rows: remote, ending with w2's last clock
        remote = h.between(0, time.time(), machine="w2")
        assert remote and not any(r.local for r in remote)
        assert remote[-1].clock == w2_clock
        assert remote[-1].active() == [s for s, t in w2_clock.items() if t % 2]


async def test_only_chosen_machines_are_recorded(net: MemoryNetwork, tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    await scripted_run(net, db, machines=("w2",))
    with History(db) as h:
        assert h.machines() == ["w2"]


def _row(i: int, at: float) -> HistoryRow:
    return HistoryRow(at, "m", "p", True, ("A",), (), {"A": 2 * i + 1, "B": i})


def test_retention_bounds_rows_and_file_size(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    store = HistoryStore(db, max_rows=200, max_age=3600)
    now = time.time()
    sizes = []
    for batch in range(200):
        store.append([_row(batch * 100 + i, now) for i in range(100)])
        if batch in (99, 199):
            sizes.append(sum(p.stat().st_size for p in tmp_path.iterdir()))
    store.close()
    with History(db) as h:
        assert h.count() == 200
        assert h.clock_at("m", now) == {"A": 2 * 19999 + 1, "B": 19999}  # the newest kept
    assert sizes[1] <= sizes[0] * 1.1, sizes  # twice the rows written, no growth
    assert sizes[1] < 3 << 20, sizes  # the database and its WAL file


def test_retention_drops_old_rows(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    store = HistoryStore(db, max_rows=1000, max_age=60)
    now = time.time()
    store.append([_row(0, now - 120), _row(1, now - 30)])
    store.close()
    with History(db) as h:
        assert [r.clock["B"] for r in h.between(0, now)] == [1]


async def test_history_cli(
    net: MemoryNetwork, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.db"
    log, _ = await scripted_run(net, db)
    capsys.readouterr()
    assert main(["history", str(db)]) == 0
    assert sorted(capsys.readouterr().out.split()) == ["w1", "w2"]
    assert main(["history", str(db), "--machine", "w1", "--at", str(log[1][0]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == log[1][1]
    assert main(["history", str(db), "--machine", "w1", "--state", "Bar"]) == 0
    assert capsys.readouterr().out.startswith("w1 Bar: active from ")
    t1, t2 = str(log[1][0]), str(log[4][0])
    assert main(["history", str(db), "--machine", "w1", "--between", t1, t2, "--json"]) == 0
    assert [r["clock"] for r in json.loads(capsys.readouterr().out)] == [c for _, c in log[2:5]]
    assert main(["history", str(db), "--machine", "w1", "--state", "Nope"]) == 1
    assert capsys.readouterr().out == "nothing found\n"


def test_history_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", str(tmp_path / "missing.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no history database" in err
    (tmp_path / "junk.db").write_bytes(b"not sqlite" * 100)
    assert main(["history", str(tmp_path / "junk.db")]) == 2
    assert "cannot use history database" in capsys.readouterr().err
    assert main(["history", str(tmp_path / "junk.db"), "--state", "Foo"]) == 2
    assert "need --machine" in capsys.readouterr().err
