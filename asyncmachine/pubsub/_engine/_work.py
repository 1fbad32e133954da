"""Each kind of outgoing work, run when due: the message it builds and publishes
(Go: SendUpdates, SendInfo / DoSendInfo, SendGossips, ReqMissingPeers,
ReqMissingUpdates; plus the links record, pulls and announcements Go has not).

The :class:`Scheduler` decides when (and within the outgoing limits); :class:`Outgoing`
builds the messages; this runner ties the two to the Topic machine's Send* flags and
to the bookkeeping a sent message changes (answers already broadcast, the last push).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from .._events import TopicMetrics
from .._local import LocalRecords
from .._settings import TopicSettings
from .._topic_states import ss
from .._wallclock import wall_ms
from .._wire import InfoMsg, LinksMsg, UpdatesMsg
from ._answers import Answers
from ._hello import Hello
from ._outgoing import Outgoing
from ._peers import PeerWatch
from ._requests import Requests
from ._scheduler import Work
from ._sender import Sender


class WorkRunner:
    """Builds and publishes the message of each kind of due work."""

    def __init__(
        self,
        self_id: str,
        local: LocalRecords,
        out: Outgoing,
        sender: Sender,
        parts: tuple[Hello, Answers, Requests, PeerWatch],
        settings: TopicSettings,
        metrics: TopicMetrics,
        rng: random.Random,
        schedule: Callable[[Work, float], None],
    ) -> None:
        self._self_id = self_id
        self._local = local
        self._out = out
        self._sender = sender
        self._hello, self._answers, self._requests, self._peers = parts
        self._s = settings
        self._m = metrics
        self._rng = rng
        self._schedule = schedule
        self.pushed_at = -math.inf
        """When own clock changes were last pushed."""

    async def __call__(self, work: Work, now: float) -> None:
        """Run ``work`` due at ``now`` (the :class:`Scheduler` calls this)."""
        pub, flag = self._sender.publish, self._sender.flag
        if work is Work.PUSH or work is Work.KEEPALIVE:
            rec, new = self._local.clock_record(refresh=work is Work.KEEPALIVE)
            if new:
                self.pushed_at = now
                with flag(ss.SendUpdates):
                    await pub(UpdatesMsg((rec,)))
        elif work is Work.HELLO:
            self._hello.sent += 1
            await self._send_hello(now, pull=False)
        elif work is Work.LINKS:
            rec, new = self._local.links_record(*self._out.own_links())
            if new:
                await pub(LinksMsg((rec,)))
        elif work is Work.PULL:
            if self._hello.pull_due(now):
                self._m.pulls += 1
                await self._send_hello(now, pull=True)
            self._hello.pull_done()
        elif work is Work.ANNOUNCE:
            sent = wall_ms(now)
            if await pub(InfoMsg((self._out.own_entry(),), sent=sent)):
                self._answers.broadcast(self._self_id, sent)
        elif work is Work.ANSWER:
            await self._send_answers(now)
        elif work is Work.REQINFO or work is Work.REQUPDATES:
            await self._send_request(now, clocks=work is Work.REQUPDATES)
        elif work is Work.GOSSIP:
            # after a reconnection: as many entries as receivers look at, so the versions
            # that changed while the network was split are compared (and requested) soon
            wide = self._peers.take_rejoin(now)
            amount = self._s.budgets.digest_entries - 1 if wide else None
            with flag(ss.SendGossips):
                await pub(self._out.gossip(amount))

    async def _send_hello(self, now: float, *, pull: bool) -> None:
        sent = wall_ms(now)
        since = self._hello.sending(now, sent, pull)
        msg = self._out.hello(self._rng.getrandbits(63), since, sent)
        with self._sender.flag(ss.SendInfo):
            if await self._sender.publish(msg):
                self._answers.broadcast(self._self_id, sent)
                self._m.discovery_sent_at = now

    async def _send_answers(self, now: float) -> None:
        info_ids, clock_ids = self._answers.take_due(now)
        sent = wall_ms(now)
        infos = self._out.answer_info(info_ids, sent)
        clocks = self._out.answer_clocks(clock_ids)
        if infos:
            with self._sender.flag(ss.DoSendInfo):
                for msg in infos:
                    if await self._sender.publish(msg):
                        self._m.discovery_sent_at = now
                        for info, _ in msg.entries:
                            self._answers.broadcast(info.owner, sent)
        if clocks is not None:
            await self._sender.publish(clocks)
        for links in self._out.answer_links(info_ids):
            await self._sender.publish(links)

    async def _send_request(self, now: float, *, clocks: bool) -> None:
        ids, next_at = self._requests.next_ids(now, clocks, self._hello.in_flight)
        if next_at < math.inf:
            self._schedule(Work.REQUPDATES if clocks else Work.REQINFO, next_at)
        if not ids:
            return
        msg = self._out.request(self._rng.getrandbits(63), ids, clocks)
        with self._sender.flag(ss.ReqMissingUpdates if clocks else ss.ReqMissingPeers):
            if await self._sender.publish(msg) and not clocks:
                self._m.discovery_sent_at = now
