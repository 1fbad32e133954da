"""Screening one signed record before the transport relays the message carrying it.

The part of :class:`~._validate.Gate` that looks at records: is it forged, worth
relaying at all, within the budgets? Only what is cheap, or bounded per relaying
author per second, is done here; the intake still checks and applies what passes.

What is *not worth relaying* is judged conservatively, because the message may carry
news for the peers behind this one even when it has none for this one: a record is
**moot** only when no honest peer whose clock is within ``max_clock_skew`` of ours
would take it either (strictly older than a version held here or than a tombstone, of
a session that said bye, expired or from the future by a skew's margin), or when this
peer's own registry would refuse to admit its owner (then this peer could not answer
for it either). A duplicate of what is held is *kept*: it is how an answer to someone
else's hello or request reaches them through this peer.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Literal

from .._admission import over_peer_budget, refused
from .._local import LocalRecords
from .._outcomes import Freshness
from .._ratelimit import WorkAllowance
from .._registry import Registry
from .._settings import TopicSettings
from .._wallclock import wall_ms
from .._wire import (
    ClocksBody,
    DecodeError,
    InfoBody,
    Record,
    decode_clocks_body,
    decode_info_body,
    signed_payload,
)

log = logging.getLogger(__name__)

Kind = Literal["info", "clocks", "links"]
Body = InfoBody | ClocksBody


class Check(enum.Enum):
    """What one record makes of the message that carries it."""

    KEEP = "keep"
    """A duplicate of what is held: worth relaying (others may miss it)."""
    NEW = "new"
    """New, verified and paid for from the work allowances: worth relaying and taking."""
    MOOT = "moot"
    """No honest peer would take it (see module docstring): not worth relaying."""
    OVER = "over"
    """Over the per-peer budgets (machines, states): never held; its forwarder pays."""
    BUSY = "busy"
    """Over the relaying author's work allowance: not verified, not relayed."""
    FORGED = "forged"
    """A bad signature, an undecodable body, a header that lies, our own record newer
    than ours: invalid, its forwarder is penalized."""


class Screen:
    """Judges records by header, signature and (for new ones) body.

    Verifying and decoding a new record is paid from its relaying author's work
    allowance, ``budgets.records_per_author`` records and ``body_bytes_per_author``
    bytes per second (the intake's work budget; the decoded bodies are cached per
    process, so the intake does not decode them again), and from the forwarder's,
    ``records_per_forwarder`` and ``body_bytes_per_forwarder`` (a neighbour may relay
    for many authors, or invent them).
    """

    def __init__(
        self,
        topic: str,
        verify: Callable[[str, bytes, bytes], bool],
        local: LocalRecords,
        registry: Registry,
        settings: TopicSettings,
        *,
        trust_authors: bool = False,
    ) -> None:
        b = settings.budgets
        self._trust_authors = trust_authors
        """A record its owner published itself is authentic: the transport checked the
        message's author signature (see :class:`~._intake.Intake`); its own signature is
        checked only if this peer relays it in an answer."""
        self._work = WorkAllowance(b.records_per_author, b.body_bytes_per_author, 1.0)
        self._fwd_work = WorkAllowance(b.records_per_forwarder, b.body_bytes_per_forwarder, 1.0)
        self._topic = topic
        self._verify = verify
        self._local = local
        self._reg = registry
        self._limits = settings.limits
        skew = settings.max_clock_skew
        self._oldest = settings.record_max_age + skew
        """Older (by the owner's stamp) is expired for every peer within the skew."""
        self._newest = 2 * skew
        """Further ahead is from the future for every peer within the skew."""

    def check(
        self, rec: Record, kind: Kind, author: str, forwarder: str, now: float
    ) -> tuple[Check, str, Body | None]:
        """The check of ``rec`` in a message of ``author`` that ``forwarder`` sent us, why
        (a ``metrics.rejected`` reason; "" for KEEP and NEW), and for a NEW info or clocks
        record its decoded body (the intake takes it, not decoding it again)."""
        if rec.owner == self._local.peer_id:
            return self._own(rec, kind)
        fresh = (
            self._reg.check_links(rec)
            if kind == "links"
            else self._reg.check(rec, kind == "clocks")
        )
        if fresh is Freshness.DUP:
            return Check.KEEP, "", None
        if fresh is not Freshness.NEW:
            return Check.MOOT, fresh.value, None
        size = len(rec.body)
        if not self._fwd_work.charge(now, forwarder, size):
            return Check.BUSY, "work_limit", None
        if not self._work.charge(now, author, size):
            return Check.BUSY, "work_limit", None
        trusted = self._trust_authors and rec.owner == author
        if not trusted and not self._verify(
            rec.owner, signed_payload(self._topic, rec.body), rec.sig
        ):
            return Check.FORGED, "bad_signature", None
        if kind == "links":
            return Check.NEW, "", None  # no stamp, nothing held per links record beyond a bound
        return self._body(rec, kind, now)

    def _own(self, rec: Record, kind: Kind) -> tuple[Check, str, Body | None]:
        """A record of ours: newer than ours is forged, older is moot."""
        if kind == "links":
            return Check.KEEP, "", None  # ours: the intake drops it as a duplicate
        epoch, iseq, cseq = self._local.current_versions()
        held = (epoch, cseq if kind == "clocks" else iseq)
        if rec.version > held:
            return Check.FORGED, "forged_self", None
        return (Check.MOOT, "stale", None) if rec.version < held else (Check.KEEP, "", None)

    def _body(self, rec: Record, kind: Kind, now: float) -> tuple[Check, str, Body | None]:
        """A new, verified info or clocks record, by its decoded body."""
        try:
            body: Body = (
                decode_info_body(rec.body, self._limits)
                if kind == "info"
                else decode_clocks_body(rec.body, self._limits)
            )
        except DecodeError as e:
            log.debug("bad record of %s: %s", rec.owner[-6:], e)
            return Check.FORGED, e.reason, None
        if (body.owner, body.epoch, body.seq) != (rec.owner, rec.epoch, rec.seq):
            return Check.FORGED, "header_mismatch", None
        age = (wall_ms(now) - body.time) / 1000
        if age > self._oldest:
            return Check.MOOT, "expired", None
        if age < -self._newest:
            return Check.MOOT, "future", None
        reg = self._reg
        if isinstance(body, ClocksBody):
            full = len(reg.pending) >= reg.budgets.pending
            if full and rec.owner not in reg.peers and rec.owner not in reg.pending:
                return Check.MOOT, "pending_full", None
            return Check.NEW, "", body
        if over_peer_budget(body, reg.budgets):
            return Check.OVER, "over_budget", None
        if refused(reg, rec.owner, body, len(rec.body), now - max(age, 0.0)):
            return Check.MOOT, "over_budget", None
        return Check.NEW, "", body
