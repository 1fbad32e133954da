"""Known remote peers, their records and their machines' mirrors.

Go: the Topic's ``netMachs``, ``info``, ``pendingMachUpdates`` and
``missingPeers``/``missingUpdates`` maps. Everything here is synchronous and
takes the current time as an argument, so it is cheap to unit-test.
Records reach this module only after their signature was checked.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..machine import CompiledSchema
from ._events import EventKind, Observer, TopicEvent
from ._rendezvous import Ring, ring_key
from ._schemas import SchemaCache
from ._wire import ClocksBody, DigestEntry, InfoBody, LinksBody, MachineInfo, Record

log = logging.getLogger(__name__)

_ZEROS: dict[int, tuple[int, ...]] = {}


def _zeros(n: int) -> tuple[int, ...]:
    """A shared all-zero clock of ``n`` ticks (saves a tuple per mirror)."""
    z = _ZEROS.get(n)
    if z is None:
        z = _ZEROS[n] = (0,) * n
    return z


# header check results
NEW = "new"
DUP = "dup"
STALE = "stale"
DEPARTED = "departed"


class MirrorLike(Protocol):
    """What the registry needs from a mirror (ReadOnlyMachine)."""

    id: str
    tags: list[str]
    parent_id: str

    def update_clock(self, ticks: Sequence[int]) -> bool: ...

    def dispose(self) -> None: ...


MirrorFactory = Callable[[CompiledSchema, MachineInfo], MirrorLike]


@dataclass(slots=True)
class RemoteMachine:
    """A remote machine: where it lives, what it is, and its local mirror."""

    peer_id: str
    index: int
    info: MachineInfo
    mirror: MirrorLike
    clock: tuple[int, ...] = ()
    updated_at: float = 0.0


@dataclass(slots=True)
class RemotePeer:
    """A peer known from a valid, signed info record."""

    peer_id: str
    epoch: int
    info_seq: int
    info_rec: Record
    discovered_at: float
    last_heard: float
    clock_seq: int = -1
    clock_rec: Record | None = None
    machines: list[RemoteMachine] = field(default_factory=list)
    key: int = 0
    """Ring key of the peer id (for views and hello ``known`` lists)."""
    links_rec: Record | None = None
    links: LinksBody | None = None
    """The peer's own report of its connections and mesh peers (a links record)."""

    def digest(self) -> DigestEntry:
        return DigestEntry(self.peer_id, self.epoch, self.info_seq, max(self.clock_seq, 0))


@dataclass(slots=True)
class Tombstone:
    """A peer that left (bye) or went silent; older records must not revive it."""

    epoch: int
    info_seq: int
    clock_seq: int
    bye: bool
    at: float


