"""Judging a message before the transport relays it (Go: a go-libp2p-pubsub topic
validator returning ``pubsub.ValidationResult``).

A transport that can stop a message at the first hop (:class:`Validating`, the libp2p
one) calls :meth:`Gate.judge` for every message of the topic before it forwards it;
only an :attr:`Verdict.ACCEPT`\\ ed message is relayed and handed to the engine. What
is judged here is cheap or bounded per forwarder per second: the forwarder's rate,
the decode (cached per process, so the engine does not decode it again), the author's
per-type rate and the owner signatures of records that would be new.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

from .._events import TopicMetrics
from .._local import LocalRecords
from .._outcomes import Freshness
from .._ratelimit import RateLimiter
from .._registry import Registry
from .._settings import TopicSettings
from .._wire import (
    DecodeError,
    InfoMsg,
    LinksMsg,
    Message,
    Record,
    UpdatesMsg,
    decode_message,
    signed_payload,
)

log = logging.getLogger(__name__)


class Verdict(enum.Enum):
    """Go: ``ValidationAccept`` / ``ValidationReject`` / ``ValidationIgnore``."""

    ACCEPT = "accept"
    """Relay it and hand it to the engine."""
    REJECT = "reject"
    """Malformed, forged or over the sender's rate: drop it and penalize the forwarder."""
    IGNORE = "ignore"
    """Not worth relaying, but not the forwarder's fault: drop it without penalty."""


ValidatorFn = Callable[[str, str, bytes], Verdict]
"""``validator(author, forwarder, data)`` (base58 peer ids)."""


@runtime_checkable
class Validating(Protocol):
    """A transport that validates messages before relaying them (see module docstring)."""

    def set_validator(self, validator: ValidatorFn | None) -> None: ...


class Gate:
    """The checks of :meth:`Engine.validate`; counts every refusal in ``metrics.rejected``.

    Rates: the author's per-type ``rates.incoming`` (the same limiter the engine applies
    without a validator) and, per forwarder, all types together at most
    ``sum(rates.incoming.values())`` per ``rates.window`` (a relay passes many authors'
    messages; a single peer inventing authors is caught here). A relayed message over
    its author's rate is IGNOREd (the relay judged it by its own window), a direct one,
    or anything over the forwarder's rate, is REJECTed.
    """

    def __init__(
        self,
        topic: str,
        verify: Callable[[str, bytes, bytes], bool],
        local: LocalRecords,
        registry: Registry,
        settings: TopicSettings,
        metrics: TopicMetrics,
        author_limit: RateLimiter,
        *,
        trust_authors: bool = False,
    ) -> None:
        self._trust_authors = trust_authors
        """A record its owner published itself is authentic (see :class:`Intake`)."""
        rates = settings.rates
        self._forwarders = RateLimiter({"msgs": sum(rates.incoming.values())}, rates.window)
        self._authors = author_limit
        self._topic = topic
        self._verify = verify
        self._local = local
        self._reg = registry
        self._limits = settings.limits
        self._m = metrics

    def judge(self, author: str, forwarder: str, data: bytes, now: float) -> Verdict:
        """The verdict on one message (never raises for bad input)."""
        if author == self._local.peer_id:
            return Verdict.ACCEPT  # our own publish passes libp2p's validators too
        if not self._forwarders.allow("msgs", now, forwarder):
            return self._refuse("forwarder_rate_limited", Verdict.REJECT)
        try:
            msg = decode_message(data, self._limits)
        except DecodeError as e:
            log.debug("refused a msg of %s via %s: %s", author[-6:], forwarder[-6:], e)
            return self._refuse(e.reason, Verdict.REJECT)
        if not self._authors.allow(msg.TYPE.label, now, author):
            relayed = forwarder != author
            return self._refuse("rate_limited", Verdict.IGNORE if relayed else Verdict.REJECT)
        for rec, kind in _records(msg):
            why = self._forged(rec, kind, author)
            if why:
                return self._refuse(why, Verdict.REJECT)
        return Verdict.ACCEPT

    def _forged(self, rec: Record, kind: _Kind, author: str) -> str:
        """Why ``rec`` is forged ("" if it isn't, or if it isn't new, or if its owner
        signed the message (``trust_authors``): not checked)."""
        if rec.owner == self._local.peer_id:
            if kind == "links":
                return ""  # ours: the intake drops it as a duplicate
            epoch, iseq, cseq = self._local.current_versions()
            held = (epoch, cseq if kind == "clocks" else iseq)
            return "forged_self" if rec.version > held else ""
        fresh = (
            self._reg.check_links(rec)
            if kind == "links"
            else self._reg.check(rec, kind == "clocks")
        )
        if fresh is not Freshness.NEW or (self._trust_authors and rec.owner == author):
            return ""
        ok = self._verify(rec.owner, signed_payload(self._topic, rec.body), rec.sig)
        return "" if ok else "bad_signature"

    def _refuse(self, reason: str, verdict: Verdict) -> Verdict:
        self._m.rejected[reason] += 1
        return verdict


_Kind = Literal["info", "clocks", "links"]


def _records(msg: Message) -> list[tuple[Record, _Kind]]:
    """The signed records in ``msg`` and their kinds."""
    if isinstance(msg, UpdatesMsg):
        return [(r, "clocks") for r in msg.records]
    if isinstance(msg, LinksMsg):
        return [(r, "links") for r in msg.records]
    out: list[tuple[Record, _Kind]] = []
    if isinstance(msg, InfoMsg):
        for info, clocks in msg.entries:
            out.append((info, "info"))
            if clocks is not None:
                out.append((clocks, "clocks"))
    return out
