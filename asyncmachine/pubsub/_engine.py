"""The pubsub protocol: receive, verify, apply, answer, request, push, gossip.

Go: the handlers of pkg/pubsub/topic.go (ProcessMsgs, MsgInfo, MsgUpdates,
SendInfo/DoSendInfo, SendUpdates, SendGossips, ReqMissingPeers,
ReqMissingUpdates, MsgReqInfo, MsgReqUpdates, Heartbeat). No libp2p types:
the engine talks to a :class:`GossipTransport`.

Outgoing work is kept as *state* (what is due, and when), not as a queue of
messages: the sender task wakes at the earliest due time, builds the freshest
message for that work and publishes it. Repeated triggers coalesce, and an
outgoing rate limit only postpones work, it never loses it.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Iterable
from typing import TypeVar

import trio

from ..machine import Machine
from ._events import EventKind, Observer, TopicEvent, TopicMetrics
from ._local import LocalRecords
from ._ratelimit import RateLimiter
from ._registry import DEPARTED, DUP, NEW, STALE, Registry
from ._settings import TopicSettings
from ._topic_states import ss
from ._transport import GossipMessage, GossipTransport, PeerEvent, PeerEventKind
from ._wire import (
    ByeMsg,
    ClocksBody,
    DecodeError,
    DigestEntry,
    GossipMsg,
    InfoBody,
    InfoMsg,
    LinksBody,
    LinksMsg,
    Message,
    Record,
    ReqInfoMsg,
    ReqUpdatesMsg,
    UpdatesMsg,
    WireLimits,
    decode_clocks_body,
    decode_info_body,
    decode_links_body,
    decode_message,
    encode_message,
    entry_size,
    msg_type_name,
    pack_keys,
    signed_payload,
    unpack_keys,
)

log = logging.getLogger(__name__)

_Body = TypeVar("_Body", InfoBody, ClocksBody, LinksBody)

# work kinds -> message type (for outgoing rate limits)
W_PUSH = "push"
W_HELLO = "hello"
W_ANNOUNCE = "announce"
W_ANSWER = "answer"
W_REQINFO = "reqinfo"
W_REQUPDATES = "requpdates"
W_GOSSIP = "gossip"
W_PULL = "pull"
W_LINKS = "links"
_WORK_TYPE = {
    W_PULL: "info",
    W_LINKS: "links",
    W_PUSH: "updates",
    W_HELLO: "info",
    W_ANNOUNCE: "info",
    W_ANSWER: "info",
    W_REQINFO: "reqinfo",
    W_REQUPDATES: "requpdates",
    W_GOSSIP: "gossip",
}


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
        self.t = transport
        self.self_id = transport.peer_id
        self.topic = transport.topic
        self.local = local
        self.reg = registry
        self.s = settings
        self.m = metrics
        self.emit = emit
        seed = settings.seed if settings.seed is not None else 0
        self.rng = random.Random(f"{seed}:{self.self_id}")
        self.out_limit = RateLimiter(settings.rates.out, settings.rates.window)
        self.in_limit = RateLimiter(settings.rates.incoming, settings.rates.window)
        self._due: dict[str, float] = {}
        self._wake = trio.Event()
        self._ans_info: dict[str, float] = {}  # peer -> due (records to (re)send)
        self._ans_clocks: dict[str, float] = {}
        self._req_info_at: dict[str, float] = {}  # peer -> last request seen/sent
        self._req_clocks_at: dict[str, float] = {}
        self._req_attempts: dict[str, int] = {}  # unanswered requests per peer
        self._gave_up: dict[str, float] = {}  # peer -> when requests for it stopped
        self._last_req_info = -math.inf
        self._last_req_clocks = -math.inf
        self._forced_info: set[str] = set()  # answers that others' answers don't cancel
        self._forced_clocks: set[str] = set()
        self._hello_sent = 0
        self._hello_at = -math.inf
        self._pull_view: tuple[int, int] | None = None  # a bigger view seen in gossip
        self.started_at = trio.current_time()
        self._last_links: tuple[tuple[str, ...], tuple[str, ...]] | None = None
        self._links_at = -math.inf
        self.last_publish = -math.inf
        self._pushed_at = -math.inf
        self.joined = False

    # --- scheduling -------------------------------------------------------

    def schedule(self, work: str, at: float) -> None:
        cur = self._due.get(work)
        if cur is None or at < cur:
            self._due[work] = at
            self._wake.set()

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
        self.schedule(W_PUSH, max(now, self._pushed_at + self.s.push_delay))

    async def sender(self) -> None:
        """Run due work, forever (one task)."""
        while True:
            now = trio.current_time()
            if not self._due:
                await self._wake.wait()
                self._wake = trio.Event()
                continue
            work, at = min(self._due.items(), key=lambda kv: kv[1])
            if at > now:
                with trio.move_on_at(at):
                    await self._wake.wait()
                self._wake = trio.Event()
                continue
            del self._due[work]
            mtype = _WORK_TYPE[work]
            if not self.out_limit.allow(mtype, now):
                self.m.deferred[mtype] += 1
                self.schedule(work, self.out_limit.next_free(mtype, now))
                continue
            await self._run(work, now)

    async def _run(self, work: str, now: float) -> None:
        if work == W_PUSH:
            rec, new = self.local.clock_record()
            if new:
                self._pushed_at = now
                self.mach.add1(ss.SendUpdates)
                await self.publish(UpdatesMsg((rec,)))
                self.mach.remove1(ss.SendUpdates)
        elif work == W_HELLO:
            self._hello_sent += 1
            await self._send_hello(now)
        elif work == W_LINKS:
            rec, new = self.local.links_record(*self.own_links())
            if new:
                await self.publish(LinksMsg((rec,)))
        elif work == W_PULL:
            view = self.reg.view()
            # not while discovery is still under way here (records are still arriving),
            # nor when this peer caught up with the gossiper's count meanwhile
            if (
                self._pull_view is not None
                and self._pull_view != view
                and self._pull_view[0] >= view[0]
                and now - self.reg.last_new_peer_at >= self.s.hello_retry
            ):
                self.m.pulls += 1
                await self._send_hello(now)
            self._pull_view = None
        elif work == W_ANNOUNCE:
            await self.publish(InfoMsg((self._own_entry(),)))
        elif work == W_ANSWER:
            await self._send_answers(now)
        elif work == W_REQINFO:
            await self._send_request(now, clocks=False)
        elif work == W_REQUPDATES:
            await self._send_request(now, clocks=True)
        elif work == W_GOSSIP:
            await self._send_gossip()

    async def publish(self, msg: Message) -> bool:
        """Encode and publish one message (Go: SendMsg); errors are counted, not raised."""
        data = encode_message(msg)
        tname = msg_type_name(msg)
        try:
            await self.t.publish(data)
        except (trio.Cancelled, KeyboardInterrupt):
            raise
        except Exception as e:
            self.m.publish_errors += 1
            log.debug("[%s] publish %s failed: %r", self.self_id[-6:], tname, e)
            return False
        self.m.msgs_sent += 1
        self.m.bytes_sent += len(data)
        self.m.sent_by_type[tname] += 1
        self.last_publish = trio.current_time()
        return True

    # --- outgoing work ----------------------------------------------------

    def _own_entry(self) -> tuple[Record, Record | None]:
        info = self.local.info_record()
        clocks, _ = self.local.clock_record()
        return info, clocks

    async def _send_hello(self, now: float) -> None:
        """A hello: own records, a nonce choosing the responder, and the known peers'
        keys, so the responder sends only what this peer misses."""
        self._hello_at = now
        nonce = self.rng.getrandbits(63)
        keys = [p.key for p in self.reg.peers.values()]
        known = pack_keys(keys[: self.s.max_known])
        self.mach.add1(ss.SendInfo)
        await self.publish(InfoMsg((self._own_entry(),), hello=nonce, known=known))
        self.mach.remove1(ss.SendInfo)

    def own_links(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(connected topic peers, gossip-mesh peers), sorted, ``limits.max_links`` each."""
        cap = self.s.limits.max_links
        topic_peers = self.t.topic_peers()
        conn = sorted(topic_peers & self.t.connected_peers())[:cap]
        mesh = sorted(self.t.mesh_peers())[:cap]
        return tuple(conn), tuple(mesh)

    def hello_done(self) -> bool:
        """Some peers are known, and every topic peer the transport sees among them."""
        peers = self.reg.peers
        return bool(peers) and all(p in peers for p in self.t.topic_peers())

    def check_hello(self, now: float) -> None:
        """Resend a hello while topic peers are unknown, backing off exponentially."""
        if (
            self._hello_sent
            and self._hello_sent <= self.s.hello_retries
            and not self.hello_done()
            and now >= self._hello_at + self.s.hello_retry * 2 ** (self._hello_sent - 1)
            and self.t.topic_peers()
        ):
            self.schedule(W_HELLO, now)

    async def _send_answers(self, now: float) -> None:
        info_ids = [p for p, due in self._ans_info.items() if due <= now]
        clock_ids = [p for p, due in self._ans_clocks.items() if due <= now]
        for p in info_ids:
            del self._ans_info[p]
            self._ans_clocks.pop(p, None)
            self._forced_info.discard(p)
            self._forced_clocks.discard(p)
        clock_ids = [p for p in clock_ids if p in self._ans_clocks]
        for p in clock_ids:
            del self._ans_clocks[p]
            self._forced_clocks.discard(p)
        rest = [*self._ans_info.values(), *self._ans_clocks.values()]
        if rest:
            self.schedule(W_ANSWER, min(rest))
        entries: list[tuple[Record, Record | None]] = []
        for p in info_ids:
            if p == self.self_id:
                entries.append(self._own_entry())
            else:
                rp = self.reg.peers.get(p)
                if rp is not None:
                    entries.append((rp.info_rec, rp.clock_rec))
        clocks: list[Record] = []
        for p in clock_ids:
            if p == self.self_id:
                clocks.append(self.local.clock_record()[0])
            else:
                rp = self.reg.peers.get(p)
                if rp is not None and rp.clock_rec is not None:
                    clocks.append(rp.clock_rec)
        if entries:
            self.mach.add1(ss.DoSendInfo)
            # split big answers (a late joiner may need every peer's records)
            chunk: list[tuple[Record, Record | None]] = []
            size = 0
            for e in entries:
                es = entry_size(*e)
                if chunk and size + es > self.s.max_message_bytes:
                    await self.publish(InfoMsg(tuple(chunk)))
                    chunk, size = [], 0
                chunk.append(e)
                size += es
            await self.publish(InfoMsg(tuple(chunk)))
            self.mach.remove1(ss.DoSendInfo)
        if clocks:
            await self.publish(UpdatesMsg(tuple(clocks)))
        links: list[Record] = []
        for p in info_ids:
            rec = self.local.last_links if p == self.self_id else None
            if p != self.self_id:
                rp = self.reg.peers.get(p)
                rec = rp.links_rec if rp is not None else None
            if rec is not None:
                links.append(rec)
        for i in range(0, len(links), 256):
            await self.publish(LinksMsg(tuple(links[i : i + 256])))

    async def _send_request(self, now: float, *, clocks: bool) -> None:
        missing: Iterable[str]
        if clocks:
            missing, seen, work = self.reg.missing_clocks, self._req_clocks_at, W_REQUPDATES
            since: dict[str, float] = {}
        else:
            missing, seen, work = self.reg.missing_info, self._req_info_at, W_REQINFO
            since = self.reg.missing_info
        ids: list[str] = []
        next_at = math.inf
        attempts = self._req_attempts
        # own requests are paced by network size: every request and its answer reach all
        # N peers, and one request serves everyone missing the same records
        gap = self.s.request_interval * max(1.0, len(self.reg.peers) / 8)
        last = self._last_req_clocks if clocks else self._last_req_info
        if now < last + gap:
            self.schedule(work, last + gap)
            return
        for p in list(missing):
            given_up = self._gave_up.get(p)
            if attempts.get(p, 0) >= self.s.request_attempts or (
                given_up is not None and now - given_up < self.s.peer_timeout
            ):
                # nobody answers for it (e.g. a subscriber that is not an asyncmachine peer):
                # leave it to its own hello/bye/gossip for a while
                if clocks:
                    self.reg.missing_clocks.pop(p, None)
                else:
                    self.reg.missing_info.pop(p, None)
                if attempts.pop(p, None) is not None:
                    self._gave_up[p] = now
                continue
            ready_at = max(
                since.get(p, -math.inf) + self.s.request_delay,
                seen.get(p, -math.inf) + self.s.request_interval,
            )
            if ready_at <= now and len(ids) < self.s.max_request_ids:
                ids.append(p)
            else:
                next_at = min(next_at, max(ready_at, now + self.s.request_delay))
        if next_at < math.inf:
            self.schedule(work, next_at)
        if not ids:
            return
        for p in ids:
            seen[p] = now
            attempts[p] = attempts.get(p, 0) + 1
        if clocks:
            self._last_req_clocks = now
        else:
            self._last_req_info = now
        nonce = self.rng.getrandbits(63)
        state = ss.ReqMissingUpdates if clocks else ss.ReqMissingPeers
        self.mach.add1(state)
        msg = ReqUpdatesMsg(nonce, tuple(ids)) if clocks else ReqInfoMsg(nonce, tuple(ids))
        await self.publish(msg)
        self.mach.remove1(state)

    def digest(self) -> tuple[DigestEntry, ...]:
        """Own versions plus a random sample of known peers (Go: with replacement)."""
        epoch, iseq, cseq = self.local.current_versions()
        own = DigestEntry(self.self_id, epoch, iseq, cseq)
        peers = list(self.reg.peers.values())
        k = min(self.s.gossip_amount, len(peers))
        sample = self.rng.sample(peers, k) if k else []
        return (own, *(p.digest() for p in sample))

    async def _send_gossip(self) -> None:
        self.mach.add1(ss.SendGossips)
        await self.publish(GossipMsg(self.digest(), self.reg.view()))
        self.mach.remove1(ss.SendGossips)

    # --- heartbeat (Go: HeartbeatState) -------------------------------------

    def heartbeat(self, now: float) -> None:
        """Gossip, repair and GC; called every ``settings.heartbeat`` seconds."""
        for p in self.t.topic_peers():
            self.reg.heard(p, now)
        keepalive, timeout = self.liveness()
        self.reg.expire(now, timeout, self.s.tombstone_ttl)
        if len(self._req_info_at) > 4 * self.s.limits.max_ids:
            cutoff = now - self.s.request_interval
            self._req_info_at = {p: t for p, t in self._req_info_at.items() if t > cutoff}
            self._req_clocks_at = {p: t for p, t in self._req_clocks_at.items() if t > cutoff}
        if self._gave_up:
            self._gave_up = {
                p: t for p, t in self._gave_up.items() if now - t < self.s.peer_timeout
            }
        if self._req_attempts:
            miss_i, miss_c = self.reg.missing_info, self.reg.missing_clocks
            self._req_attempts = {
                p: k for p, k in self._req_attempts.items() if p in miss_i or p in miss_c
            }
        n = len(self.reg.peers)
        if n and (
            self.rng.random() < 1.0 / n
            or now - self.last_publish >= keepalive * (0.75 + 0.25 * self.rng.random())
        ):
            self.schedule(W_GOSSIP, now)
        if self.reg.missing_info:
            self.schedule(W_REQINFO, now)
        if self.reg.missing_clocks:
            self.schedule(W_REQUPDATES, now)
        self.check_hello(now)
        if self.s.share_links:
            self._check_links(now)
        self.update_flags()

    def _check_links(self, now: float) -> None:
        """Schedule a links record when the connections changed (at most once per
        ``links_interval``), or when only the gossip mesh changed (it churns on its own:
        at most once per :meth:`links_refresh`)."""
        links = self.own_links()
        last = self._last_links
        if links == last:
            return
        if last is None or links[0] != last[0]:
            wait = self.s.links_interval
        else:
            wait = self.links_refresh()
        if now >= self._links_at + wait:
            self._last_links = links
            self._links_at = now
            self.schedule(W_LINKS, now)

    def links_refresh(self) -> float:
        """Minimum time between links records that only report a changed mesh: every
        record reaches all N peers, so it grows with the number of known peers."""
        return max(self.s.links_refresh, len(self.reg.peers) * self.s.links_refresh_per_peer)

    def liveness(self) -> tuple[float, float]:
        """(keepalive, peer timeout), growing with the number of known peers so that
        keepalives stay a small share of the traffic (every message reaches all N)."""
        keepalive = max(
            self.s.keepalive,
            min(self.s.keepalive_max, len(self.reg.peers) * self.s.keepalive_per_peer),
        )
        return keepalive, max(self.s.peer_timeout, 3 * keepalive)

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

    # --- peer events --------------------------------------------------------

    def on_peer_event(self, ev: PeerEvent) -> None:
        now = trio.current_time()
        if ev.kind is PeerEventKind.JOINED:
            self.mach.add1(ss.PeerJoined, {"peer_id": ev.peer_id})
            self.emit(TopicEvent(EventKind.PEER_JOINED, ev.peer_id, now))
            self.reg.heard(ev.peer_id, now)
            if ev.peer_id not in self.reg.peers:
                # it will say hello; ask for it only if it doesn't
                self.reg.missing_info.setdefault(ev.peer_id, now + self.s.hello_retry)
                self.schedule(W_REQINFO, now + self.s.hello_retry + self.s.request_delay)
        else:
            # seen by the transport until now: the peer timeout counts from here
            self.reg.heard(ev.peer_id, now)
            self.mach.add1(ss.PeerLeft, {"peer_id": ev.peer_id})
            self.emit(TopicEvent(EventKind.PEER_LEFT, ev.peer_id, now))

    # --- receiving (Go: JoinedState loop + ProcessMsgs) ------------------------

    def on_message(self, gm: GossipMessage) -> None:
        """Handle one delivery; never raises for bad input."""
        m = self.m
        m.msgs_received += 1
        m.bytes_received += len(gm.data)
        if gm.author == self.self_id:
            m.rejected["self"] += 1
            return
        try:
            msg = decode_message(gm.data, self.s.limits)
        except DecodeError as e:
            m.rejected[e.reason] += 1
            log.debug("[%s] dropped msg from %s: %s", self.self_id[-6:], gm.author[-6:], e)
            return
        tname = msg_type_name(msg)
        m.received_by_type[tname] += 1
        now = trio.current_time()
        if not self.in_limit.allow(tname, now, gm.author):
            m.rejected["rate_limited"] += 1
            log.debug("[%s] rate limited %s from %s", self.self_id[-6:], tname, gm.author[-6:])
            return
        self.reg.heard(gm.author, now)
        try:
            self._dispatch(gm.author, msg, gm.received_at, now)
        except Exception:
            m.rejected["internal"] += 1
            log.exception("[%s] failed to handle %s from %s", self.self_id[-6:], tname, gm.author)

    def _dispatch(self, author: str, msg: Message, at: float, now: float) -> None:
        if isinstance(msg, UpdatesMsg):
            applied = 0
            for r in msg.records:
                res = self._take_clocks(r, at)
                if res == "applied" or res == "dup":
                    self._suppress(r.owner, None, r)
                    applied += res == "applied"
            if applied:
                self.mach.add1(ss.MsgUpdates, {"peer_id": author})
        elif isinstance(msg, InfoMsg):
            self._on_info(author, msg, at, now)
        elif isinstance(msg, GossipMsg):
            self._on_gossip(author, msg, now)
        elif isinstance(msg, ReqInfoMsg | ReqUpdatesMsg):
            self._on_request(author, msg, now)
        elif isinstance(msg, LinksMsg):
            for r in msg.records:
                self._take_links(r, at)
        elif isinstance(msg, ByeMsg):
            p = self.reg.peers.get(author)
            if p is None or msg.epoch >= p.epoch:
                self.reg.remove_peer(author, "bye", at, bye=True, epoch=msg.epoch)
                self.mach.add1(ss.MsgBye, {"peer_id": author})
        self.update_flags()

    def _verify(self, rec: Record) -> bool:
        ok = self.t.verify(rec.owner, signed_payload(self.topic, rec.body), rec.sig)
        if not ok:
            self.m.rejected["bad_signature"] += 1
            log.debug("[%s] bad signature on a record of %s", self.self_id[-6:], rec.owner[-6:])
        return ok

    def _classify(self, rec: Record, clocks: bool) -> str:
        if rec.owner == self.self_id:
            epoch, iseq, cseq = self.local.current_versions()
            if rec.version > (epoch, cseq if clocks else iseq):
                self.m.rejected["forged_self"] += 1
                return STALE
            self.m.duplicates += 1
            return DUP
        st = self.reg.check(rec, clocks)
        if st == DUP:
            self.m.duplicates += 1
        elif st == STALE:
            self.m.rejected["stale"] += 1
        elif st == DEPARTED:
            self.m.rejected["departed"] += 1
        return st

    def _open(self, rec: Record, decode: Callable[[bytes, WireLimits], _Body]) -> _Body | str:
        """Check the owner's signature, decode the body and match it to the header;
        returns the body or the rejection reason (counted)."""
        if not self._verify(rec):
            return "bad_signature"
        try:
            body = decode(rec.body, self.s.limits)
        except DecodeError as e:
            self.m.rejected[e.reason] += 1
            log.debug("[%s] bad record of %s: %s", self.self_id[-6:], rec.owner[-6:], e)
            return e.reason
        if (body.owner, body.epoch, body.seq) != (rec.owner, rec.epoch, rec.seq):
            self.m.rejected["header_mismatch"] += 1
            return "header_mismatch"
        return body

    def _take_info(self, rec: Record, at: float) -> str:
        """Verify and apply an info record; returns "applied", "dup" or a rejection."""
        st = self._classify(rec, False)
        if st != NEW:
            return "dup" if st == DUP else st
        body = self._open(rec, decode_info_body)
        if isinstance(body, str):
            return body
        if not self.reg.apply_info(rec, body, at):
            self.m.rejected["schema"] += 1
            return "schema"
        self.m.records_applied += 1
        self._req_attempts.pop(rec.owner, None)
        return "applied"

    def _take_clocks(self, rec: Record, at: float) -> str:
        """Verify and apply a clocks record; returns "applied", "dup", "pending" or a
        rejection."""
        st = self._classify(rec, True)
        if st != NEW:
            return "dup" if st == DUP else st
        body = self._open(rec, decode_clocks_body)
        if isinstance(body, str):
            return body
        res = self.reg.apply_clocks(rec, body, at)
        if res == "applied":
            self.m.records_applied += 1
            self._req_attempts.pop(rec.owner, None)
        elif res == "pending":
            self.schedule(W_REQINFO, trio.current_time() + self.s.request_delay)
        else:
            self.m.rejected[res] += 1
        return res

    def _take_links(self, rec: Record, at: float) -> str:
        """Verify and store a links record (someone's connections, for peer graphs)."""
        if rec.owner == self.self_id:
            return "dup"
        st = self.reg.check_links(rec)
        if st != NEW:
            if st == DUP:
                self.m.duplicates += 1
            else:
                self.m.rejected[st] += 1
            return st
        body = self._open(rec, decode_links_body)
        if isinstance(body, str):
            return body
        res = self.reg.apply_links(rec, body, at)
        if res == "applied":
            self.m.records_applied += 1
        elif res != "pending":
            self.m.rejected[res] += 1
        return res

    def _suppress(self, owner: str, info: Record | None, clocks: Record | None) -> None:
        """Someone else sent records we were about to send: drop our answer."""
        if owner not in self._ans_info and owner not in self._ans_clocks:
            return
        if owner in self._forced_info or owner in self._forced_clocks:
            return
        if owner == self.self_id:
            epoch, iseq, cseq = self.local.current_versions()
            info_ok = info is not None and info.version >= (epoch, iseq)
            clk_ok = clocks is not None and clocks.version >= (epoch, cseq)
        else:
            info_ok = info is not None and self.reg.has_at_least(info, False)
            clk_ok = clocks is not None and self.reg.has_at_least(clocks, True)
            p = self.reg.peers.get(owner)
            if p is not None and p.clock_rec is None:
                clk_ok = True
        if info_ok and clk_ok:
            self._ans_info.pop(owner, None)
        if clk_ok:
            self._ans_clocks.pop(owner, None)

    def _on_info(self, author: str, msg: InfoMsg, at: float, now: float) -> None:
        applied = 0
        ok = ("applied", "dup")
        for info, clocks in msg.entries:
            ri = self._take_info(info, at)
            rc = "" if clocks is None else self._take_clocks(clocks, at)
            applied += (ri == "applied") + (rc == "applied")
            if ri in ok and (clocks is None or rc in ok):
                self._suppress(info.owner, info, clocks)
        if applied:
            self.mach.add1(ss.MsgInfo, {"peer_id": author})
        if msg.hello is not None and self.self_id in self.reg.ring.chosen(
            msg.hello, self.s.responders, {author}
        ):
            self._answer_hello(author, msg, at, now)
        if author not in self.reg.peers and author != self.self_id:
            self.reg.missing_info.setdefault(author, now)
            self.schedule(W_REQINFO, now + self.s.request_delay)

    def _answer_hello(self, author: str, msg: InfoMsg, at: float, now: float) -> None:
        """The chosen responder sends what the joiner misses: records it doesn't list as
        known, held here for at least ``hello_grace`` (younger ones are likely on their
        way to it anyway: every message reaches every peer). Startup bursts, where all
        records are young, thus cost no answers; the rest is repaired by pulls."""
        known = unpack_keys(msg.known) if msg.known else set()
        cutoff = at - self.s.hello_grace
        due = now + self.s.answer_delay
        want: list[str] = []
        if self.started_at <= cutoff and self.reg.self_key not in known:
            want.append(self.self_id)
        for pid, p in self.reg.peers.items():
            if pid != author and p.discovered_at <= cutoff and p.key not in known:
                want.append(pid)
        if not want:
            return
        for w in want:
            self._ans_info[w] = min(self._ans_info.get(w, due), due)
        self.schedule(W_ANSWER, due)
        self.mach.add1(ss.MsgReqInfo, {"peer_id": author})

    def _on_gossip(self, author: str, msg: GossipMsg, now: float) -> None:
        epoch, iseq, cseq = self.local.current_versions()
        for e in msg.digest:
            if e.peer == self.self_id:
                # anti-entropy: the gossiper holds old records of ours
                if (e.epoch, e.info_seq) < (epoch, iseq):
                    self._answer(self._ans_info, self.self_id, now + self.s.relay_delay)
                elif (e.epoch, e.clock_seq) < (epoch, cseq):
                    self._answer(self._ans_clocks, self.self_id, now + self.s.relay_delay)
                continue
            self.reg.note_digest(e, now)
        view = self.reg.view()
        if msg.view is not None and msg.view != view and msg.view[0] >= view[0]:
            # the gossiper knows peers we don't: pull them (a hello with our known list)
            self._pull_view = msg.view
            self.schedule(
                W_PULL,
                max(now, self._hello_at + self.s.hello_retry)
                + self.s.request_delay * self.rng.random(),
            )
        if self.reg.missing_info:
            self.schedule(W_REQINFO, now + self.s.request_delay)
        if self.reg.missing_clocks:
            self.schedule(W_REQUPDATES, now + self.s.request_delay)
        self.mach.add1(ss.MsgGossip, {"peer_id": author})

    def _holds(self, peer: str, clocks: bool) -> bool:
        p = self.reg.peers.get(peer)
        return p is not None and (not clocks or p.clock_rec is not None)

    def _answer(self, table: dict[str, float], peer: str, due: float) -> None:
        table[peer] = min(table.get(peer, due), due)
        self.schedule(W_ANSWER, table[peer])

    def _on_request(self, author: str, msg: ReqInfoMsg | ReqUpdatesMsg, now: float) -> None:
        clocks = isinstance(msg, ReqUpdatesMsg)
        seen = self._req_clocks_at if clocks else self._req_info_at
        table = self._ans_clocks if clocks else self._ans_info
        # k peers chosen by the nonce answer for every requested peer they know (owners
        # included); a repeated request (the first answer didn't arrive) is also answered
        # by the owners, and others' answers don't cancel it
        chosen = self.self_id in self.reg.ring.chosen(msg.nonce, self.s.responders, {author})
        forced = self._forced_clocks if clocks else self._forced_info
        answered = False
        repeat_window = 4 * self.s.request_interval
        due = now + self.s.answer_delay
        for p in msg.peers:
            prev = seen.get(p)
            seen[p] = now  # a request seen on the network suppresses our own (Go: reqInfo)
            repeat = prev is not None and now - prev < repeat_window
            if p == self.self_id:
                if not (chosen or repeat):
                    continue
            elif not chosen or not self._holds(p, clocks):
                continue
            if repeat:
                forced.add(p)
            self._answer(table, p, due)
            answered = True
        if answered:
            self.mach.add1(ss.MsgReqUpdates if clocks else ss.MsgReqInfo, {"peer_id": author})

    # --- leaving --------------------------------------------------------------

    async def send_bye(self) -> None:
        await self.publish(ByeMsg(self.local.epoch))
