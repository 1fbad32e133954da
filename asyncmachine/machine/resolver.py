"""Relation resolution and handler order (Go: DefaultRelationsResolver)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from .schema import CompiledSchema


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
    # Go's sort.SliceStable: an insertion sort for up to 20 items.
    for i in range(1, len(states)):
        j = i
        while j > 0:
            a, b = states[j], states[j - 1]
            if a in schema[b].after and b not in schema[a].after:
                states[j], states[j - 1] = b, a
                j -= 1
            else:
                break


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
