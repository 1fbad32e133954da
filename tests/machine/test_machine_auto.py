"""Auto states (spec 3.8, quirks A.1, A.2, B.5-B.7, B.16, B.18; cases 10, 18-21).

Python picks state order where Go iterates maps (auto-state order, Require sort):
the ``-ordered`` variants add an After relation that pins Go's order; the plain
variants assert the same outcome under state order.
"""

from __future__ import annotations

import pytest

from asyncmachine import Result, State
from tests.machine.mach_helpers import nonzero_clock, norels, setup, split


def test_auto_states() -> None:
    """Case 18: B{Auto, Req:[A]}, Add(A) -> Executed, (A B)."""
    schema = norels() | {"B": State(auto=True, require=["A"])}
    mach, rec = setup(schema)
    assert mach.add(["A"]) == Result.EXECUTED
    assert mach.active_states() == ["A", "B"]
    assert rec.calls == split(
        "AEnter AnyEnter AState AnyState BEnter AA AB AnyEnter BState AnyState"
    )
    # the auto tx is prepended and takes no queue tick
    assert mach.queue_tick() == 2


def test_partial_auto_states() -> None:
    """Case 19: A{Auto}, B{Auto, After:[A], Req:[C]}, Add(D) -> Executed, (A D)."""
    schema = norels() | {"A": State(auto=True), "B": State(auto=True, after=["A"], require=["C"])}
    mach, rec = setup(schema)
    assert mach.add(["D"]) == Result.EXECUTED
    assert mach.active_states() == ["A", "D"]
    assert rec.calls == split(
        "DEnter AnyEnter DState AnyState AEnter DD DA AnyEnter AState AnyState"
    )


def test_partial_auto_all_rejected() -> None:
    """Case 21: C, D{Auto, Req:[B]}, Add(A) -> (A)."""
    schema = norels() | {"C": State(auto=True, require=["B"]), "D": State(auto=True, require=["B"])}
    mach, rec = setup(schema)
    assert mach.add(["A"]) == Result.EXECUTED
    assert mach.active_states() == ["A"]
    assert rec.calls == split("AEnter AnyEnter AState AnyState")


PARTIAL_BY = [
    # id, reject, extra B relations, expected active, expected calls
    (
        "state-state",
        "CB",
        {},
        ["A", "C"],
        "CEnter AnyEnter CState AnyState AEnter BEnter CC CA CB AnyEnter AState AnyState",
    ),
    (
        "enter",
        "BEnter",
        {"add": ["D"]},
        ["A", "C"],
        # quirk B.7: D (implied by the rejected B) still gets DEnter and CD
        "CEnter AnyEnter CState AnyState AEnter BEnter DEnter CC CA CD AnyEnter AState AnyState",
    ),
    (
        "self",
        "CC",
        {},
        ["C"],
        "CEnter AnyEnter CState AnyState AEnter BEnter CC",
    ),
]


@pytest.mark.parametrize("ordered", [True, False], ids=["ordered", "state-order"])
@pytest.mark.parametrize(
    ("reject", "b_rels", "active", "calls"),
    [c[1:] for c in PARTIAL_BY],
    ids=[c[0] for c in PARTIAL_BY],
)
def test_partial_auto_states_by_handler(
    ordered: bool, reject: str, b_rels: dict[str, list[str]], active: list[str], calls: str
) -> None:
    """Case 20: A, B{Auto}; Add1(C): CB false -> (C A); BEnter false -> (C A); CC false -> (C)."""
    b = State(auto=True, after=["A"] if ordered else [], **b_rels)
    schema = norels() | {"A": State(auto=True), "B": b}
    mach, rec = setup(schema, reject=[reject])
    assert mach.add1("C") == Result.EXECUTED
    assert mach.active_states() == active
    assert not mach.is1("B")
    assert not mach.is1("D")
    assert rec.calls == split(calls)


def test_require_order_auto() -> None:
    """Case 10: A{Auto,Req:[B,C]} B{Auto,Req:[D]} C{Auto} D{Auto} Start; Add1(Start)."""
    schema = {
        "A": State(auto=True, require=["B", "C"]),
        "B": State(auto=True, require=["D"]),
        "C": State(auto=True),
        "D": State(auto=True),
        "Start": State(),
    }
    mach, rec = setup(schema)
    assert mach.add1("Start") == Result.EXECUTED
    assert mach.active_states() == ["Start", "D", "B", "C", "A"]
    assert rec.calls == split(
        "StartEnter AnyEnter StartState AnyState "
        "DEnter BEnter CEnter AEnter StartStart StartD StartB StartC StartA "
        "AnyEnter DState BState CState AState AnyState"
    )
    for name in set(rec.calls):
        assert rec.count(name) == (2 if name.startswith("Any") else 1), name


def test_auto_chain_in_one_tx() -> None:
    """[probe] B{Auto,Req:A} C{Auto,Req:B} D{Auto,Req:C}: Add1(A) -> (A B C D), one auto tx."""
    schema = {
        "A": State(),
        "B": State(auto=True, require=["A"]),
        "C": State(auto=True, require=["B"]),
        "D": State(auto=True, require=["C"]),
    }
    mach, rec = setup(schema)
    assert mach.add1("A") == Result.EXECUTED
    assert mach.active_states() == ["A", "B", "C", "D"]
    assert rec.calls == split(
        "AEnter AnyEnter AState AnyState BEnter CEnter DEnter AA AB AC AD "
        "AnyEnter BState CState DState AnyState"
    )


