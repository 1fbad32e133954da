"""The engine: receives, dispatches and runs the parts' work (Go: pkg/pubsub topic.go).

Go: the handlers of topic.go (ProcessMsgs, MsgInfo, MsgUpdates, MsgGossip,
SendInfo/DoSendInfo, SendUpdates, SendGossips, ReqMissingPeers,
ReqMissingUpdates, MsgReqInfo, MsgReqUpdates, Heartbeat). The logic lives in
small parts (:class:`Scheduler` and :class:`WorkRunner` for outgoing work,
:class:`Sender`, :class:`Outgoing`, :class:`Intake`, :class:`Answers`,
:class:`Requests`, :class:`Hello`, :class:`Liveness`, :class:`PeerWatch` for
connections and reachability); this class wires them to the Topic machine's states.
No libp2p types: the engine talks to a :class:`GossipTransport`.
"""

from __future__ import annotations

import logging
import math
import random
from typing import NoReturn

import trio

from ...machine import Machine
from .._events import Observer, TopicEvent, TopicMetrics
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
from ._intake import NOT_SCREENED, Intake
from ._liveness import Liveness
from ._outgoing import Outgoing
from ._peers import PeerWatch
from ._requests import Requests
from ._scheduler import Scheduler, Work
from ._sender import Sender
from ._validate import Gate, Validating, Verdict
from ._work import WorkRunner

log = logging.getLogger(__name__)

_FLAG_STATES = (ss.MissPeersByGossip, ss.MissPeersByUpdates, ss.MissUpdatesByGossip)
"""The status states :meth:`Engine.update_flags` keeps, in its flags' order."""


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
        self.peers = PeerWatch(
            mach, transport, registry, settings, self.hello, self.schedule, self.rng, emit
        )
        self.reach = self.peers.reach
        self.work = WorkRunner(
            self._self_id,
            local,
            self.out,
            self.sender,
            (self.hello, self.answers, self.requests, self.peers),
            settings,
            metrics,
            self.rng,
            self.schedule,
        )
        self._org = self.peers.org
        self._flags = (False, False, False)
        """The registry's flags as :meth:`update_flags` last saw them."""

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
        self.schedule(Work.PUSH, max(now, self.work.pushed_at + self._s.push_delay))

    async def run(self) -> NoReturn:
        """Run due work, forever (one task)."""
        await self.scheduler.run(self.work)

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
        self.peers.note_connected(topic_peers & self._t.connected_peers())
        keepalive, timeout = self.liveness.periods()
        self.reg.silence = 2 * keepalive
        self.reg.expire(now, timeout, self._s.tombstone_ttl)
        self.peers.judge(now, self.reach.suspects())
        grace = max(self._s.unreachable_grace, self.hello.in_flight)
        for pid in self.reach.due(now, grace, keepalive + grace):
            self.reach.forget(pid)
            if self.reg.remove_peer(pid, "unreachable", now, revival=Revival.BY_RECORDS):
                self.hello.dropped(wall_ms(now))
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
        self.update_flags(force=True)

    def on_peer_event(self, ev: PeerEvent) -> None:
        """Go: PeerJoined / PeerLeft (see :meth:`PeerWatch.on_peer_event`)."""
        now = trio.current_time()
        self.peers.on_peer_event(ev, now)
        if self.hello.unheard:  # it went out to no one: again, now that someone listens
            self.check_hello(now)

    def note_separation(self, ev: TopicEvent) -> None:
        """See :meth:`PeerWatch.note_separation`."""
        self.peers.note_separation(ev)

    def links_refresh(self) -> float:
        """See :meth:`Liveness.links_refresh`."""
        return self.liveness.links_refresh()

    def update_flags(self, *, force: bool = False) -> None:
        """Keep the Miss* status states in line with the registry (Go: Exit vetoes).

        Runs after every message: the machine is asked only when a flag changed since
        the last call, or with ``force`` (every heartbeat, which also mends a flag state
        someone else changed)."""
        reg = self.reg
        flags = (bool(reg.missing_info), bool(reg.pending), bool(reg.missing_clocks))
        if flags == self._flags and not force:
            return
        self._flags = flags
        for state, on in zip(_FLAG_STATES, flags, strict=True):
            if on and not self.mach.is1(state):
                self.mach.add1(state)
            elif not on and self.mach.is1(state):
                self.mach.remove1(state)

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
        self.intake.screened = passed.screened if passed is not None else NOT_SCREENED
        try:
            self._dispatch(gm.author, msg, gm.received_at, now, len(gm.data))
        except Exception:
            m.rejected["internal"] += 1
            log.exception("[%s] failed to handle %s from %s", self._self_id[-6:], tname, gm.author)
        finally:
            self.intake.screened = NOT_SCREENED

    def take_info(self, rec: Record, at: float, author: str = "") -> Outcome:
        """Take one received info record (see :meth:`Intake.take_info`); a new one
        tells a :class:`SelfOrganizing` transport the owner's signed addresses, and
        reachability the arrival of links that waited for it."""
        held = self.reg.peers.get(rec.owner)
        linkless = held is None or held.links is None
        out = self.intake.take_info(rec, at, author)
        if out.take is Take.APPLIED:
            self.requests.answered(rec.owner)
            p = self.reg.peers.get(rec.owner)
            if self._org is not None and p is not None and p.addrs:
                self._org.learn_addresses(rec.owner, p.addrs)
            if linkless and p is not None and p.links is not None:
                self.reach.links_arrived(rec.owner, at)
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
                before = self.peers.links_of(r.owner)
                if self.intake.take_links(r, at, author).take is Take.APPLIED:
                    after = self.peers.links_of(r.owner)
                    self.reach.links_arrived(r.owner, now)
                    affected.update(set(before) - set(after))
                    if self._org is not None:
                        self._org.note_links(r.owner, after)
            self.peers.judge(now, affected)
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
            msg.hello, self._s.responders, {author}, now
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
                if now - self.work.pushed_at < 2 * self.hello.transit:
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
