"""Relation resolution and handler order (Go: DefaultRelationsResolver)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from ._schema import CompiledSchema


def _uniq(states: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(states))


class Resolver:
    """Resolves the target states of one transition (Go: TargetStates).

    ``before`` are the active states before the transition, ``called`` the
    mutation's states; ``is_remove`` filters Add relations of removed states.
    """

    __slots__ = ("before", "called", "cs", "is_remove", "rejected")

    def __init__(
        self, cs: CompiledSchema, before: Collection[str], called: Collection[str], is_remove: bool
    ) -> None:
        self.cs = cs
        self.before = before
        self.called = called
        self.is_remove = is_remove
        self.rejected: dict[str, list[str]] = {}

    def parse_add(self, states: Sequence[str]) -> list[str]:
        """One level of Add relations (Go: parseAdd)."""
        schema = self.cs.schema
        ret = list(states)
        visited: set[str] = set()
        for name in states:
            st = schema[name]
            if not st.add or (name in self.before and not st.multi) or name in visited:
                continue
            if self.is_remove:
                adds = [a for a in st.add if a not in self.called]
                if not adds:
                    continue
                ret.extend(adds)
            else:
                ret.extend(st.add)
            visited.add(name)
        return ret

    def parse_require(self, states: list[str]) -> list[str]:
        """Drop states with missing requirements, to a fixpoint (Go: parseRequire)."""
        schema = self.cs.schema
        n = -1
        while n != len(states):
            n = len(states)
            cur = set(states)
            kept = []
            for s in states:
                req = schema[s].require
                if req:
                    missing = [r for r in req if r not in cur]
                    if missing:
                        self.rejected[s] = missing
                        continue
                kept.append(s)
            states = kept
        return states

    def target_states(self, to_set: Sequence[str]) -> tuple[list[str], list[tuple[str, list[str]]]]:
        """Target states and the ``(state, blockers)`` removed by Remove relations."""
        schema = self.cs.schema
        states = self.parse_require(_uniq(self.parse_add(to_set)))
        blocked: set[str] = set()
        kept: list[str] = []
        removals: list[tuple[str, list[str]]] = []
        for name in reversed(states):
            blockers = [b for b in states if name in schema[b].remove and b not in blocked]
            if blockers:
                blocked.add(name)
                removals.append((name, blockers))
                continue
            kept.append(name)
        to_remove: set[str] = set()
        for name in kept:
            to_remove.update(schema[name].remove)
        res = _uniq([s for s in self.parse_add(kept) if s not in to_remove])
        res.reverse()
        target = self.parse_require(res)
        sort_states(self.cs, target)
        return target, removals


def sort_states(cs: CompiledSchema, states: list[str]) -> None:
    """Handler order: Require topology, then After (Go: SortStates), in place."""
    if len(states) < 2:
        return
    topo = cs.topology
    if topo:
        states.sort(key=lambda s: topo.get(s, -1))
    schema = cs.schema

    def less(i: int, j: int) -> bool:
        a, b = states[i], states[j]
        return a in schema[b].after and b not in schema[a].after

    go_stable_sort(states, less)


def go_stable_sort(data: list[str], less: Callable[[int, int], bool]) -> None:
    """Go's ``sort.SliceStable``: insertion-sorted blocks of 20, then SymMerge.

    The After order is not a strict weak order, so the exact algorithm
    decides the result; this mirrors Go's, step for step.
    """

    def swap(i: int, j: int) -> None:
        data[i], data[j] = data[j], data[i]

    def insertion(a: int, b: int) -> None:
        for i in range(a + 1, b):
            j = i
            while j > a and less(j, j - 1):
                swap(j, j - 1)
                j -= 1

    def swap_range(a: int, b: int, n: int) -> None:
        for i in range(n):
            swap(a + i, b + i)

    def rotate(a: int, m: int, b: int) -> None:
        i, j = m - a, b - m
        while i != j:
            if i > j:
                swap_range(m - i, m, j)
                i -= j
            else:
                swap_range(m - i, m + j - i, i)
                j -= i
        swap_range(m - i, m, i)

    def sym_merge(a: int, m: int, b: int) -> None:
        if m - a == 1:
            i, j = m, b
            while i < j:
                h = (i + j) >> 1
                if less(h, a):
                    i = h + 1
                else:
                    j = h
            for k in range(a, i - 1):
                swap(k, k + 1)
            return
        if b - m == 1:
            i, j = a, m
            while i < j:
                h = (i + j) >> 1
                if not less(m, h):
                    i = h + 1
                else:
                    j = h
            for k in range(m, i, -1):
                swap(k, k - 1)
            return
        mid = (a + b) >> 1
        n = mid + m
        if m > mid:
            start, r = n - b, mid
        else:
            start, r = a, m
        p = n - 1
        while start < r:
            c = (start + r) >> 1
            if not less(p - c, c):
                start = c + 1
            else:
                r = c
        end = n - start
        if start < m < end:
            rotate(start, m, end)
        if a < start < mid:
            sym_merge(a, start, mid)
        if mid < end < b:
            sym_merge(mid, end, b)

    n = len(data)
    block = 20
    a, b = 0, block
    while b <= n:
        insertion(a, b)
        a, b = b, b + block
    insertion(a, n)
    while block < n:
        a, b = 0, 2 * block
        while b <= n:
            sym_merge(a, a + block, b)
            a, b = b, b + 2 * block
        if (m := a + block) < n:
            sym_merge(a, m, n)
        block *= 2


class Plan:
    """The relation-resolved part of a transition, cached per schema.

    It depends only on the mutation (type, auto, check, called) and the active
    list before it, so repeated mutations skip resolution.
    """

    __slots__ = ("accepted", "enters", "exits", "logs", "target")

    def __init__(
        self,
        target: tuple[str, ...],
        exits: tuple[str, ...],
        enters: tuple[str, ...],
        accepted: bool,
        logs: tuple[tuple[int, str], ...],
    ) -> None:
        self.target = target
        self.exits = exits
        self.enters = enters
        self.accepted = accepted
        self.logs = logs


LOG_OPS, LOG_DECISIONS = 3, 4
PLAN_CACHE_SIZE = 4096


def plan(
    cs: CompiledSchema,
    is_remove: bool,
    is_add: bool,
    is_auto: bool,
    is_check: bool,
    called: tuple[str, ...],
    before: tuple[str, ...],
) -> Plan:
    """Resolve target, exits, enters and acceptance (Go: newTransition)."""
    key = (is_remove, is_add, is_auto, is_check, called, before)
    p = cs.plans.get(key)
    if p is not None:
        return p
    schema = cs.schema
    bset = set(before)
    if is_remove:
        to_set = [s for s in before if s not in called]
    elif is_add:
        to_set = [*called, *before]
    else:
        to_set = list(called)
    rr = Resolver(cs, bset, called, is_remove)
    target, removals = rr.target_states(to_set)
    logs: list[tuple[int, str]] = []
    for name, blockers in removals:
        lvl = LOG_OPS if name in bset else LOG_DECISIONS
        logs.append((lvl, f"[rel:remove] {name} by {' '.join(blockers)}"))
    if rr.rejected:
        msg = " ".join(f"{s}(-{' -'.join(r)})" for s, r in rr.rejected.items())
        if is_auto:
            logs.append((LOG_DECISIONS, f"[reject:auto] {msg}"))
        else:
            logs.append((LOG_OPS, f"[reject] {msg}"))
    implied = [s for s in target if s not in to_set]
    if implied:
        logs.append((LOG_OPS, f"[implied] {' '.join(implied)}"))
    # acceptance (Go: setupAccepted)
    accepted = True
    if not is_remove:
        not_accepted = [s for s in called if s not in target]
        partial = is_auto and len(not_accepted) < len(called)
        multi_check = is_check and any(schema[s].multi for s in called)
        if not_accepted and not partial and not multi_check:
            accepted = False
            logs.append((LOG_OPS, f"[cancel:reject] {' '.join(not_accepted)}"))
    tset = set(target)
    exits = [s for s in before if s not in tset]
    sort_states(cs, exits)
    enters = [s for s in target if s not in bset or (schema[s].multi and s in called)]
    p = Plan(tuple(target), tuple(exits), tuple(enters), accepted, tuple(logs))
    if len(cs.plans) >= PLAN_CACHE_SIZE:
        cs.plans.clear()
    cs.plans[key] = p
    return p
