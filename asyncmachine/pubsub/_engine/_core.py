"""The engine: receives, dispatches and runs the parts' work (Go: pkg/pubsub topic.go).

Go: the handlers of topic.go (ProcessMsgs, MsgInfo, MsgUpdates, MsgGossip,
SendInfo/DoSendInfo, SendUpdates, SendGossips, ReqMissingPeers,
ReqMissingUpdates, MsgReqInfo, MsgReqUpdates, Heartbeat). The logic lives in
small parts (:class:`Scheduler`, :class:`Sender`, :class:`Outgoing`,
:class:`Intake`, :class:`Answers`, :class:`Requests`, :class:`Hello`,
:class:`Liveness`); this class wires them to the Topic machine's states.
No libp2p types: the engine talks to a :class:`GossipTransport`.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Collection, Iterable
from typing import NoReturn

import trio

from ...machine import Machine
from .._events import EventKind, Observer, TopicEvent, TopicMetrics
from .._local import LocalRecords
from .._outcomes import Outcome, Take
from .._ratelimit import RateLimiter
from .._registry import Registry
from .._remote import Revival
from .._settings import TopicSettings
from .._topic_states import ss
from .._transport import (
    GossipMessage,
    GossipTransport,
    PeerEvent,
    PeerEventKind,
    SelfOrganizing,
    author_signed,
)
from .._wallclock import wall_ms
from .._wire import (
    ByeMsg,
    DecodeError,
    GossipMsg,
    InfoMsg,
    LinksMsg,
    Message,
    Record,
    ReqInfoMsg,
    ReqUpdatesMsg,
    UpdatesMsg,
    decode_message,
    unpack_keys,
)
from ._answers import Answers
from ._hello import Hello
from ._intake import Intake
from ._liveness import Liveness
from ._outgoing import Outgoing
from ._reachability import Reachability
from ._requests import Requests
from ._scheduler import Scheduler, Work
from ._sender import Sender
from ._validate import Gate, Validating, Verdict

log = logging.getLogger(__name__)


class Engine:
    """Protocol state and logic of one Topic (one peer in one topic)."""

    def __init__(
        self,
        mach: Machine,
        transport: GossipTransport,
        local: LocalRecords,
        registry: Registry,
        settings: TopicSettings,
        metrics: TopicMetrics,
        emit: Observer,
    ) -> None:
        self.mach = mach
        self.local = local
        self.reg = registry
        self._t = transport
        self._self_id = transport.peer_id
        self._s = settings
        self._m = metrics
        self._emit = emit
        seed = settings.seed if settings.seed is not None else 0
        self.rng = random.Random(f"{seed}:{self._self_id}")
        """One stream for every random choice of this peer (seeded: reproducible runs)."""
        self.joined = False
        """Set by the Topic once Joined: own clock changes are pushed from then on."""
        self._pushed_at = -math.inf
        self.scheduler = Scheduler(
            RateLimiter(settings.rates.out, settings.rates.window), metrics.deferred
        )
        self.sender = Sender(mach, transport, metrics)
        # records their owners published themselves skip their own signature check
        # (Intake, Gate); Outgoing checks it before relaying them
        signed = author_signed(transport)
        self.out = Outgoing(local, registry, settings, transport, self.rng)
        self.intake = Intake(
            transport.topic,
            transport.verify,
            local,
            registry,
            settings.limits,
            metrics,
            max_age=settings.record_max_age,
            skew=settings.max_clock_skew,
            budgets=settings.budgets,
            trust_authors=signed,
        )
        self.requests = Requests(settings, registry)
        self.answers = Answers(
            local,
            registry,
            settings,
            lambda at: self.schedule(Work.ANSWER, at),
            trio.current_time(),
            metrics.rejected,
        )
        self.hello = Hello(settings, transport, registry)
        self.liveness = Liveness(settings, registry)
        self._in_limit = RateLimiter(settings.rates.incoming, settings.rates.window)
        self._gate = Gate(
            transport.topic,
            transport.verify,
            local,
            registry,
            settings,
            metrics,
            self._in_limit,
            trust_authors=signed,
        )
        self.validating = isinstance(transport, Validating)
        """Messages reach :meth:`on_message` only after :meth:`validate` accepted them
        (its rate limits and decode errors are counted there, not twice)."""
        if isinstance(transport, Validating):
            transport.set_validator(self.validate)
            transport.set_app_score(self.app_score)
        self._connected: dict[str, None] = {}  # peers connected now or before (LRU)
        registry.preferred = self._connected.__contains__
        self._org = transport if isinstance(transport, SelfOrganizing) else None
        self._rejoined = False  # a known peer connected again: gossip a wider digest
        self._wide_at = -math.inf  # when the last wide digest went out
        self.reach = Reachability(self._self_id)

    def _note_connected(self, peers: set[str]) -> None:
        """Remember peers the transport is (or was) connected to: admission prefers
        them (bounded by ``budgets.peers``, least recently connected forgotten first)."""
        cap = self._s.budgets.peers
        for p in peers:
            self._connected.pop(p, None)
            self._connected[p] = None
        while len(self._connected) > cap:
            del self._connected[next(iter(self._connected))]

    # --- outgoing work ----------------------------------------------------------

    def schedule(self, work: Work, at: float) -> None:
        """Make ``work`` due at ``at`` (see :class:`Scheduler`)."""
        self.scheduler.schedule(work, at)

    def on_dirty(self, _index: int) -> None:
        """Tracer callback: a local exposed machine's clock changed."""
        if not self.joined:
            return
        try:
            now = trio.current_time()
        except RuntimeError:  # mutated outside of Trio
            return
        # leading edge: the first change after a quiet period goes out as soon as the
        # mutating task yields (changes made before that share the message); later ones
        # coalesce into at most one push per push_delay
        self.schedule(Work.PUSH, max(now, self._pushed_at + self._s.push_delay))

    async def run(self) -> NoReturn:
        """Run due work, forever (one task)."""
        await self.scheduler.run(self._do)

    async def _do(self, work: Work, now: float) -> None:
        pub, flag = self.sender.publish, self.sender.flag
        if work is Work.PUSH or work is Work.KEEPALIVE:
            rec, new = self.local.clock_record(refresh=work is Work.KEEPALIVE)
            if new:
                self._pushed_at = now
                with flag(ss.SendUpdates):
                    await pub(UpdatesMsg((rec,)))
        elif work is Work.HELLO:
            self.hello.sent += 1
            await self._send_hello(now, pull=False)
        elif work is Work.LINKS:
            rec, new = self.local.links_record(*self.out.own_links())
            if new:
                await pub(LinksMsg((rec,)))
        elif work is Work.PULL:
            if self.hello.pull_due(now):
                self._m.pulls += 1
                await self._send_hello(now, pull=True)
            self.hello.pull_done()
        elif work is Work.ANNOUNCE:
            sent = wall_ms(now)
            if await pub(InfoMsg((self.out.own_entry(),), sent=sent)):
                self.answers.broadcast(self._self_id, sent)
        elif work is Work.ANSWER:
            await self._send_answers(now)
        elif work is Work.REQINFO or work is Work.REQUPDATES:
            await self._send_request(now, clocks=work is Work.REQUPDATES)
        elif work is Work.GOSSIP:
            # after a reconnection: as many entries as receivers look at, so the versions
            # that changed while the network was split are compared (and requested) soon
            amount = self._s.budgets.digest_entries - 1 if self._rejoined else None
            if self._rejoined:
                self._wide_at = now
            self._rejoined = False
            with flag(ss.SendGossips):
                await pub(self.out.gossip(amount))

    async def _send_hello(self, now: float, *, pull: bool) -> None:
        sent = wall_ms(now)
        since = self.hello.sending(now, sent, pull)
        msg = self.out.hello(self.rng.getrandbits(63), since, sent)
        with self.sender.flag(ss.SendInfo):
            if await self.sender.publish(msg):
                self.answers.broadcast(self._self_id, sent)
                self._m.discovery_sent_at = now

    async def _send_answers(self, now: float) -> None:
        info_ids, clock_ids = self.answers.take_due(now)
        sent = wall_ms(now)
        infos = self.out.answer_info(info_ids, sent)
        clocks = self.out.answer_clocks(clock_ids)
        if infos:
            with self.sender.flag(ss.DoSendInfo):
                for msg in infos:
                    if await self.sender.publish(msg):
                        self._m.discovery_sent_at = now
                        for info, _ in msg.entries:
                            self.answers.broadcast(info.owner, sent)
        if clocks is not None:
            await self.sender.publish(clocks)
        for links in self.out.answer_links(info_ids):
            await self.sender.publish(links)

    async def _send_request(self, now: float, *, clocks: bool) -> None:
        ids, next_at = self.requests.next_ids(now, clocks)
        if next_at < math.inf:
            self.schedule(Work.REQUPDATES if clocks else Work.REQINFO, next_at)
        if not ids:
            return
        msg = self.out.request(self.rng.getrandbits(63), ids, clocks)
        with self.sender.flag(ss.ReqMissingUpdates if clocks else ss.ReqMissingPeers):
            if await self.sender.publish(msg) and not clocks:
                self._m.discovery_sent_at = now

    def check_hello(self, now: float) -> None:
        """Resend a hello while topic peers are unknown, backing off exponentially."""
        if self.hello.retry_due(now):
            self.schedule(Work.HELLO, now)

    async def send_bye(self) -> None:
        """A clean leave (Go never sends one)."""
        await self.sender.publish(ByeMsg(self.local.epoch))

    # --- heartbeat (Go: HeartbeatState) -----------------------------------------

    def heartbeat(self, now: float) -> None:
        """Gossip, repair and GC; called every ``settings.heartbeat`` seconds."""
        topic_peers = self._t.topic_peers()
        for p in topic_peers:
            self.reg.heard(p, now)
        self._note_connected(topic_peers & self._t.connected_peers())
        keepalive, timeout = self.liveness.periods()
        self.reg.expire(now, timeout, self._s.tombstone_ttl)
        self._judge(now, self.reach.suspects())
        for pid in self.reach.due(now, self._s.unreachable_grace):
            self.reach.forget(pid)
            self.reg.remove_peer(pid, "unreachable", now, revival=Revival.BY_RECORDS)
        for pid in self.reach.known() - set(self.reg.peers):
            self.reach.forget(pid)
        self.requests.gc(now)
        wall = wall_ms(now)
        if wall - self.local.info_time > self._s.record_max_age * 500:  # half the max age
            self.local.refresh_info()
            self.schedule(Work.ANNOUNCE, now)
        elif self.liveness.refresh_due(wall - self.local.clock_time, keepalive, self.rng):
            self.schedule(Work.KEEPALIVE, now)
        if self.liveness.gossip_due(now, self.sender.last_publish, keepalive, self.rng):
            self.schedule(Work.GOSSIP, now)
        if self.reg.missing_info:
            self.schedule(Work.REQINFO, now)
        if self.reg.missing_clocks:
            self.schedule(Work.REQUPDATES, now)
        self.check_hello(now)
        if self._s.share_links and self.liveness.links_due(now, self.out.own_links()):
            self.schedule(Work.LINKS, now)
        self.update_flags()

    def _links_of(self, peer_id: str) -> tuple[str, ...]:
        """The connections ``peer_id`` reported in its latest links record."""
        p = self.reg.peers.get(peer_id)
        return p.links.connected if p is not None and p.links is not None else ()

    def _judge(self, now: float, peers: Iterable[str]) -> None:
        """Judge ``peers`` for reachability (see :class:`Reachability`); needs
        ``share_links`` (else the peer timeout decides)."""
        if not self._s.share_links:
            return
        connected = self._t.connected_peers()
        held = self.reg.peers
        for pid in peers:
            p = held.get(pid)
            if p is None or p.links is None:
                continue
            near: dict[str, Collection[str] | None] = {}
            for n in p.links.connected:
                q = held.get(n)
                near[n] = q.links.connected if q is not None and q.links is not None else None
            was = pid in self.reach.unreachable
            if self.reach.judge(pid, near, pid in connected, now) and not was:
                log.info("[%s] peer %s unreachable", self._self_id[-6:], pid[-6:])
                self._emit(TopicEvent(EventKind.PEER_UNREACHABLE, pid, now))

    def note_separation(self, ev: TopicEvent) -> None:
        """Tell a :class:`SelfOrganizing` transport which peers the topic lost touch
        with (judged unreachable, dropped as unreachable or silent) and which it found
        again (discovered, or gone for good): its connection manager dials the former
        to join a partition's halves, and makes no other dials once it has enough."""
        if self._org is None:
            return
        lost = ev.kind is EventKind.PEER_UNREACHABLE or (
            ev.kind is EventKind.PEER_REMOVED and ev.reason in ("unreachable", "timeout")
        )
        self._org.note_separated(ev.peer_id, lost)

    def links_refresh(self) -> float:
        """See :meth:`Liveness.links_refresh`."""
        return self.liveness.links_refresh()

    def update_flags(self) -> None:
        """Keep the Miss* status states in line with the registry (Go: Exit vetoes)."""
        for state, on in (
            (ss.MissPeersByGossip, bool(self.reg.missing_info)),
            (ss.MissPeersByUpdates, bool(self.reg.pending)),
            (ss.MissUpdatesByGossip, bool(self.reg.missing_clocks)),
        ):
            if on and not self.mach.is1(state):
                self.mach.add1(state)
            elif not on and self.mach.is1(state):
                self.mach.remove1(state)

    # --- peer events ------------------------------------------------------------

    def on_peer_event(self, ev: PeerEvent) -> None:
        """Go: PeerJoined / PeerLeft (transport subscription events)."""
        now = trio.current_time()
        if ev.kind is PeerEventKind.JOINED:
            self.hello.peer_seen(wall_ms(now))
            self._note_connected({ev.peer_id})
            if self._reconnected(ev.peer_id, now):
                # e.g. a healed partition: compare versions widely soon
                self._rejoined = True
                self.schedule(Work.GOSSIP, now + self._s.request_delay * (1 + self.rng.random()))
            self.reach.connection(ev.peer_id, True, now)
            self.mach.add1(ss.PeerJoined, {"peer_id": ev.peer_id})
            self._emit(TopicEvent(EventKind.PEER_JOINED, ev.peer_id, now))
            self.reg.heard(ev.peer_id, now)
            if ev.peer_id not in self.reg.peers:
                # it will say hello; ask for it only if it doesn't
                self.reg.want_info(ev.peer_id, now + self._s.hello_retry)
                self.schedule(Work.REQINFO, now + self._s.hello_retry + self._s.request_delay)
        else:
            # seen by the transport until now: the peer timeout counts from here
            self.reg.heard(ev.peer_id, now)
            self.reach.connection(ev.peer_id, False, now)
            if self._s.share_links:  # tell the others at once: they judge reachability
                self.schedule(Work.LINKS, now + self._s.links_loss_delay)
            self._judge(now, {ev.peer_id})
            self.mach.add1(ss.PeerLeft, {"peer_id": ev.peer_id})
            self._emit(TopicEvent(EventKind.PEER_LEFT, ev.peer_id, now))

    def _reconnected(self, peer_id: str, now: float) -> bool:
        """Gossip a wide digest for this new connection to ``peer_id``? Yes after a
        separation: it was dropped here (unreachable, timed out) or judged unreachable,
        or this peer's own connection to it was down for a heartbeat or longer. For any
        other connection to a known peer (a partition may also heal through peers that
        never had a link), at most once per ``wide_gossip_interval``: connection
        managers make and trim connections all the time (~1/s in a young network of 20
        peers), and a wide digest for each cost two thirds of its CPU."""
        if self.reg.is_tombstoned(peer_id) or peer_id in self.reach.unreachable:
            return True
        lost = self.reach.lost_at(peer_id)
        if lost is not None and now - lost >= self._s.heartbeat:
            return True
        known = peer_id in self.reg.peers or self.reach.knows(peer_id)
        return known and now - self._wide_at >= self._s.wide_gossip_interval

    # --- receiving (Go: JoinedState loop + ProcessMsgs) ---------------------------

    def validate(self, author: str, forwarder: str, data: bytes) -> Verdict:
        """Judge a message before the transport relays it (see :class:`Gate`);
        never raises."""
        try:
            return self._gate.judge(author, forwarder, data, trio.current_time())
        except Exception:
            self._m.rejected["internal"] += 1
            log.exception("[%s] failed to validate a msg of %s", self._self_id[-6:], author)
            return Verdict.IGNORE

    def app_score(self, peer_id: str) -> float:
        """The application score of a neighbour (<= 0): minus its penalties for
        over-budget records it relayed (Go: the AppSpecificScore of gossipsub's P5)."""
        return -self._gate.penalties.penalty(peer_id, trio.current_time())

    def on_message(self, gm: GossipMessage) -> None:
        """Handle one delivery; never raises for bad input."""
        m = self._m
        m.msgs_received += 1
        m.bytes_received += len(gm.data)
        if gm.author == self._self_id:
            m.rejected["self"] += 1
            return
        passed = self._gate.take_passed(gm.data) if self.validating else None
        if passed is not None:
            msg = passed.msg
        else:
            try:
                msg = decode_message(gm.data, self._s.limits)
            except DecodeError as e:
                m.rejected[e.reason] += 1
                log.debug("[%s] dropped msg from %s: %s", self._self_id[-6:], gm.author[-6:], e)
                return
        tname = msg.TYPE.label
        m.received_by_type[tname] += 1
        now = trio.current_time()
        if not self.validating and not self._in_limit.allow(tname, now, gm.author):
            m.rejected["rate_limited"] += 1
            log.debug("[%s] rate limited %s from %s", self._self_id[-6:], tname, gm.author[-6:])
            return
        self.reg.heard(gm.author, now)
        # its own message (the transport authenticates the author): it is reachable
        self.reach.alive(gm.author)
        if self.reg.revive(gm.author):
            self.reg.want_info(gm.author, now)
            self.schedule(Work.REQINFO, now + self._s.request_delay)
        self.intake.screened = passed.screened if passed is not None else frozenset()
        try:
            self._dispatch(gm.author, msg, gm.received_at, now, len(gm.data))
        except Exception:
            m.rejected["internal"] += 1
            log.exception("[%s] failed to handle %s from %s", self._self_id[-6:], tname, gm.author)
        finally:
            self.intake.screened = frozenset()

    def take_info(self, rec: Record, at: float, author: str = "") -> Outcome:
        """Take one received info record (see :meth:`Intake.take_info`); a new one
        tells a :class:`SelfOrganizing` transport the owner's signed addresses."""
        out = self.intake.take_info(rec, at, author)
        if out.take is Take.APPLIED:
            self.requests.answered(rec.owner)
            p = self.reg.peers.get(rec.owner)
            if self._org is not None and p is not None and p.addrs:
                self._org.learn_addresses(rec.owner, p.addrs)
        return out

    def take_clocks(self, rec: Record, at: float, author: str = "") -> Outcome:
        """Take one received clocks record; a pending one makes its info wanted."""
        out = self.intake.take_clocks(rec, at, author)
        if out.take is Take.APPLIED:
            self.requests.answered(rec.owner)
        elif out.take is Take.PENDING:
            self.schedule(Work.REQINFO, trio.current_time() + self._s.request_delay)
        return out

    def _dispatch(self, author: str, msg: Message, at: float, now: float, size: int = 0) -> None:
        if isinstance(msg, UpdatesMsg):
            applied = 0
            for r in msg.records:
                out = self.take_clocks(r, at, author)
                if out.ok:
                    self.answers.suppress(r.owner, None, r)
                    applied += out.take is Take.APPLIED
            if applied:
                self.mach.add1(ss.MsgUpdates, {"peer_id": author})
        elif isinstance(msg, InfoMsg):
            self._on_info(author, msg, at, now, size)
        elif isinstance(msg, GossipMsg):
            self._on_gossip(author, msg, now, size)
        elif isinstance(msg, ReqInfoMsg | ReqUpdatesMsg):
            if self.answers.for_request(author, msg, now, self.requests, size):
                state = ss.MsgReqUpdates if isinstance(msg, ReqUpdatesMsg) else ss.MsgReqInfo
                self.mach.add1(state, {"peer_id": author})
        elif isinstance(msg, LinksMsg):
            affected: set[str] = set()
            for r in msg.records:
                before = self._links_of(r.owner)
                if self.intake.take_links(r, at, author).take is Take.APPLIED:
                    after = self._links_of(r.owner)
                    self.reach.links_arrived(r.owner, now)
                    affected.update(set(before) - set(after))
                    if self._org is not None:
                        self._org.note_links(r.owner, after)
            self._judge(now, affected)
        elif isinstance(msg, ByeMsg):
            p = self.reg.peers.get(author)
            if p is None or msg.epoch >= p.epoch:
                self.reg.remove_peer(author, "bye", at, bye=True, epoch=msg.epoch)
                self.mach.add1(ss.MsgBye, {"peer_id": author})
        self.update_flags()

    def _on_info(self, author: str, msg: InfoMsg, at: float, now: float, size: int) -> None:
        """Go: MsgInfo; a hello is answered by the chosen responder. The entries were
        published at ``msg.sent`` (the author's claim, at most our own wall clock)."""
        applied = 0
        wall = wall_ms(at)
        sent = min(msg.sent, wall)
        if sent:
            self.hello.note_transit((wall - sent) / 1000)
        for info, clocks in msg.entries:
            ri = self.take_info(info, at, author)
            rc = None if clocks is None else self.take_clocks(clocks, at, author)
            applied += (ri.take is Take.APPLIED) + (rc is not None and rc.take is Take.APPLIED)
            if ri.ok and msg.hello is None:
                self.answers.seen_info(info.owner, at)
            if ri.ok and sent:
                self.answers.broadcast(info.owner, sent)
            if ri.ok and (rc is None or rc.ok):
                self.answers.suppress(info.owner, info, clocks, sent)
        if applied:
            self.mach.add1(ss.MsgInfo, {"peer_id": author})
        if msg.hello is not None and self._self_id in self.reg.chosen(
            msg.hello, self._s.responders, {author}
        ):
            known = unpack_keys(msg.known) if msg.known else set()
            # wait long enough to see others' answers to joiners listening as long
            spread = (self._s.hello_answer_spread + self.hello.transit) * self.rng.random()
            since = min(msg.since, sent) if sent else msg.since
            if self.answers.for_hello(author, known, at, now, size, since=since, delay=spread):
                self.mach.add1(ss.MsgReqInfo, {"peer_id": author})
        if author not in self.reg.peers and author != self._self_id:
            self.reg.want_info(author, now)
            self.schedule(Work.REQINFO, now + self._s.request_delay)

    def _on_gossip(self, author: str, msg: GossipMsg, now: float, size: int) -> None:
        """Go: MsgGossip (anti-entropy and missing-record detection), plus pulls."""
        epoch, iseq, cseq = self.local.current_versions()
        # an unsigned claim: only the first few entries are looked at
        for e in msg.digest[: self._s.budgets.digest_entries]:
            if e.peer == self._self_id:
                # anti-entropy: the gossiper holds old records of ours (unless the newer
                # ones went out so recently that they are still on their way to it)
                if now - self._pushed_at < 2 * self.hello.transit:
                    continue
                if (e.epoch, e.info_seq) < (epoch, iseq):
                    self.answers.for_stale(author, False, now, size)
                elif (e.epoch, e.clock_seq) < (epoch, cseq):
                    self.answers.for_stale(author, True, now, size)
                continue
            self.reg.note_digest(e, now)
        pull_at = self.hello.note_view(msg.view, now, self.rng)
        if pull_at < math.inf:
            self.schedule(Work.PULL, pull_at)
        if self.reg.missing_info:
            self.schedule(Work.REQINFO, now + self._s.request_delay)
        if self.reg.missing_clocks:
            self.schedule(Work.REQUPDATES, now + self._s.request_delay)
        self.mach.add1(ss.MsgGossip, {"peer_id": author})
