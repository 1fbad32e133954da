"""Topic settings (Go: pubsub.Config / the Topic's exported fields)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ._wire import DEFAULT_LIMITS, MsgType, WireLimits


def _by_label(limits: Mapping[MsgType, int]) -> dict[str, int]:
    return {t.label: n for t, n in limits.items()}


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Messages per ``window`` seconds, per message type label (Go: MaxMsgsPerWin).

    Outgoing limits defer work (nothing is lost: work is kept as state, not as
    queued messages); incoming limits apply per author and drop the excess.
    """

    window: float = 1.0
    out: dict[str, int] = field(
        default_factory=lambda: _by_label(
            {
                MsgType.INFO: 20,
                MsgType.UPDATES: 50,
                MsgType.GOSSIP: 5,
                MsgType.REQINFO: 5,
                MsgType.REQUPDATES: 5,
                MsgType.BYE: 2,
                MsgType.LINKS: 5,
            }
        )
    )
    incoming: dict[str, int] = field(
        default_factory=lambda: _by_label(
            {
                MsgType.INFO: 60,
                MsgType.UPDATES: 120,
                MsgType.GOSSIP: 20,
                MsgType.REQINFO: 20,
                MsgType.REQUPDATES: 20,
                MsgType.BYE: 4,
                MsgType.LINKS: 20,
            }
        )
    )


@dataclass(frozen=True, slots=True)
class TopicSettings:
    """Tunables of a Topic. Times are seconds of Trio's clock.

    Go defaults, for comparison: heartbeat 5 s (1 s x Multiplayer 5), 10 msgs
    per 5 s window, gossip 5 peers, 5 connections to Ready, SendInfo debounce
    up to 5 s, hello 100-2900 ms, request intervals 5 s / 25 s.
    """

    heartbeat: float = 5.0
    """Heartbeat period: gossip, repair requests, silent-peer GC (Go: HeartbeatFreqxMultiplayer)."""
    push_delay: float = 0.005
    """Minimum time between pushes of own clock changes: the first change after a quiet
    period is pushed at once, later ones coalesce (Go: waited for the heartbeat)."""
    hello_delay: float = 0.05
    """Max random delay before the hello (Go: 100-2900 ms)."""
    hello_wait: float = 2.0
    """Max wait for a first topic peer before sending the hello anyway."""
    hello_retry: float = 3.0
    """Resend the hello when nothing answered it within this time (while peers exist)."""
    hello_retries: int = 3
    hello_grace: float = 0.5
    """A hello is answered only with records the responder has held for this long (and
    the joiner doesn't list as known): younger ones are likely still on their way to it."""
    max_known: int = 4096
    """Peer keys listed in a hello (``known``); peers beyond it may be sent again."""
    answer_delay: float = 0.01
    """Coalescing window before the owner answers a request for its own records."""
    relay_delay: float = 0.1
    """Delay before relaying others' records; cancelled when someone else answered."""
    responders: int = 1
    """Relayers (chosen by rendezvous hashing) that answer each request."""
    request_delay: float = 0.2
    """Wait before requesting something found missing (others may answer meanwhile)."""
    request_interval: float = 2.0
    """Minimum time between requests for the same peer (Go: 25 s); a peer's own requests
    are also spaced by ``request_interval * max(1, known_peers / 8)``."""
    request_attempts: int = 3
    """Give up on a missing peer after this many unanswered requests (until seen again)."""
    max_request_ids: int = 32
    """Peer ids per reqinfo/requpdates (Go: 5)."""
    gossip_amount: int = 5
    """Digest entries per gossip besides self (Go: GossipAmount, with replacement)."""
    keepalive: float = 40.0
    """Gossip at least this often, so others know this peer is alive."""
    keepalive_per_peer: float = 2.0
    """Keepalive grows to ``known_peers * keepalive_per_peer`` in big networks..."""
    keepalive_max: float = 300.0
    """...but not beyond this (with 1,000 peers: ~3.3 keepalives/s network-wide, and a
    silent peer is dropped after 15 min instead of 100)."""
    peer_timeout: float = 120.0
    """Drop a peer (and its mirrors) not heard from for this long, or for 3 keepalives
    if longer (Go: never)."""
    share_links: bool = True
    """Publish a links record (own connections and mesh peers, ``limits.max_links`` each)
    after a heartbeat that saw them change, so peer graphs show remote links."""
    links_interval: float = 30.0
    """Minimum time between own links records after the connections changed (the first
    record goes out on the first heartbeat)."""
    links_refresh: float = 120.0
    """Minimum time between links records when only the gossip mesh changed (gossipsub
    meshes churn on their own)..."""
    links_refresh_per_peer: float = 4.0
    """...growing to ``known_peers * links_refresh_per_peer`` in big networks (N = 100:
    one mesh-only record per peer per 400 s, 0.25 per second network-wide)."""
    tombstone_ttl: float = 600.0
    """Forget departed peers after this long."""
    connections_to_ready: int = 1
    """Topic peers needed for Ready (Go: ConnectionsToReady = 5)."""
    max_pending: int = 1024
    """Peers whose clocks may wait for their info (Go: unbounded pendingMachUpdates)."""
    max_message_bytes: int = 512 << 10
    """Target size of outgoing messages; bigger answers are split."""
    limits: WireLimits = DEFAULT_LIMITS
    rates: RateLimits = field(default_factory=RateLimits)
    seed: int | None = None
    """RNG seed (default: derived from the peer id)."""
    epoch: int | None = None
    """Session epoch of own records (default: wall-clock microseconds at start)."""