def test_auto_readd_after_remove() -> None:
    """[probe] / quirk B.5: removing an unblocked Auto state re-activates it (B:3)."""
    schema = norels() | {"B": State(auto=True)}
    mach, rec = setup(schema)
    assert mach.add(["A"]) == Result.EXECUTED
    assert mach.active_states() == ["B", "A"]
    rec.calls.clear()
    assert mach.remove(["B"]) == Result.EXECUTED
    assert mach.active_states() == ["B", "A"]
    assert nonzero_clock(mach) == {"A": 1, "B": 3}
    assert rec.calls == split(
        "BExit BA AnyEnter BEnd AnyState BEnter AA AB AnyEnter BState AnyState"
    )


def test_auto_state_with_remove_undoes_set() -> None:
    """Quirk B.5: Auto B{Remove:[A]} dropped by Set(A) comes back and removes A."""
    schema = {"A": State(), "B": State(auto=True, remove=["A"]), "C": State()}
    mach, _ = setup(schema)
    mach.add1("C")
    assert mach.active_states() == ["B", "C"]
    assert mach.set(["A"]) == Result.EXECUTED
    assert mach.active_states() == ["B"]
    assert nonzero_clock(mach) == {"A": 2, "B": 3, "C": 2}


def test_auto_blocked_by_remove() -> None:
    schema = {"A": State(auto=True), "B": State(remove=["A"]), "C": State()}
    mach, rec = setup(schema, ["B"])
    assert mach.add1("C") == Result.EXECUTED
    assert mach.active_states() == ["C", "B"]
    assert rec.calls == split("CEnter BB BC AnyEnter CState AnyState")
    rec.calls.clear()
    assert mach.remove1("B") == Result.EXECUTED
    assert mach.active_states() == ["A", "C"]
    assert rec.calls == split(
        "BExit BC AnyEnter BEnd AnyState AEnter CC CA AnyEnter AState AnyState"
    )


def test_auto_only_after_time_change() -> None:
    """No auto tx after a canceled tx or one that didn't change the machine time."""
    schema = norels() | {"B": State(auto=True)}
    mach, rec = setup(schema, reject=["BEnter", "DEnter"])
    mach.add1("A")
    assert rec.count("BEnter") == 1
    mach.add1("A")  # no time change
    assert rec.count("BEnter") == 1
    assert mach.add1("D") == Result.CANCELED
    assert rec.count("BEnter") == 1
    mach.add1("C")
    assert rec.count("BEnter") == 2


def test_auto_self_reject_last_cancels_auto_tx() -> None:
    """Quirk A.1: AA false is the last self handler run -> the whole auto tx is canceled."""
    schema = {"A": State(auto=True), "B": State(auto=True), "C": State()}
    mach, rec = setup(schema, reject=["AA"])
    assert mach.add(["A"]) == Result.EXECUTED
    assert mach.active_states() == ["A"]
    assert rec.calls == split("AEnter AnyEnter AState AnyState BEnter AA")
    rec.calls.clear()
    assert mach.add(["C"]) == Result.CANCELED
    assert mach.active_states() == ["A"]
    assert rec.calls == split("CEnter AA")


def test_auto_self_reject_skips_next() -> None:
    """Quirk A.2: AA false drops A in place; CC is skipped; DD passes; A stays active."""
    schema = {"A": State(auto=True), "B": State(auto=True), "C": State(), "D": State()}
    mach, rec = setup(schema, reject=["AA"])
    assert mach.set(["A", "C", "D"]) == Result.EXECUTED
    assert mach.active_states() == ["B", "A", "C", "D"]
    assert nonzero_clock(mach) == {"A": 1, "B": 1, "C": 1, "D": 1}
    assert rec.calls == split(
        "AEnter CEnter DEnter AnyEnter AState CState DState AnyState "
        "BEnter AA DD AB AC AD CB CD DB DC AnyEnter BState AnyState"
    )


def test_auto_pair_reject_keeps_going() -> None:
    """Quirk B.16: after GD rejects Auto D, BD still runs; the tx goes on without D."""
    schema = {"B": State(), "D": State(auto=True), "G": State()}
    mach, rec = setup(schema, reject=["GD"])
    assert mach.set(["G", "B"]) == Result.EXECUTED
    assert mach.active_states() == ["G", "B"]
    assert not mach.is1("D")
    assert rec.calls == split(
        "GEnter BEnter AnyEnter GState BState AnyState DEnter GG BB GD GB BD BG AnyEnter AnyState"
    )


def test_auto_exit_reject_is_a_cancel() -> None:
    """Quirk B.18: Go panics (index -1) when an active Auto state must be deactivated by an
    auto tx and its Exit rejects; the port cancels that auto tx instead."""
    schema = {
        "A": State(auto=True),
        "B": State(auto=True, remove=["A"]),
        "C": State(remove=["B"]),
    }
    mach, rec = setup(schema, reject=["AExit"])
    mach.add1("C")
    assert mach.active_states() == ["A", "C"]
    rec.calls.clear()
    assert mach.remove1("C") == Result.EXECUTED
    assert "AExit" in rec.calls
    assert mach.active_states() == ["A"]
    assert not mach.is1("B")
    assert not mach.is_err()
    assert mach.queue_len() == 0


def test_multi_not_honoured_in_auto_tx() -> None:
    """Spec 3.9: Multi never applies in auto txs: an active Auto+Multi state isn't re-entered."""
    schema = norels() | {"M": State(auto=True, multi=True)}
    mach, rec = setup(schema)
    mach.add1("A")
    assert mach.tick("M") == 1
    mach.add1("B")
    assert mach.tick("M") == 1
    assert rec.count("MEnter") == 1
