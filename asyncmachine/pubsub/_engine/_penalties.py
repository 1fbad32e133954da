"""Per-peer penalties for records refused as over a budget: the application score.

Go: go-libp2p-pubsub's ``PeerScoreParams.AppSpecificScore`` (P5 of the gossipsub v1.1
score), a number the application computes per peer. Gossipsub's own P4 counts only
messages the validator *rejects* (invalid: malformed, forged, over the sender's rate);
a neighbour that keeps relaying well-formed records this peer won't hold (over the
per-peer budgets) is refused with IGNORE, which costs nothing in P4. These penalties
are that neighbour's cost instead: the transport adds them to its score, so a flood of
over-budget records ends in the same graylisting and disconnection as a flood of
invalid messages (docs/security.md).
"""

from __future__ import annotations

PENALTY_DECAY = 0.9
"""What remains of a peer's penalty after one second (P4 decays by as much per 1 s
heartbeat): a steady ``r`` penalized records per second settle at about ``10 r``."""
PENALTY_CAP = 500.0
"""The most penalty a peer can hold (as P4's cap): it is forgiven within ~60 s."""


class Penalties:
    """Decaying penalties by peer id, for at most ``max_peers`` peers (the least
    recently penalized is forgotten first: a table no flood of ids can grow)."""

    __slots__ = ("_held", "max_peers")

    def __init__(self, max_peers: int) -> None:
        self.max_peers = max_peers
        self._held: dict[str, tuple[float, float]] = {}  # peer -> (penalty, when)

    def add(self, peer: str, amount: float, now: float) -> None:
        """Penalize ``peer`` by ``amount`` (a record it relayed was refused)."""
        value = self.penalty(peer, now)
        self._held.pop(peer, None)
        if len(self._held) >= self.max_peers:
            del self._held[next(iter(self._held))]
        self._held[peer] = (min(PENALTY_CAP, value + amount), now)

    def penalty(self, peer: str, now: float) -> float:
        """``peer``'s penalty at ``now`` (>= 0, decayed since it was last added to)."""
        held = self._held.get(peer)
        if held is None:
            return 0.0
        value, at = held
        decayed: float = value * PENALTY_DECAY ** max(0.0, now - at)
        return decayed

    def __len__(self) -> int:
        return len(self._held)
