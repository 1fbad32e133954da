"""The connection manager's address book: who we could dial, learned from where.

Transport-agnostic (plain strings, Trio's clock passed in as ``now``) so the simulator's
model backend can run the same book. Bounded three ways, because every entry can come
from a remote peer: at most :data:`MAX_BOOK_PEERS` peers, :data:`MAX_ADDRS_PER_PEER`
addresses per peer and :data:`MAX_ADDR_LEN` characters per address. What does not fit
or does not parse is dropped and counted by :class:`DropReason`, never raised.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

MAX_BOOK_PEERS = 1024
"""Peers the book holds. When full, a new peer evicts the unconnected, non-bootstrap
entry with the most failed dials (then the least recently seen); if no entry has failed
yet, the new peer is dropped, so a flood of fresh ids cannot flush working peers."""

MAX_ADDRS_PER_PEER = 8
"""Addresses kept per peer; newer ones replace the oldest (a peer announcing thousands
of addresses costs a bounded amount and at most one dial at a time)."""

MAX_ADDR_LEN = 256
"""Longest address string accepted (a multiaddr with an ip6 host and /p2p id is ~110)."""


class AddressSource(enum.Enum):
    """Where an address came from (Go: the peerstore's TTL classes, named by origin)."""

    BOOTSTRAP = "bootstrap"  # given by the user; never evicted
    SAVED = "saved"  # from a previous run's peer file; never evicted
    RECORD = "record"  # the owner's own signed topic record (cannot be forged by a relay)
    IDENTIFY = "identify"  # libp2p identify of a connected peer (its listen addresses)
    PX = "px"  # gossipsub peer exchange on PRUNE (signed peer records)
    DHT = "dht"  # Kademlia FIND_NODE answers (signed peer records where present)
    MDNS = "mdns"  # LAN multicast discovery


PINNED_SOURCES = frozenset({AddressSource.BOOTSTRAP, AddressSource.SAVED})
"""Sources whose peers are never evicted from the book."""


class DropReason(enum.Enum):
    """Why a learned address or peer was not stored."""

    MALFORMED = "malformed"  # not an address string the validator accepts
    OWN = "own"  # this peer's own id
    TOO_MANY = "too_many"  # beyond MAX_ADDRS_PER_PEER in one announcement
    BOOK_FULL = "book_full"  # MAX_BOOK_PEERS reached and nothing evictable


AddrValidator = Callable[[str, str], str]
"""``validate(peer_id, addr) -> normalized addr``; raises ValueError to reject it."""


def basic_addr_validator(peer_id: str, addr: str) -> str:
    """Accept any ``/``-prefixed string (the model backend's addresses); transports
    with a real address syntax pass a stricter validator."""
    if not isinstance(addr, str) or not addr.startswith("/"):
        raise ValueError(f"not an address: {addr!r}")
    return addr


@dataclass(slots=True)
class PeerEntry:
    """What the book knows about one peer. Times are ``trio.current_time()`` values."""

    peer_id: str
    addrs: dict[str, AddressSource] = field(default_factory=dict)  # insertion = age order
    source: AddressSource = AddressSource.RECORD  # the most trusted source seen so far
    last_seen: float = 0.0  # last learned about or connected
    failures: int = 0  # consecutive failed dials (reset by a connection)
    next_attempt: float = 0.0  # not dialled before this
    connected_since: float | None = None
    links: frozenset[str] = frozenset()  # the peer's own connections, if reported

    @property
    def pinned(self) -> bool:
        return self.source in PINNED_SOURCES


_TRUST = list(AddressSource)  # earlier members are more trusted / more durable


class AddressBook:
    """Bounded peer id → :class:`PeerEntry` map with counted drops."""

    def __init__(
        self,
        own_id: str,
        validate: AddrValidator = basic_addr_validator,
        *,
        max_peers: int = MAX_BOOK_PEERS,
        max_addrs: int = MAX_ADDRS_PER_PEER,
    ) -> None:
        if max_peers < 1 or max_addrs < 1:
            raise ValueError(f"book bounds must be >= 1, got {max_peers}, {max_addrs}")
        self.own_id = own_id
        self._validate = validate
        self.max_peers = max_peers
        self.max_addrs = max_addrs
        self.peers: dict[str, PeerEntry] = {}
        self.dropped: dict[DropReason, int] = dict.fromkeys(DropReason, 0)

    def __len__(self) -> int:
        return len(self.peers)

    def get(self, peer_id: str) -> PeerEntry | None:
        return self.peers.get(peer_id)

    def learn(
        self, peer_id: str, addrs: Iterable[str], source: AddressSource, now: float
    ) -> PeerEntry | None:
        """Add ``addrs`` of ``peer_id``; returns the entry (None if nothing was stored).

        Looks at no more than ``4 * max_addrs`` of ``addrs`` (the rest counts as TOO_MANY
        without being parsed), so a huge announcement costs bounded work.
        """
        if peer_id == self.own_id:
            self.dropped[DropReason.OWN] += 1
            return None
        valid: list[str] = []
        for i, addr in enumerate(addrs):
            if i >= 4 * self.max_addrs:
                self.dropped[DropReason.TOO_MANY] += 1
                break
            if not isinstance(addr, str) or len(addr) > MAX_ADDR_LEN:
                self.dropped[DropReason.MALFORMED] += 1
                continue
            try:
                valid.append(self._validate(peer_id, addr))
            except ValueError:
                self.dropped[DropReason.MALFORMED] += 1
        if len(valid) > self.max_addrs:
            self.dropped[DropReason.TOO_MANY] += len(valid) - self.max_addrs
            valid = valid[-self.max_addrs :]
        if not valid:
            return None
        entry = self.peers.get(peer_id)
        if entry is None:
            if len(self.peers) >= self.max_peers and not self._evict_one():
                self.dropped[DropReason.BOOK_FULL] += 1
                return None
            entry = self.peers[peer_id] = PeerEntry(peer_id, source=source)
        elif _TRUST.index(source) < _TRUST.index(entry.source):
            entry.source = source
        for addr in valid:
            entry.addrs.pop(addr, None)  # re-insert as newest
            entry.addrs[addr] = source
        while len(entry.addrs) > self.max_addrs:
            del entry.addrs[next(iter(entry.addrs))]
        entry.last_seen = max(entry.last_seen, now)
        return entry

    def forget(self, peer_id: str) -> None:
        self.peers.pop(peer_id, None)

    def _evict_one(self) -> bool:
        victims = [e for e in self.peers.values() if not e.pinned and e.connected_since is None]
        if not victims:
            return False
        worst = max(victims, key=lambda e: (e.failures, -e.last_seen))
        if worst.failures == 0:  # a flood of new ids must not flush peers that may work
            return False
        del self.peers[worst.peer_id]
        return True
