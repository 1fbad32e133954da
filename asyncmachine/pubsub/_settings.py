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
class Budgets:
    """What any remote participant can make this peer hold or do (docs/security.md).

    Unsigned claims (gossip digests, ``known`` lists, request ids) only ever fill the
    bounded tables below; signed records of peers nobody here is connected to are
    admitted only while they fit, and evicted first (least recently heard of first).
    Over-budget records and work are dropped and counted in ``metrics.rejected``
    (``over_budget``, ``work_limit``, ``missing_full``, ``answer_budget``).
    """

    peers: int = 1024
    """Remote peers held (Go: unbounded). When full, a new peer evicts the least
    recently heard-of peer ranked below it: peers this one is or was connected to rank
    above the rest."""
    machines_per_peer: int = 256
    """Machines (mirrors) of one peer (the wire allows ``WireLimits.max_machines``)."""
    states_per_peer: int = 4096
    """States of all of one peer's machines together (e.g. 64 machines of 64 states)."""
    mirrors: int = 16384
    """Mirrors held in total, of all peers."""
    states: int = 262144
    """States of all mirrors together (each costs a clock tick and schema slots)."""
    info_bytes: int = 16 << 20
    """Bytes of the info records held, of all peers (a record may be 256 KiB)."""
    pending: int = 1024
    """Peers whose clocks (or links) records wait for their info (Go: unbounded)."""
    pending_bytes: int = 8 << 20
    """Bytes of the pending clocks records together (a record may be 256 KiB)."""
    missing: int = 1024
    """Entries of the missing-info and missing-clocks tables together (filled by
    unsigned gossip digests, so bounded hard)."""
    tombstones: int = 4096
    """Departed peers remembered; the oldest are forgotten first beyond this."""
    digest_entries: int = 16
    """Entries of one received gossip digest that are looked at (own gossip carries
    ``gossip_amount + 1``)."""
    request_ids: int = 64
    """Peer ids of one received request that are looked at (own requests carry
    ``max_request_ids``)."""
    records_per_author: int = 512
    """New records verified and decoded per second per relaying author (the
    transport-authenticated sender): the expensive part of receiving."""
    body_bytes_per_author: int = 512 << 10
    """Record body bytes verified and decoded per second per relaying author (decoding
    costs ~0.5 ms per KB: at most ~0.25 s of CPU per author per second)."""
    states_per_author: int = 65536
    """Mirror states created per second from one relaying author's messages."""
    records_per_forwarder: int = 2048
    """New records verified and decoded per second from one neighbour's messages, of
    any authors, before relaying them (libp2p transport): a neighbour inventing authors
    gets no more signature checks out of this peer than this."""
    body_bytes_per_forwarder: int = 2 << 20
    """Record body bytes verified and decoded per second from one neighbour's messages,
    of any authors, before relaying them (about a second of CPU at most)."""
    answer_ratio: float = 8.0
    """Answers to a requester (hellos, requests, stale gossip) are at most this multiple
    of the bytes it sent us, plus ``answer_allowance``."""
    answer_allowance: int = 256 << 10
    """Answer bytes a requester may get before it has sent anything (a joiner's first
    hello); also the most credit a requester can bank."""
    answer_rate: int = 256 << 10
    """Answer bytes per second to all requesters together (``answer_burst`` at once)."""
    answer_burst: int = 1 << 20
    answer_repeat: float = 1.0
    """A record sent (by anyone) within this many seconds is not sent again to answer a
    hello: every message reaches every peer, so the asker got it too."""


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
    """A hello without ``since`` (0) is answered only with records the responder has held
    for this long (and the joiner doesn't list as known): younger ones are likely still
    on their way to it."""
    hello_skew: float = 0.0
    """A record published less than this long after a joiner's ``since`` (by the
    publishers' clocks) still counts as missed by it: clock differences between peers,
    and a joiner's gossip mesh still forming when it says hello."""
    hello_answer_spread: float = 0.1
    """Answers to hellos wait ``answer_delay`` plus up to this long (random), so that one
    answer serves joiners whose hellos arrive together and others' answers cancel ours."""
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
    wide_gossip_interval: float = 30.0
    """A new connection to a known peer makes the next gossip a wide digest (versions
    of ``budgets.digest_entries`` peers: a healed partition is compared at once) at most
    this often, unless it follows a separation from that peer (see docs/pubsub.md)."""
    peer_timeout: float = 120.0
    """Drop a peer (and its mirrors) not heard from for this long, or for 3 keepalives
    if longer (Go: never)."""
    share_links: bool = True
    """Publish a links record (own connections and mesh peers, ``limits.max_links`` each)
    after a heartbeat that saw them change, so peer graphs show remote links."""
    links_interval: float = 30.0
    """Minimum time between own links records after the connections changed (the first
    record goes out on the first heartbeat)..."""
    links_interval_per_peer: float = 0.5
    """...or ``known_peers * links_interval_per_peer`` if longer: every record reaches
    all N peers, and young networks' connection managers change connections in every
    interval (100 peers: a record every 50 s per peer, not 30 s)."""
    links_loss_delay: float = 0.5
    """A lost connection is reported in a links record this soon (not paced by
    ``links_interval``): its neighbours' reports are how peers notice a dead peer."""
    unreachable_grace: float = 2.0
    """An unreachable peer's mirrors go at the first heartbeat this long (or twice the
    recent transit time of info messages, if longer: its own newer links record may be
    on its way) after the verdict, unless it is heard from meanwhile; a verdict resting on
    one neighbour's report waits a keepalive longer (see docs/pubsub.md)."""
    links_refresh: float = 120.0
    """Minimum time between links records when only the gossip mesh changed (gossipsub
    meshes churn on their own)..."""
    links_refresh_per_peer: float = 4.0
    """...growing to ``known_peers * links_refresh_per_peer`` in big networks (N = 100:
    one mesh-only record per peer per 400 s, 0.25 per second network-wide)."""
    record_max_age: float = 3600.0
    """Info and clocks records older than this (by their owner's stamp) are rejected as
    ``expired``; owners re-sign their info record every ``record_max_age / 2``."""
    max_clock_skew: float = 60.0
    """Owner clocks may run this far ahead of ours: records stamped further in the future
    are rejected (``future``); ages within it count as zero."""
    tombstone_ttl: float = 7200.0
    """Forget departed peers after this long; longer than ``record_max_age +
    max_clock_skew``, so no record a tombstone covers can be replayed after it is gone."""
    connections_to_ready: int = 1
    """Topic peers needed for Ready (Go: ConnectionsToReady = 5)."""
    max_message_bytes: int = 512 << 10
    """Target size of outgoing messages; bigger answers are split."""
    limits: WireLimits = DEFAULT_LIMITS
    rates: RateLimits = field(default_factory=RateLimits)
    budgets: Budgets = field(default_factory=Budgets)
    seed: int | None = None
    """RNG seed (default: derived from the peer id)."""
    epoch: int | None = None
    """Session epoch of own records (default: wall-clock microseconds at start)."""

    def __post_init__(self) -> None:
        if self.tombstone_ttl <= self.record_max_age + self.max_clock_skew:
            raise ValueError(
                f"tombstone_ttl ({self.tombstone_ttl}) must exceed record_max_age + "
                f"max_clock_skew ({self.record_max_age + self.max_clock_skew}): a record "
                "could otherwise be replayed after the tombstone that covers it expired"
            )
