"""Taking received records: freshness by header, owner signature, body decode, apply.

Go: the record handling of MsgInfo and MsgUpdates (which had no signatures and
compared versions inline). A duplicate or stale copy costs a header comparison
only; the signature is checked and the body decoded only for new records.
Every rejection is counted in ``metrics.rejected`` under its reason.

Info and clocks records carry their owner's wall-clock stamp: a record stamped more
than ``max_age`` ago is ``expired`` (a replay after the tombstone that covered it was
forgotten), one stamped more than ``skew`` ahead is ``future``; the stamp, mapped onto
this peer's clock, is the owner's last sign of life (its timeout counts from there,
however late the record was relayed). The expensive part (signature, decode, mirror
states) is bounded per relaying author per second (``work_limit``).

With ``trust_authors`` (an :class:`AuthorSigned` transport: py-libp2p has checked the
author's signature over the whole message) a record its owner published itself skips
its own signature check: the owner signed the message that carries it. The engine
checks that signature before relaying the record to anyone (see ``Outgoing``), so a
record whose own signature is bad never leaves this peer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TypeVar

from .._admission import body_cost
from .._events import TopicMetrics
from .._local import LocalRecords
from .._outcomes import DUP, Freshness, Outcome, Take, rejected
from .._ratelimit import RateLimiter
from .._registry import Registry
from .._settings import Budgets
from .._wallclock import wall_ms
from .._wire import (
    ClocksBody,
    DecodeError,
    InfoBody,
    LinksBody,
    Record,
    WireLimits,
    decode_clocks_body,
    decode_info_body,
    decode_links_body,
    signed_payload,
)

log = logging.getLogger(__name__)

_Body = TypeVar("_Body", InfoBody, ClocksBody, LinksBody)
Verify = Callable[[str, bytes, bytes], bool]
"""``verify(owner, payload, sig)``: the transport's signature check."""