class Registry:
    """Remote peers and mirrors of one Topic."""

    def __init__(
        self,
        self_id: str,
        make_mirror: MirrorFactory,
        schemas: SchemaCache,
        emit: Observer,
        max_pending: int = 1024,
    ) -> None:
        self.self_id = self_id
        self.make_mirror = make_mirror
        self.schemas = schemas
        self.emit = emit
        self.max_pending = max_pending
        self.peers: dict[str, RemotePeer] = {}
        self.tombstones: dict[str, Tombstone] = {}
        self.pending: dict[str, tuple[Record, ClocksBody]] = {}
        """Clocks waiting for their (newer) info record (Go: pendingMachUpdates)."""
        self.pending_links: dict[str, tuple[Record, LinksBody]] = {}
        """Links records of peers whose info is not known yet."""
        self.missing_info: dict[str, float] = {}
        """Peers whose (newer) info we need, with the time noticed (Go: missingPeers)."""
        self.missing_clocks: dict[str, tuple[int, int]] = {}
        """Peers whose newer clocks we need: wanted (epoch, seq) (Go: missingUpdates)."""
        self.ring = Ring()
        self.ring.add(self_id)
        self.self_key = ring_key(self_id)
        self.view_count = 1
        """Known peers plus self; with :attr:`view_xor` a cheap digest of the view."""
        self.view_xor = self.self_key
        self.last_new_peer_at = -math.inf
        """When the last previously unknown peer was discovered."""

    def view(self) -> tuple[int, int]:
        """(count, xor of ring keys) of the known peers and self."""
        return self.view_count, self.view_xor & 0x7FFF_FFFF_FFFF_FFFF  # a CBOR uint < 2^63

    # --- lookups ---

    def machines(self) -> Iterator[RemoteMachine]:
        for p in self.peers.values():
            yield from p.machines

    def machine_count(self) -> int:
        return sum(len(p.machines) for p in self.peers.values())

    def check(self, rec: Record, clocks: bool) -> str:
        """Classify a record by its header: NEW, DUP, STALE or DEPARTED."""
        t = self.tombstones.get(rec.owner)
        if t is not None:
            if t.bye and rec.epoch <= t.epoch:
                return DEPARTED
            if rec.version <= (t.epoch, t.clock_seq if clocks else t.info_seq):
                return STALE
        p = self.peers.get(rec.owner)
        if p is None:
            return NEW
        known = (p.epoch, p.clock_seq if clocks else p.info_seq)
        v = rec.version
        return NEW if v > known else DUP if v == known else STALE

    def check_links(self, rec: Record) -> str:
        """Classify a links record: NEW, DUP, STALE or DEPARTED (unknown peers: NEW)."""
        t = self.tombstones.get(rec.owner)
        if t is not None and rec.epoch <= t.epoch:
            return DEPARTED if t.bye else STALE
        p = self.peers.get(rec.owner)
        if p is None or p.links_rec is None:
            return NEW if p is None or rec.epoch >= p.epoch else STALE
        v, known = rec.version, p.links_rec.version
        return NEW if v > known else DUP if v == known else STALE

    def apply_links(self, rec: Record, body: LinksBody, at: float) -> str:
        """Store a verified NEW links record: "applied", "pending" (info first) or "stale"."""
        p = self.peers.get(rec.owner)
        if p is None or body.epoch > p.epoch:
            if p is None and len(self.pending_links) >= self.max_pending:
                return "pending_full"
            prev = self.pending_links.get(rec.owner)
            if prev is None or rec.version > prev[0].version:
                self.pending_links[rec.owner] = (rec, body)
            return "pending"
        if body.epoch < p.epoch:
            return "stale"
        p.links_rec, p.links = rec, body
        self.emit(TopicEvent(EventKind.LINKS_UPDATED, rec.owner, at))
        return "applied"

    def has_at_least(self, rec: Record, clocks: bool) -> bool:
        """True when ``rec`` is not newer than what we hold (an answer we'd send is moot)."""
        p = self.peers.get(rec.owner)
        if p is None:
            return False
        return rec.version >= (p.epoch, p.clock_seq if clocks else p.info_seq)

    def heard(self, peer_id: str, now: float) -> None:
        p = self.peers.get(peer_id)
        if p is not None and now > p.last_heard:
            p.last_heard = now

    # --- applying records ---

    def apply_info(self, rec: Record, body: InfoBody, at: float) -> bool:
        """Store a verified, NEW info record; create/replace mirrors. Returns False on
        a schema that cannot be compiled (nothing stored then)."""
        try:
            compiled = [self.schemas.get(m.schema) for m in body.machines]
        except Exception as e:
            log.debug("info of %s: bad schema: %s", rec.owner, e)
            return False
        self.tombstones.pop(rec.owner, None)
        p = self.peers.get(rec.owner)
        if p is not None and body.epoch > p.epoch:
            self.remove_peer(rec.owner, "new_session", at, tombstone=False)
            p = None
        if p is None:
            p = RemotePeer(rec.owner, body.epoch, body.seq, rec, at, at, key=ring_key(rec.owner))
            self.peers[rec.owner] = p
            self.view_count += 1
            self.view_xor ^= p.key
            self.last_new_peer_at = at
            self.ring.add(rec.owner, p.key)
            self.emit(TopicEvent(EventKind.PEER_DISCOVERED, rec.owner, at))
        p.info_seq = body.seq
        p.info_rec = rec
        p.last_heard = max(p.last_heard, at)
        old = p.machines
        new: list[RemoteMachine] = []
        for i, m in enumerate(body.machines):
            prev = old[i] if i < len(old) else None
            if prev is not None and prev.info.id == m.id and prev.info.schema == m.schema:
                prev.info = m
                prev.mirror.tags = list(m.tags)
                prev.mirror.parent_id = m.parent
                new.append(prev)
                continue
            if prev is not None:
                self._dispose(prev, at, "replaced")
            mirror = self.make_mirror(compiled[i], m)
            new.append(RemoteMachine(rec.owner, i, m, mirror, _zeros(len(m.schema.names)), at))
            self.emit(TopicEvent(EventKind.MACHINE_DISCOVERED, rec.owner, at, m.id, i))
        for prev in old[len(body.machines) :]:
            self._dispose(prev, at, "unexposed")
        p.machines = new
        self.missing_info.pop(rec.owner, None)
        plinks = self.pending_links.pop(rec.owner, None)
        if plinks is not None and plinks[1].epoch == p.epoch:
            self.apply_links(plinks[0], plinks[1], at)
        pend = self.pending.get(rec.owner)
        if pend is not None and pend[1].epoch == p.epoch and pend[1].info_seq <= p.info_seq:
            del self.pending[rec.owner]
            if pend[1].info_seq == p.info_seq and pend[0].version > (p.epoch, p.clock_seq):
                self.apply_clocks(pend[0], pend[1], at)
        return True

    def apply_clocks(self, rec: Record, body: ClocksBody, at: float) -> str:
        """Apply a verified, NEW clocks record. Returns "applied", "pending" (info
        needed first), "stale" (for an older machine list) or "shape" (mismatch)."""
        p = self.peers.get(rec.owner)
        if p is None or body.epoch > p.epoch or body.info_seq > p.info_seq:
            prev = self.pending.get(rec.owner)
            if prev is None and len(self.pending) >= self.max_pending:
                return "pending_full"
            if prev is None or rec.version > prev[0].version:
                self.pending[rec.owner] = (rec, body)
            self.missing_info.setdefault(rec.owner, at)
            return "pending"
        if body.info_seq < p.info_seq:
            return "stale"
        if len(body.clocks) != len(p.machines):
            return "shape"
        for rm, ticks in zip(p.machines, body.clocks, strict=True):
            if len(ticks) != len(rm.info.schema.names):
                return "shape"
        p.clock_seq = body.seq
        p.clock_rec = rec
        for rm, ticks in zip(p.machines, body.clocks, strict=True):
            if ticks == rm.clock:
                continue
            rm.clock = ticks
            rm.updated_at = at
            rm.mirror.update_clock(ticks)
            self.emit(
                TopicEvent(EventKind.CLOCK_UPDATED, rec.owner, at, rm.info.id, rm.index, ticks)
            )
        want = self.missing_clocks.get(rec.owner)
        if want is not None and want <= rec.version:
            del self.missing_clocks[rec.owner]
        return "applied"

    # --- removal ---

    def _dispose(self, rm: RemoteMachine, at: float, reason: str) -> None:
        rm.mirror.dispose()
        self.emit(
            TopicEvent(
                EventKind.MACHINE_REMOVED, rm.peer_id, at, rm.info.id, rm.index, reason=reason
            )
        )

    def remove_peer(
        self,
        peer_id: str,
        reason: str,
        at: float,
        *,
        tombstone: bool = True,
        bye: bool = False,
        epoch: int = 0,
    ) -> bool:
        """Forget a peer and dispose its mirrors (Go: never done, defect 7)."""
        p = self.peers.pop(peer_id, None)
        self.pending.pop(peer_id, None)
        self.pending_links.pop(peer_id, None)
        self.missing_info.pop(peer_id, None)
        self.missing_clocks.pop(peer_id, None)
        self.ring.discard(peer_id)
        if tombstone:
            if p is not None:
                self.tombstones[peer_id] = Tombstone(
                    max(p.epoch, epoch), p.info_seq, p.clock_seq, bye, at
                )
            else:
                self.tombstones[peer_id] = Tombstone(epoch, 1 << 62, 1 << 62, bye, at)
        if p is None:
            return False
        self.view_count -= 1
        self.view_xor ^= p.key
        for rm in p.machines:
            self._dispose(rm, at, reason)
        p.machines = []
        self.emit(TopicEvent(EventKind.PEER_REMOVED, peer_id, at, reason=reason))
        return True

    def expire(self, now: float, timeout: float, tombstone_ttl: float) -> list[str]:
        """Drop peers silent for ``timeout``; forget old tombstones."""
        gone = [pid for pid, p in self.peers.items() if now - p.last_heard > timeout]
        for pid in gone:
            self.remove_peer(pid, "timeout", now)
        old = [pid for pid, t in self.tombstones.items() if now - t.at > tombstone_ttl]
        for pid in old:
            del self.tombstones[pid]
        return gone

    def dispose_all(self, at: float) -> None:
        for pid in list(self.peers):
            self.remove_peer(pid, "disposed", at, tombstone=False)

    # --- gossip ---

    def note_digest(self, e: DigestEntry, now: float) -> None:
        """Compare a gossiped version with ours; remember what is missing."""
        if e.peer == self.self_id:
            return
        t = self.tombstones.get(e.peer)
        if t is not None:
            if t.bye and e.epoch <= t.epoch:
                return
            if (e.epoch, e.info_seq) <= (t.epoch, t.info_seq) and (e.epoch, e.clock_seq) <= (
                t.epoch,
                t.clock_seq,
            ):
                return
        p = self.peers.get(e.peer)
        if p is None or (e.epoch, e.info_seq) > (p.epoch, p.info_seq):
            self.missing_info.setdefault(e.peer, now)
            return
        if (e.epoch, e.clock_seq) > (p.epoch, p.clock_seq):
            want = self.missing_clocks.get(e.peer)
            v = (e.epoch, e.clock_seq)
            if want is None or v > want:
                self.missing_clocks[e.peer] = v

    # --- listing (Go: ListMachines) ---

    def list(
        self,
        *,
        id: str | None = None,
        id_partial: str | None = None,
        id_regex: str | re.Pattern[str] | None = None,
        peer_id: str | None = None,
        parent: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> list[RemoteMachine]:
        """Remote machines matching all given filters (on the *source* machine's fields)."""
        rx = re.compile(id_regex) if isinstance(id_regex, str) else id_regex
        want_tags = set(tags) if tags is not None else None
        peers: Iterable[RemotePeer]
        if peer_id is not None:
            p = self.peers.get(peer_id)
            peers = [p] if p is not None else []
        else:
            peers = self.peers.values()
        out: list[RemoteMachine] = []
        for p in peers:
            for rm in p.machines:
                m = rm.info
                if id is not None and m.id != id:
                    continue
                if id_partial is not None and id_partial not in m.id:
                    continue
                if rx is not None and rx.search(m.id) is None:
                    continue
                if parent is not None and m.parent != parent:
                    continue
                if want_tags is not None and not want_tags.issubset(m.tags):
                    continue
                out.append(rm)
        return out
