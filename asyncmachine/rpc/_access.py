"""Who may mutate which states of an exposed machine: default deny.

An allow-list maps a peer id, or ``"*"`` for any peer, to the states that peer may
mutate. A mutation is allowed only when *every* state it touches is allowed for the
caller (its own entry and ``"*"`` together).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ANY_PEER = "*"

Allow = Mapping[str, Iterable[str]]
"""``{"*": ["Bar"], "12D3KooW...": ["Foo", "Bar"]}``."""


class AccessPolicy:
    """A frozen allow-list; an empty one denies everything."""

    __slots__ = ("_rules",)

    def __init__(self, allow: Allow | None = None) -> None:
        rules: dict[str, frozenset[str]] = {}
        for peer, states in (allow or {}).items():
            if not isinstance(peer, str) or not peer:
                raise ValueError(f"allow: bad peer {peer!r}, want a peer id or '*'")
            if isinstance(states, str):
                raise ValueError(f"allow[{peer!r}]: give a list of states, not one string")
            names = frozenset(states)
            if not all(isinstance(s, str) and s for s in names):
                raise ValueError(f"allow[{peer!r}]: states must be non-empty strings")
            rules[peer] = rules.get(peer, frozenset()) | names
        self._rules = rules

    def states_for(self, peer_id: str) -> frozenset[str]:
        """Every state ``peer_id`` may mutate."""
        return self._rules.get(peer_id, frozenset()) | self._rules.get(ANY_PEER, frozenset())

    def allows(self, peer_id: str, states: Iterable[str]) -> bool:
        """True when every state in ``states`` is allowed for ``peer_id`` (and there is one)."""
        allowed = self.states_for(peer_id)
        wanted = list(states)
        return bool(wanted) and all(s in allowed for s in wanted)

    def check_states(self, names: Iterable[str]) -> list[str]:
        """The allowed states that are not in ``names`` (a schema), to report typos."""
        known = set(names)
        return sorted({s for v in self._rules.values() for s in v} - known)

    def as_dict(self) -> dict[str, list[str]]:
        return {p: sorted(s) for p, s in self._rules.items()}


def parse_allow(spec: str) -> tuple[str, list[str]]:
    """``'PEER:Foo,Bar'`` or ``'*:Bar'`` → ``(peer, [states])``; ValueError naming the problem."""
    peer, sep, rest = spec.partition(":")
    peer = peer.strip()
    states = [s.strip() for s in rest.split(",")]
    if not sep or not peer or not all(states) or any(c.isspace() for c in peer):
        raise ValueError(
            f"bad --allow {spec!r}: want PEER:State[,State...] with PEER a peer id or '*'"
        )
    return peer, states


def merge_allow(specs: Iterable[str]) -> dict[str, list[str]]:
    """Several ``--allow`` values as one allow mapping."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        peer, states = parse_allow(spec)
        out.setdefault(peer, [])
        out[peer] += [s for s in states if s not in out[peer]]
    return out


__all__ = ["ANY_PEER", "AccessPolicy", "Allow", "merge_allow", "parse_allow"]