class Intake:
    """Validates, verifies and applies records to the registry; returns an :class:`Outcome`."""

    def __init__(
        self,
        topic: str,
        verify: Verify,
        local: LocalRecords,
        registry: Registry,
        limits: WireLimits,
        metrics: TopicMetrics,
        *,
        max_age: float = 3600.0,
        skew: float = 60.0,
        budgets: Budgets | None = None,
        trust_authors: bool = False,
    ) -> None:
        b = budgets or Budgets()
        self._trust_authors = trust_authors
        self._max_age = max_age
        self._skew = skew
        self._work = RateLimiter(
            {
                "records": b.records_per_author,
                "bytes": b.body_bytes_per_author,
                "states": b.states_per_author,
            },
            1.0,
        )
        self._topic = topic
        self._verify_sig = verify
        self._local = local
        self._reg = registry
        self._limits = limits
        self._m = metrics
        self._self_id = local.peer_id
        self.screened: Mapping[bytes, InfoBody | ClocksBody | None] = NOT_SCREENED
        """The records in the message being taken that the validator has verified,
        charged to the work allowances and decoded already, by signature, with their
        bodies (set by the engine; see ``Gate.take_passed``)."""

    def take_info(self, rec: Record, at: float, author: str = "") -> Outcome:
        """Verify and apply an info record (Go: MsgInfo, per machine); ``author``: the
        relaying peer whose work budget pays for it ("" = none)."""
        out = self._fresh(rec, clocks=False)
        if out is not None:
            return out
        body = self._open(rec, decode_info_body, InfoBody, author, at)
        if isinstance(body, Outcome):
            return body
        alive = self._alive(body.time, at)
        if isinstance(alive, Outcome):
            return alive
        if author and not self._work.allow("states", at, author, body_cost(body)[1]):
            return self._reject("work_limit")
        return self._count(self._reg.apply_info(rec, body, at, alive))

    def take_clocks(self, rec: Record, at: float, author: str = "") -> Outcome:
        """Verify and apply a clocks record (Go: MsgUpdates); pending until its info."""
        out = self._fresh(rec, clocks=True)
        if out is not None:
            return out
        body = self._open(rec, decode_clocks_body, ClocksBody, author, at)
        if isinstance(body, Outcome):
            return body
        alive = self._alive(body.time, at)
        if isinstance(alive, Outcome):
            return alive
        return self._count(self._reg.apply_clocks(rec, body, at, alive))

    def _alive(self, stamp_ms: int, at: float) -> float | Outcome:
        """The owner's stamp on this peer's (Trio) clock, or why the record is refused."""
        age = (wall_ms(at) - stamp_ms) / 1000
        if age < -self._skew:
            return self._reject("future")
        if age > self._max_age:
            return self._reject("expired")
        return at - max(age, 0.0)

    def take_links(self, rec: Record, at: float, author: str = "") -> Outcome:
        """Verify and store a links record (someone's connections, for peer graphs)."""
        if rec.owner == self._self_id:
            return DUP
        st = self._reg.check_links(rec)
        if st is not Freshness.NEW:
            return self._old(st)
        body = self._open(rec, decode_links_body, LinksBody, author, at)
        if isinstance(body, Outcome):
            return body
        return self._count(self._reg.apply_links(rec, body, at))

    def _fresh(self, rec: Record, clocks: bool) -> Outcome | None:
        """None for a new record, else why it is not taken (counted)."""
        if rec.owner == self._self_id:
            epoch, iseq, cseq = self._local.current_versions()
            if rec.version > (epoch, cseq if clocks else iseq):
                return self._reject("forged_self")
            self._m.duplicates += 1
            return DUP
        st = self._reg.check(rec, clocks)
        return None if st is Freshness.NEW else self._old(st)

    def _old(self, st: Freshness) -> Outcome:
        if st is Freshness.DUP:
            self._m.duplicates += 1
            return DUP
        return self._reject(st.value)

    def _open(
        self,
        rec: Record,
        decode: Callable[[bytes, WireLimits], _Body],
        cls: type[_Body],
        author: str,
        at: float,
    ) -> _Body | Outcome:
        """Check the owner's signature, decode the body (a ``cls``) and match it to the
        header (within the relaying ``author``'s work budget)."""
        sig = rec.sig
        screened = sig in self.screened
        if screened:
            body = self.screened[sig]
            if isinstance(body, cls):  # verified, charged and decoded by the validator
                return body if _matches(body, rec) else self._reject("header_mismatch")
        else:
            work = self._work
            if author and not (
                work.allow("records", at, author) and work.allow("bytes", at, author, len(rec.body))
            ):
                return self._reject("work_limit")
        own = screened or (self._trust_authors and author == rec.owner)
        if not own and not self._verify_sig(rec.owner, signed_payload(self._topic, rec.body), sig):
            log.debug("[%s] bad signature on a record of %s", self._self_id[-6:], rec.owner[-6:])
            return self._reject("bad_signature")
        try:
            decoded = decode(rec.body, self._limits)
        except DecodeError as e:
            log.debug("[%s] bad record of %s: %s", self._self_id[-6:], rec.owner[-6:], e)
            return self._reject(e.reason)
        return decoded if _matches(decoded, rec) else self._reject("header_mismatch")

    def _count(self, out: Outcome) -> Outcome:
        if out.take is Take.APPLIED:
            self._m.records_applied += 1
        elif out.take is Take.REJECTED:
            self._m.rejected[out.reason] += 1
        return out

    def _reject(self, reason: str) -> Outcome:
        self._m.rejected[reason] += 1
        return rejected(reason)


NOT_SCREENED: Mapping[bytes, InfoBody | ClocksBody | None] = {}
"""No record of the message being taken was screened by a validator."""


def _matches(body: InfoBody | ClocksBody | LinksBody, rec: Record) -> bool:
    """The body names the owner, epoch and seq of the record's (unsigned) header."""
    return body.owner == rec.owner and body.epoch == rec.epoch and body.seq == rec.seq
