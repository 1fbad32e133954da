"""Known remote peers, their records and their machines' mirrors.

Go: the Topic's ``netMachs``, ``info``, ``pendingMachUpdates`` and
``missingPeers``/``missingUpdates`` maps. Everything here is synchronous and
takes the current time as an argument, so it is cheap to unit-test.
Records reach this module only after their signature was checked (or, on an
``AuthorSigned`` transport, the transport's signature of their owner's own message
that carried them; the engine checks theirs before relaying them).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass

from ._admission import make_room
from ._events import EventKind, Observer, TopicEvent
from ._outcomes import APPLIED, PENDING, Freshness, Outcome, rejected
from ._remote import (
    MirrorFactory,
    MirrorLike,
    RemoteMachine,
    RemotePeer,
    Revival,
    Tombstone,
    zeros,
)
from ._rendezvous import Ring, ring_key
from ._schemas import SchemaCache
from ._settings import Budgets
from ._wire import ClocksBody, DigestEntry, InfoBody, LinksBody, Record

log = logging.getLogger(__name__)

__all__ = ["MirrorFactory", "MirrorLike", "Registry", "RemoteMachine", "RemotePeer"]

_VIEW_XOR_MASK = 0x7FFF_FFFF_FFFF_FFFF
"""A view's xor is gossiped as a CBOR uint below 2^63."""


def _never(_peer_id: str) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class _Skipped:
    """``exclude`` and the peers last heard before ``since`` (what the ring skips)."""

    exclude: Collection[str]
    peers: Mapping[str, RemotePeer]
    since: float

    def __contains__(self, peer_id: object) -> bool:
        if peer_id in self.exclude:
            return True
        p = self.peers.get(peer_id) if isinstance(peer_id, str) else None
        return p is not None and p.last_heard < self.since


