"""Answers owed to others, and their suppression (Go: MsgReqInfo / MsgReqUpdates).

An answer is due some time after the hello, request or stale gossip that
asked for it; it is cancelled when an equal or newer copy of the same records
arrives first (someone else answered), except after a repeated request, where
the requester evidently can't hear the others.

Hellos are answered only with what the joiner can't get otherwise (gossipsub's
rule: every message reaches every peer listening when it is published). A hello
says since when its author has been listening (``since``, wall ms) and every
``info`` message says when it was published (``sent``): a record some message
broadcast after the joiner's ``since`` (the owner's own hello or announcement, or
another peer's answer) reached it or is on its way, so only records last
broadcast before it are owed. Answers to hellos wait a random
``hello_answer_spread`` and are cancelled by a copy published after the joiners'
``since`` (others answered them already).

No amplification: what a requester can make this peer send is bounded by
:class:`AnswerCredit` (a multiple of the bytes it sent, plus an allowance, and a total
rate), and a record anyone sent within ``answer_repeat`` is not sent again for a hello
(every message reaches every peer). Answers cut short are counted in
``metrics.rejected["answer_budget"]``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable

from .._local import LocalRecords
from .._ratelimit import AnswerCredit
from .._registry import Registry
from .._settings import TopicSettings
from .._wire import Record, ReqInfoMsg, ReqUpdatesMsg, entry_size
from ._requests import Requests


class Answers:
    """Due answers per peer: info (with clocks and links) and clocks only."""

    def __init__(
        self,
        local: LocalRecords,
        registry: Registry,
        settings: TopicSettings,
        schedule: Callable[[float], None],
        started_at: float,
        rejected: Counter[str] | None = None,
    ) -> None:
        b = settings.budgets
        self.credit = AnswerCredit(
            b.answer_ratio, b.answer_allowance, b.answer_rate, b.answer_burst, 4 * b.peers
        )
        """Answer bytes per requester and in total (:class:`AnswerCredit`)."""
        self._rejected: Counter[str] = Counter() if rejected is None else rejected
        self._sent: dict[str, float] = {}  # peer -> when its info last went by (any sender)
        self._bcast: dict[str, int] = {}  # peer -> wall ms its info was last published at
        self._own_bcast = 0  # the same for own records (0: not published yet)
        self._local = local
        self._reg = registry
        self._s = settings
        self._schedule = schedule  # the answer work is due then (Work.ANSWER)
        self._started_at = started_at
        self._self_id = local.peer_id
        self._info: dict[str, float] = {}  # peer -> due (records to (re)send)
        self._clocks: dict[str, float] = {}
        self._forced_info: set[str] = set()  # answers that others' answers don't cancel
        self._forced_clocks: set[str] = set()
        self._need: dict[str, int] = {}  # peer -> copies published after this cancel its info

    def add(self, peer: str, due: float, *, clocks: bool) -> None:
        """Owe ``peer``'s info (or only its clocks) by ``due``."""
        table = self._clocks if clocks else self._info
        table[peer] = min(table.get(peer, due), due)
        self._schedule(table[peer])

    def seen_info(self, owner: str, at: float) -> None:
        """An info record of ``owner`` went by on the network in an answer or
        announcement (sent by anyone; hellos don't count: they answer nothing)."""
        self._sent.pop(owner, None)
        self._sent[owner] = at
        if len(self._sent) > 2 * self._s.budgets.peers + 2:
            del self._sent[next(iter(self._sent))]

    def broadcast(self, owner: str, sent: int) -> None:
        """An ``info`` message published at wall ``sent`` ms (by anyone: its owner's hello
        or announcement, an answer) carried ``owner``'s info record: every peer
        listening since before then got it."""
        if owner == self._self_id:
            self._own_bcast = max(self._own_bcast, sent)
            return
        if sent <= self._bcast.get(owner, 0):
            return
        self._bcast.pop(owner, None)
        self._bcast[owner] = sent
        if len(self._bcast) > 2 * self._s.budgets.peers + 2:
            del self._bcast[next(iter(self._bcast))]

    def _cost(self, peer: str, clocks: bool) -> int:
        """Bytes an answer with ``peer``'s records takes (its info entry, or clocks)."""
        p = None
        if peer == self._self_id:
            info = self._local.info_record()
            clock_rec: Record | None = self._local.clock_record()[0]
        else:
            p = self._reg.peers.get(peer)
            if p is None:
                return 0
            info, clock_rec = p.info_rec, p.clock_rec
        if clocks:
            return 0 if clock_rec is None else len(clock_rec.body) + len(clock_rec.sig) + 64
        links = self._local.last_links if p is None else p.links_rec
        extra = 0 if links is None else len(links.body) + len(links.sig) + 64
        return entry_size(info, clock_rec) + extra

    def _afford(self, author: str, peers: Iterable[str], now: float, clocks: bool) -> list[str]:
        """The prefix of ``peers`` whose records ``author``'s credit pays for."""
        out: list[str] = []
        for p in peers:
            if not self.credit.spend(author, self._cost(p, clocks), now):
                self._rejected["answer_budget"] += 1
                break
            out.append(p)
        return out

    def for_stale(self, author: str, clocks: bool, now: float, size: int = 0) -> bool:
        """``author``'s gossip (``size`` bytes) shows old records of ours: re-send them
        after ``relay_delay``, unless sent within ``answer_repeat`` or over its credit."""
        self.credit.earn(author, size)
        if not clocks and self._sent.get(self._self_id, -math.inf) > now - self._repeat:
            return False
        if not self._afford(author, [self._self_id], now, clocks):
            return False
        self.add(self._self_id, now + self._s.relay_delay, clocks=clocks)
        return True

    @property
    def _repeat(self) -> float:
        return self._s.budgets.answer_repeat

    def for_hello(
        self,
        author: str,
        known: Collection[int],
        at: float,
        now: float,
        size: int = 0,
        *,
        since: int = 0,
        delay: float = 0.0,
    ) -> bool:
        """The chosen responder sends what the joiner misses: records it doesn't list as
        known and can't be receiving anyway. With ``since`` (the joiner listens since
        then, wall ms), those not published after ``since + hello_skew`` as far as this
        peer saw (``sent`` stamps of the messages that carried them); without it (0),
        those held here for at least ``hello_grace`` and not sent within
        ``answer_repeat`` (younger ones are likely on their way). The rest is repaired
        by pulls. Due after ``answer_delay + delay``. True when something is owed.
        ``size``: the hello's bytes (earn the author credit)."""
        self.credit.earn(author, size)
        cutoff = at if since else at - self._s.hello_grace
        due = now + self._s.answer_delay + delay
        want: list[str] = []
        # own records: with ``since``, only once published (the own hello is still to
        # come, and reaches the joiner, until then)
        if (
            self._own_bcast if since else self._started_at <= cutoff
        ) and self._reg.self_key not in known:
            want.append(self._self_id)
        want += self._reg.unknown_to(known, cutoff, author)
        if since:
            limit = since + int(self._s.hello_skew * 1000)
            bcast = self._bcast
            want = [
                w
                for w in want
                if (self._own_bcast if w == self._self_id else bcast.get(w, 0)) <= limit
            ]
        else:
            recent = at - self._repeat
            want = [w for w in want if self._sent.get(w, -math.inf) <= recent]
        want = self._afford(author, want, now, False)
        if not want:
            return False
        for w in want:
            self._info[w] = min(self._info.get(w, due), due)
            self._need[w] = max(self._need.get(w, 0), since)
        self._schedule(due)
        return True

    def for_request(
        self,
        author: str,
        msg: ReqInfoMsg | ReqUpdatesMsg,
        now: float,
        requests: Requests,
        size: int = 0,
    ) -> bool:
        """k peers chosen by the nonce answer for every requested peer they know (owners
        included), unless they know their copy is outdated; a repeated request (the
        first answer didn't arrive) is also answered by the owners, and others' answers
        don't cancel it. True when something is owed."""
        clocks = isinstance(msg, ReqUpdatesMsg)
        chosen = self._self_id in self._reg.chosen(msg.nonce, self._s.responders, {author}, now)
        if chosen:
            self.credit.earn(author, size)
        forced = self._forced_clocks if clocks else self._forced_info
        answered = False
        due = now + self._s.answer_delay
        for p in msg.peers[: self._s.budgets.request_ids]:
            if p != self._self_id and not self._reg.holds(p, False) and not self._reg.is_missing(p):
                continue  # unknown here: nothing to answer or to wait for (no state kept)
            # a request seen on the network suppresses our own (Go: reqInfo)
            repeat = requests.note_seen(p, now, clocks, author)
            if p == self._self_id:
                if not (chosen or repeat):
                    continue
            elif not chosen or not self._reg.holds(p, clocks) or self._outdated(p, clocks):
                continue
            if not clocks and self._sent.get(p, -math.inf) > now - self._repeat:
                continue  # just answered (by anyone): the requester got it too
            if not self._afford(author, [p], now, clocks):
                break
            if repeat:
                forced.add(p)
            self.add(p, due, clocks=clocks)
            answered = True
        return answered

    def _outdated(self, peer: str, clocks: bool) -> bool:
        """A gossip digest showed newer records of ``peer`` than held here: answering
        with ours would send everyone a copy most of them hold in a newer version (the
        owner answers a repeated request)."""
        reg = self._reg
        return peer in reg.missing_info or (clocks and peer in reg.missing_clocks)

    def suppress(
        self, owner: str, info: Record | None, clocks: Record | None, sent: int = 0
    ) -> None:
        """Someone else sent records we were about to send (in a message published at
        wall ``sent`` ms, 0 = unknown): drop our answer. An info answer owed to hellos
        is dropped only by a copy published after their authors' ``since``."""
        if owner not in self._info and owner not in self._clocks:
            return
        if owner in self._forced_info or owner in self._forced_clocks:
            return
        if owner == self._self_id:
            epoch, iseq, cseq = self._local.current_versions()
            info_ok = info is not None and info.version >= (epoch, iseq)
            clk_ok = clocks is not None and clocks.version >= (epoch, cseq)
        else:
            info_ok = info is not None and self._reg.has_at_least(info, False)
            clk_ok = clocks is not None and self._reg.has_at_least(clocks, True)
            p = self._reg.peers.get(owner)
            if p is not None and p.clock_rec is None:
                clk_ok = True
        need = self._need.get(owner, 0)
        if info_ok and clk_ok and (not need or sent > need):
            self._info.pop(owner, None)
            self._need.pop(owner, None)
        if clk_ok:
            self._clocks.pop(owner, None)

    def take_due(self, now: float) -> tuple[list[str], list[str]]:
        """Pop the answers due by ``now``: (peers whose info to send, peers whose clocks
        only); the rest stays due (and scheduled)."""
        info_ids = [p for p, due in self._info.items() if due <= now]
        clock_ids = [p for p, due in self._clocks.items() if due <= now]
        for p in info_ids:
            self.seen_info(p, now)
            del self._info[p]
            self._need.pop(p, None)
            self._clocks.pop(p, None)
            self._forced_info.discard(p)
            self._forced_clocks.discard(p)
        clock_ids = [p for p in clock_ids if p in self._clocks]
        for p in clock_ids:
            del self._clocks[p]
            self._forced_clocks.discard(p)
        rest = [*self._info.values(), *self._clocks.values()]
        if rest:
            self._schedule(min(rest))
        return info_ids, clock_ids
