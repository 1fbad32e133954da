"""Outgoing messages built from own records and the registry; no I/O.

Go: the message construction inside SendInfo/DoSendInfo, SendUpdates,
SendGossips and ReqMissing*. Each builder returns the freshest message at the
time the work runs (work is state, not queued messages).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .._local import LocalRecords
from .._registry import Registry
from .._settings import TopicSettings
from .._transport import GossipTransport, author_signed
from .._wire import (
    DigestEntry,
    GossipMsg,
    InfoMsg,
    LinksMsg,
    Record,
    ReqInfoMsg,
    ReqUpdatesMsg,
    UpdatesMsg,
    entry_size,
    pack_keys,
    signed_payload,
)

Entry = tuple[Record, Record | None]
Links = tuple[tuple[str, ...], tuple[str, ...]]

LINKS_PER_MESSAGE = 256


class Outgoing:
    """Message builders of one peer."""

    def __init__(
        self,
        local: LocalRecords,
        registry: Registry,
        settings: TopicSettings,
        transport: GossipTransport,
        rng: random.Random,
    ) -> None:
        self._local = local
        self._reg = registry
        self._s = settings
        self._t = transport
        self._rng = rng
        self._self_id = transport.peer_id
        self._check_relayed = author_signed(transport)

    def _relayable(self, rec: Record | None) -> Record | None:
        """``rec``, if it may be relayed. On an :class:`AuthorSigned` transport a record
        taken from its owner's own message had its signature checked by the transport
        only (see ``Intake``): it is checked here (once per process: verification is
        cached), and one with a bad signature is not relayed."""
        if rec is None or not self._check_relayed:
            return rec
        payload = signed_payload(self._t.topic, rec.body)
        return rec if self._t.verify(rec.owner, payload, rec.sig) else None

    def own_entry(self) -> Entry:
        """Own info record with the current clocks record."""
        info = self._local.info_record()
        clocks, _ = self._local.clock_record()
        return info, clocks

    def hello(self, nonce: int, since: int, sent: int) -> InfoMsg:
        """Own records, a nonce choosing the responder, the known peers' ring keys and
        since when this peer listens (so the responder sends only what it misses)."""
        keys = [p.key for p in self._reg.peers.values()]
        known = pack_keys(keys[: self._s.max_known])
        return InfoMsg((self.own_entry(),), hello=nonce, known=known, since=since, sent=sent)

    def answer_info(self, peers: Sequence[str], sent: int) -> list[InfoMsg]:
        """Info entries (with clocks) of ``peers``, split into messages of about
        ``max_message_bytes`` (a late joiner may need every peer's records); ``sent``:
        the publication time (wall ms)."""
        entries: list[Entry] = []
        for p in peers:
            if p == self._self_id:
                entries.append(self.own_entry())
            else:
                rp = self._reg.peers.get(p)
                info = None if rp is None else self._relayable(rp.info_rec)
                if rp is not None and info is not None:
                    entries.append((info, self._relayable(rp.clock_rec)))
        if not entries:
            return []
        msgs: list[InfoMsg] = []
        chunk: list[Entry] = []
        size = 0
        for e in entries:
            es = entry_size(*e)
            if chunk and size + es > self._s.max_message_bytes:
                msgs.append(InfoMsg(tuple(chunk), sent=sent))
                chunk, size = [], 0
            chunk.append(e)
            size += es
        msgs.append(InfoMsg(tuple(chunk), sent=sent))
        return msgs

    def answer_clocks(self, peers: Sequence[str]) -> UpdatesMsg | None:
        """The clocks records held of ``peers`` (own: the current one)."""
        clocks: list[Record] = []
        for p in peers:
            if p == self._self_id:
                clocks.append(self._local.clock_record()[0])
            else:
                rp = self._reg.peers.get(p)
                rec = None if rp is None else self._relayable(rp.clock_rec)
                if rec is not None:
                    clocks.append(rec)
        return UpdatesMsg(tuple(clocks)) if clocks else None

    def answer_links(self, peers: Sequence[str]) -> list[LinksMsg]:
        """The links records held of ``peers``, relayed along with their info."""
        links: list[Record] = []
        for p in peers:
            if p == self._self_id:
                rec = self._local.last_links
            else:
                rp = self._reg.peers.get(p)
                rec = self._relayable(rp.links_rec) if rp is not None else None
            if rec is not None:
                links.append(rec)
        n = LINKS_PER_MESSAGE
        return [LinksMsg(tuple(links[i : i + n])) for i in range(0, len(links), n)]

    def request(self, nonce: int, peers: Sequence[str], clocks: bool) -> ReqInfoMsg | ReqUpdatesMsg:
        """Go: ReqMissingUpdates (``clocks``) / ReqMissingPeers."""
        return ReqUpdatesMsg(nonce, tuple(peers)) if clocks else ReqInfoMsg(nonce, tuple(peers))

    def digest(self, amount: int | None = None) -> tuple[DigestEntry, ...]:
        """Own versions plus a random sample of ``amount`` (default ``gossip_amount``)
        known peers (Go: with replacement)."""
        epoch, iseq, cseq = self._local.current_versions()
        own = DigestEntry(self._self_id, epoch, iseq, cseq)
        peers = list(self._reg.peers.values())
        k = min(self._s.gossip_amount if amount is None else amount, len(peers))
        sample = self._rng.sample(peers, k) if k else []
        return (own, *(p.digest() for p in sample))

    def gossip(self, amount: int | None = None) -> GossipMsg:
        """Go: SendGossips, plus this peer's view (count, xor of ring keys)."""
        return GossipMsg(self.digest(amount), self._reg.view())

    def own_links(self) -> Links:
        """(connected topic peers, gossip-mesh peers), sorted, ``limits.max_links`` each."""
        cap = self._s.limits.max_links
        topic_peers = self._t.topic_peers()
        conn = sorted(topic_peers & self._t.connected_peers())[:cap]
        mesh = sorted(self._t.mesh_peers())[:cap]
        return tuple(conn), tuple(mesh)