class Registry:
    """Remote peers and mirrors of one Topic, within :class:`Budgets`.

    ``preferred(peer_id)``: the peer is or was connected to this one (it ranks above
    peers only known from relayed records when the registry is full); ``rejected``
    counts budget refusals (``missing_full``; records return their own outcome).
    """

    def __init__(
        self,
        self_id: str,
        make_mirror: MirrorFactory,
        schemas: SchemaCache,
        emit: Observer,
        budgets: Budgets | None = None,
        *,
        preferred: Callable[[str], bool] = _never,
        rejected: Counter[str] | None = None,
    ) -> None:
        self.self_id = self_id
        self.make_mirror = make_mirror
        self.schemas = schemas
        self.emit = emit
        self.budgets = budgets or Budgets()
        self.preferred = preferred
        self.rejected: Counter[str] = Counter() if rejected is None else rejected
        self.mirror_count = 0
        """Mirrors held, of all peers."""
        self.state_count = 0
        """States of all mirrors held."""
        self.info_bytes = 0
        """Bytes of the info records held (their bodies)."""
        self._peers: dict[str, RemotePeer] = {}
        self._tombstones: dict[str, Tombstone] = {}
        self._pending: dict[str, tuple[Record, ClocksBody]] = {}
        self.pending_bytes = 0
        """Bytes of the pending clocks records (their bodies)."""
        self._pending_links: dict[str, tuple[Record, LinksBody]] = {}
        self._missing_info: dict[str, float] = {}
        self._missing_clocks: dict[str, tuple[int, int]] = {}
        self._ring = Ring()
        self._ring.add(self_id)
        self.self_key = ring_key(self_id)
        self._view_count = 1  # known peers plus self; with _view_xor a cheap digest
        self._view_xor = self.self_key
        self.last_new_peer_at = -math.inf
        """When the last previously unknown peer was discovered."""
        self.silence = math.inf
        """Peers not heard from (nor of, by their own stamps) for longer than this are
        not chosen to respond (:meth:`chosen`): a crashed peer answers nothing, and every
        peer sees about the same silence, as keepalives reach all. The engine's heartbeat
        sets it to twice the keepalive period."""

    # --- read-only views (mutated only through the methods below) ---

    @property
    def peers(self) -> Mapping[str, RemotePeer]:
        """Known peers by id (Go: the peers of ``netMachs``/``info``)."""
        return self._peers

    @property
    def pending(self) -> Mapping[str, tuple[Record, ClocksBody]]:
        """Clocks waiting for their (newer) info record (Go: pendingMachUpdates)."""
        return self._pending

    @property
    def missing_info(self) -> Mapping[str, float]:
        """Peers whose (newer) info we need, with the time noticed (Go: missingPeers)."""
        return self._missing_info

    @property
    def missing_clocks(self) -> Mapping[str, tuple[int, int]]:
        """Peers whose newer clocks we need: wanted (epoch, seq) (Go: missingUpdates)."""
        return self._missing_clocks

    def view(self) -> tuple[int, int]:
        """(count, xor of ring keys) of the known peers and self."""
        return self._view_count, self._view_xor & _VIEW_XOR_MASK

    def lacks_only_self(self, view: tuple[int, int]) -> bool:
        """``view`` (someone's gossiped view) is ours without this peer: it knows every
        peer we know but not us."""
        count, xor = self.view()
        return view == (count - 1, (xor ^ self.self_key) & _VIEW_XOR_MASK)

    def chosen(
        self, nonce: int, k: int, exclude: Collection[str], now: float | None = None
    ) -> list[str]:
        """The ``k`` responders to request ``nonce`` among known peers and self, but
        ``exclude`` and, at Trio time ``now``, peers silent for over :attr:`silence`."""
        if now is None or self.silence == math.inf:
            return self._ring.chosen(nonce, k, exclude)
        return self._ring.chosen(nonce, k, _Skipped(exclude, self._peers, now - self.silence))

    def unknown_to(self, known: Collection[int], held_since: float, exclude: str) -> list[str]:
        """Peers (not ``exclude``) whose ring keys are not in ``known``, discovered here
        no later than ``held_since`` (what a hello's author misses)."""
        return [
            pid
            for pid, p in self._peers.items()
            if pid != exclude and p.discovered_at <= held_since and p.key not in known
        ]

    def discovery_paused_at(self, quiet: float) -> float:
        """When discovery here will have paused for ``quiet`` seconds (no previously
        unknown peer since): until then hellos and their answers are still streaming
        in, and repeating a hello or a request for info is premature."""
        return self.last_new_peer_at + quiet

    def is_tombstoned(self, peer_id: str) -> bool:
        """A tombstone of the peer (it left or timed out) is kept."""
        return peer_id in self._tombstones

    def holds(self, peer_id: str, clocks: bool) -> bool:
        """The peer's info (and, with ``clocks``, a clocks record) is held here."""
        p = self._peers.get(peer_id)
        return p is not None and (not clocks or p.clock_rec is not None)

    # --- missing records (Go: missingPeers / missingUpdates) ---

    def _missing_room(self) -> bool:
        """Another missing entry fits the budget (else counted ``missing_full``)."""
        if len(self._missing_info) + len(self._missing_clocks) < self.budgets.missing:
            return True
        self.rejected["missing_full"] += 1
        return False

    def want_info(self, peer_id: str, since: float) -> None:
        """Mark a peer's info missing from ``since`` (kept if marked already; dropped
        when the missing tables are full)."""
        if peer_id in self._missing_info or self._missing_room():
            self._missing_info.setdefault(peer_id, since)

    def forget_missing(self, peer_id: str, clocks: bool) -> None:
        """Stop wanting a peer's info (or clocks): requests for it went unanswered."""
        (self._missing_clocks if clocks else self._missing_info).pop(peer_id, None)

    def is_missing(self, peer_id: str) -> bool:
        """Some record of the peer is wanted (its info or newer clocks)."""
        return peer_id in self._missing_info or peer_id in self._missing_clocks

    # --- checking records ---

    def check(self, rec: Record, clocks: bool) -> Freshness:
        """Classify an info (or clocks) record by its header."""
        t = self._tombstones.get(rec.owner)
        if t is not None:
            if t.bye and rec.epoch <= t.epoch:
                return Freshness.DEPARTED
            held = (t.epoch, t.clock_seq if clocks else t.info_seq)
            # an unreachable peer's current records may come back (a healed partition:
            # pulls and answers relay them); a departed or timed-out one's may not
            revives = t.revival is Revival.BY_RECORDS
            if rec.version < held or (rec.version == held and not revives):
                return Freshness.STALE
        p = self._peers.get(rec.owner)
        if p is None:
            return Freshness.NEW
        return _compare(rec.version, (p.epoch, p.clock_seq if clocks else p.info_seq))

    def check_links(self, rec: Record) -> Freshness:
        """Classify a links record (unknown peers: NEW)."""
        t = self._tombstones.get(rec.owner)
        if t is not None and rec.epoch <= t.epoch:
            return Freshness.DEPARTED if t.bye else Freshness.STALE
        p = self._peers.get(rec.owner)
        if p is None or p.links_rec is None:
            new = p is None or rec.epoch >= p.epoch
            return Freshness.NEW if new else Freshness.STALE
        return _compare(rec.version, p.links_rec.version)

    def has_at_least(self, rec: Record, clocks: bool) -> bool:
        """True when ``rec`` is not newer than what we hold (an answer we'd send is moot)."""
        p = self._peers.get(rec.owner)
        if p is None:
            return False
        return rec.version >= (p.epoch, p.clock_seq if clocks else p.info_seq)

    def heard(self, peer_id: str, now: float) -> None:
        """The peer was heard from (or seen by the transport): its timeout restarts."""
        p = self._peers.get(peer_id)
        if p is not None and now > p.last_heard:
            p.last_heard = now

    # --- applying records ---

    def apply_links(self, rec: Record, body: LinksBody, at: float) -> Outcome:
        """Store a verified NEW links record (pending until the owner's info is held)."""
        p = self._peers.get(rec.owner)
        if p is None or body.epoch > p.epoch:
            if p is None and len(self._pending_links) >= self.budgets.pending:
                return rejected("pending_full")
            prev = self._pending_links.get(rec.owner)
            if prev is None or rec.version > prev[0].version:
                self._pending_links[rec.owner] = (rec, body)
            return PENDING
        if body.epoch < p.epoch:
            return rejected("stale")
        p.links_rec, p.links = rec, body
        self.emit(TopicEvent(EventKind.LINKS_UPDATED, rec.owner, at))
        return APPLIED

    def apply_info(
        self, rec: Record, body: InfoBody, at: float, alive: float | None = None
    ) -> Outcome:
        """Store a verified, NEW info record; create/replace mirrors. Rejected (reason
        ``schema``) when a schema cannot be compiled, ``over_budget`` when it does not
        fit the budgets: nothing is stored then. ``alive``: the owner's sign of life
        (its stamp, on this peer's clock; default ``at``)."""
        alive = at if alive is None else alive
        try:
            compiled = [self.schemas.get(m.schema) for m in body.machines]
        except Exception as e:
            log.debug("info of %s: bad schema: %s", rec.owner, e)
            return rejected("schema")
        if not make_room(self, rec.owner, body, len(rec.body), alive, at):
            return rejected("over_budget")
        self._tombstones.pop(rec.owner, None)
        p = self._peers.get(rec.owner)
        self.info_bytes += len(rec.body) - (0 if p is None else len(p.info_rec.body))
        if p is not None and body.epoch > p.epoch:
            # records of the new session that arrived before this info stay pending
            replaced = len(p.info_rec.body)
            self.remove_peer(rec.owner, "new_session", at, tombstone=False, keep_pending=True)
            self.info_bytes += replaced  # counted as replaced above already
            p = None
        if p is None:
            p = RemotePeer(rec.owner, body.epoch, body.seq, rec, at, alive, key=ring_key(rec.owner))
            self._peers[rec.owner] = p
            self._view_count += 1
            self._view_xor ^= p.key
            self.last_new_peer_at = at
            self._ring.add(rec.owner, p.key)
            self.emit(TopicEvent(EventKind.PEER_DISCOVERED, rec.owner, at))
        p.info_seq = body.seq
        p.info_rec = rec
        p.addrs = body.addrs
        p.last_heard = max(p.last_heard, alive)
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
            self.mirror_count += 1
            self.state_count += len(m.schema.names)
            new.append(RemoteMachine(rec.owner, i, m, mirror, zeros(len(m.schema.names))))
            self.emit(TopicEvent(EventKind.MACHINE_DISCOVERED, rec.owner, at, m.id, i))
        for prev in old[len(body.machines) :]:
            self._dispose(prev, at, "unexposed")
        p.machines = new
        self._missing_info.pop(rec.owner, None)
        self._apply_pending(p, at)
        return APPLIED

    def _apply_pending(self, p: RemotePeer, at: float) -> None:
        """After an info record: apply the links and clocks that waited for it, and
        drop those of older sessions or info records (they can never apply)."""
        plinks = self._pending_links.pop(p.peer_id, None)
        if plinks is not None and plinks[1].epoch == p.epoch:
            self.apply_links(plinks[0], plinks[1], at)
        pend = self._pending.get(p.peer_id)
        if pend is None:
            return
        body = pend[1]
        if body.epoch < p.epoch or (body.epoch == p.epoch and body.info_seq <= p.info_seq):
            self._unpend(p.peer_id)
            same_info = body.epoch == p.epoch and body.info_seq == p.info_seq
            if same_info and pend[0].version > (p.epoch, p.clock_seq):
                self.apply_clocks(pend[0], body, at)

    def _unpend(self, peer_id: str) -> None:
        pend = self._pending.pop(peer_id, None)
        if pend is not None:
            self.pending_bytes -= len(pend[0].body)

    def apply_clocks(
        self, rec: Record, body: ClocksBody, at: float, alive: float | None = None
    ) -> Outcome:
        """Apply a verified, NEW clocks record: pending while its info is not held,
        rejected as ``stale`` (for an older machine list) or ``shape`` (mismatch).
        ``alive``: the owner's sign of life, as in :meth:`apply_info`."""
        alive = at if alive is None else alive
        p = self._peers.get(rec.owner)
        if p is None or body.epoch > p.epoch or body.info_seq > p.info_seq:
            prev = self._pending.get(rec.owner)
            size = len(rec.body) - (0 if prev is None else len(prev[0].body))
            if (prev is None and len(self._pending) >= self.budgets.pending) or (
                self.pending_bytes + size > self.budgets.pending_bytes
            ):
                return rejected("pending_full")
            if prev is None or rec.version > prev[0].version:
                self._pending[rec.owner] = (rec, body)
                self.pending_bytes += size
            self.want_info(rec.owner, at)
            return PENDING
        if body.info_seq < p.info_seq:
            return rejected("stale")
        if len(body.clocks) != len(p.machines):
            return rejected("shape")
        for rm, ticks in zip(p.machines, body.clocks, strict=True):
            if len(ticks) != len(rm.info.schema.names):
                return rejected("shape")
        p.clock_seq = body.seq
        p.clock_rec = rec
        p.last_heard = max(p.last_heard, alive)
        for rm, ticks in zip(p.machines, body.clocks, strict=True):
            if ticks == rm.clock:
                continue
            rm.clock = ticks
            rm.mirror.update_clock(ticks)
            kind = EventKind.CLOCK_UPDATED
            ev = TopicEvent(kind, rec.owner, at, rm.info.id, rm.index, ticks, stamp_ms=body.time)
            self.emit(ev)
        want = self._missing_clocks.get(rec.owner)
        if want is not None and want <= rec.version:
            del self._missing_clocks[rec.owner]
        return APPLIED

    # --- removal ---

    def _dispose(self, rm: RemoteMachine, at: float, reason: str) -> None:
        self.mirror_count -= 1
        self.state_count -= len(rm.info.schema.names)
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
        keep_pending: bool = False,
        revival: Revival = Revival.NEVER,
    ) -> bool:
        """Forget a peer and dispose its mirrors (Go: never done, defect 7)."""
        p = self._peers.pop(peer_id, None)
        if not keep_pending:
            self._unpend(peer_id)
            self._pending_links.pop(peer_id, None)
        self._missing_info.pop(peer_id, None)
        self._missing_clocks.pop(peer_id, None)
        self._ring.discard(peer_id)
        if tombstone:
            self._tombstones.pop(peer_id, None)
            if len(self._tombstones) >= self.budgets.tombstones:
                del self._tombstones[next(iter(self._tombstones))]  # the oldest
            if p is not None:
                self._tombstones[peer_id] = Tombstone(
                    max(p.epoch, epoch), p.info_seq, p.clock_seq, bye, at, revival
                )
            else:
                self._tombstones[peer_id] = Tombstone(epoch, 1 << 62, 1 << 62, bye, at)
        if p is None:
            return False
        self._view_count -= 1
        self._view_xor ^= p.key
        self.info_bytes -= len(p.info_rec.body)
        for rm in p.machines:
            self._dispose(rm, at, reason)
        p.machines = []
        self.emit(TopicEvent(EventKind.PEER_REMOVED, peer_id, at, reason=reason))
        return True

    def expire(self, now: float, timeout: float, tombstone_ttl: float) -> list[str]:
        """Drop peers silent for ``timeout``; forget old tombstones."""
        gone = [pid for pid, p in self._peers.items() if now - p.last_heard > timeout]
        for pid in gone:
            self.remove_peer(pid, "timeout", now, revival=Revival.BY_ITSELF)
        old = [pid for pid, t in self._tombstones.items() if now - t.at > tombstone_ttl]
        for pid in old:
            del self._tombstones[pid]
        return gone

    def revive(self, peer_id: str) -> bool:
        """``peer_id`` authored a message itself: lift a tombstone left by an
        "unreachable" verdict or a timeout (a partition, perhaps longer than the peer
        timeout, not a departure), so its records are taken again. Bye and eviction
        tombstones stay."""
        t = self._tombstones.get(peer_id)
        if t is None or t.revival is Revival.NEVER:
            return False
        del self._tombstones[peer_id]
        return True

    def dispose_all(self, at: float) -> None:
        for pid in list(self._peers):
            self.remove_peer(pid, "disposed", at, tombstone=False)

    # --- gossip ---

    def note_digest(self, e: DigestEntry, now: float) -> None:
        """Compare a gossiped version with ours; remember what is missing."""
        if e.peer == self.self_id:
            return
        t = self._tombstones.get(e.peer)
        if t is not None:
            if t.bye and e.epoch <= t.epoch:
                return
            if (e.epoch, e.info_seq) <= (t.epoch, t.info_seq) and (e.epoch, e.clock_seq) <= (
                t.epoch,
                t.clock_seq,
            ):
                return
        p = self._peers.get(e.peer)
        if p is None or (e.epoch, e.info_seq) > (p.epoch, p.info_seq):
            self.want_info(e.peer, now)
            return
        if (e.epoch, e.clock_seq) > (p.epoch, p.clock_seq):
            want = self._missing_clocks.get(e.peer)
            v = (e.epoch, e.clock_seq)
            if (want is not None or self._missing_room()) and (want is None or v > want):
                self._missing_clocks[e.peer] = v

    # --- listing (Go: ListMachines; filters: see _filter.MachineFilter) ---

    def machines(self) -> Iterator[RemoteMachine]:
        """Every remote machine held, peer by peer, in exposure order."""
        for p in self._peers.values():
            yield from p.machines


def _compare(v: tuple[int, int], held: tuple[int, int]) -> Freshness:
    if v > held:
        return Freshness.NEW
    return Freshness.DUP if v == held else Freshness.STALE
