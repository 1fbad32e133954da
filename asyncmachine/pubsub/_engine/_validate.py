"""Judging a message before the transport relays it (Go: a go-libp2p-pubsub topic
validator returning ``pubsub.ValidationResult``).

A transport that can stop a message at the first hop (:class:`Validating`, the libp2p
one) calls :meth:`Gate.judge` for every message of the topic before it forwards it;
only an :attr:`Verdict.ACCEPT`\\ ed message is relayed and handed to the engine. What
is judged here is cheap or bounded per forwarder per second: the forwarder's rate,
the decode (cached per process, so the engine does not decode it again), the author's
per-type rate, and the records (:mod:`._screen`): owner signatures and bodies of new
ones within the author's work allowance, freshness by header and stamp, the budgets.
The transport also reads the application score (:meth:`Validating.set_app_score`):
penalties for over-budget records, by forwarder.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from itertools import repeat
from typing import NamedTuple, Protocol, runtime_checkable

from .._events import TopicMetrics
from .._local import LocalRecords
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
)
from ._intake import NOT_SCREENED
from ._penalties import Penalties
from ._screen import Body, Check, Kind, Screen

log = logging.getLogger(__name__)


class Verdict(enum.Enum):
    """Go: ``ValidationAccept`` / ``ValidationReject`` / ``ValidationIgnore``."""

    ACCEPT = "accept"
    """Relay it and hand it to the engine."""
    REJECT = "reject"
    """Malformed, forged or over the sender's rate: drop it and penalize the forwarder."""
    IGNORE = "ignore"
    """Not worth relaying, but not invalid: drop it without the invalid-message penalty
    (over-budget records still cost the forwarder application score)."""


ValidatorFn = Callable[[str, str, bytes], Verdict]
"""``validator(author, forwarder, data)`` (base58 peer ids)."""
AppScoreFn = Callable[[str], float]
"""``app_score(peer_id)``: <= 0, added to the peer's gossipsub score (Go: P5)."""


@runtime_checkable
class Validating(Protocol):
    """A transport that validates messages before relaying them (see module docstring)
    and scores its neighbours with an application score."""

    def set_validator(self, validator: ValidatorFn | None) -> None: ...

    def set_app_score(self, app_score: AppScoreFn | None) -> None: ...


class Gate:
    """The checks of :meth:`Engine.validate`; counts every refusal in ``metrics.rejected``.

    Rates: the author's per-type ``rates.incoming`` (the same limiter the engine applies
    without a validator) and, per forwarder, all types together at most
    ``sum(rates.incoming.values())`` per ``rates.window`` (a relay passes many authors'
    messages; a single peer inventing authors is caught here). A relayed message over
    its author's rate is IGNOREd (the relay judged it by its own window), a direct one,
    or anything over the forwarder's rate, is REJECTed.

    Records (:class:`~._screen.Screen`): a forged one REJECTs the message; one over the
    per-peer budgets, or over its author's work allowance, IGNOREs it (records are
    never stripped from a message: all of it is relayed or none); a message whose every
    record is moot (stale, departed, expired, ...) is IGNOREd unless it is a hello (the
    question is news). Each over-budget record adds to the forwarder's
    :attr:`penalties` (the application score): IGNOREd, but not free.
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
        rates = settings.rates
        self._forwarders = RateLimiter({"msgs": sum(rates.incoming.values())}, rates.window)
        self._authors = author_limit
        self._screen = Screen(topic, verify, local, registry, settings, trust_authors=trust_authors)
        self._self_id = local.peer_id
        self._limits = settings.limits
        self._m = metrics
        self.penalties = Penalties(settings.budgets.peers)
        """Over-budget records by forwarder, decaying (see :mod:`._penalties`)."""
        self._passed: dict[bytes, Passed] = {}

    def take_passed(self, data: bytes) -> Passed | None:
        """The accepted message ``data`` decodes to, with the records the screen
        verified, charged and decoded (each taken once; None if not judged here). The
        engine then neither decodes the message or those records again nor pays for, or
        verifies, them twice."""
        return self._passed.pop(data, None)

    def _accept(self, data: bytes, msg: Message, screened: Mapping[bytes, Body | None]) -> Verdict:
        passed = self._passed
        if len(passed) >= _MAX_PASSED:  # accepted but never delivered (a race in libp2p)
            del passed[next(iter(passed))]
        passed[data] = Passed(msg, screened)
        return Verdict.ACCEPT

    def judge(self, author: str, forwarder: str, data: bytes, now: float) -> Verdict:
        """The verdict on one message (never raises for bad input)."""
        if author == self._self_id:
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
        records = _records(msg)
        if not records:
            return self._accept(data, msg, NOT_SCREENED)
        return self._records(data, msg, records, author, forwarder, now)

    def _records(
        self,
        data: bytes,
        msg: Message,
        records: list[tuple[Record, Kind]],
        author: str,
        fwd: str,
        now: float,
    ) -> Verdict:
        """The verdict on a message by its records (see the class docstring)."""
        reasons: list[str] = []
        screened: dict[bytes, Body | None] = {}
        moot = over = 0
        for rec, kind in records:
            check, why, body = self._screen.check(rec, kind, author, fwd, now)
            if check is Check.FORGED:
                return self._refuse(why, Verdict.REJECT)
            if check is Check.NEW:
                screened[rec.sig] = body
                continue
            if check is Check.KEEP:
                continue
            reasons.append(why)
            moot += check is Check.MOOT
            over += check is Check.OVER
            if check is Check.BUSY:
                break  # nothing more is verified for this author this second
        if over:
            self.penalties.add(fwd, over, now)
        if len(reasons) == moot and (moot < len(records) or _is_hello(msg)):
            # news for someone (or a question): relay all of it
            return self._accept(data, msg, screened)
        for why in reasons:
            self._m.rejected[why] += 1
        return Verdict.IGNORE

    def _refuse(self, reason: str, verdict: Verdict) -> Verdict:
        self._m.rejected[reason] += 1
        return verdict


_MAX_PASSED = 256


class Passed(NamedTuple):
    """An accepted message, as the validator decoded it (see :meth:`Gate.take_passed`)."""

    msg: Message
    screened: Mapping[bytes, Body | None]
    """Its records that were new, verified and paid for, by signature, with their
    decoded bodies (None: a links record, not decoded here)."""


def _is_hello(msg: Message) -> bool:
    return isinstance(msg, InfoMsg) and msg.hello is not None


def _records(msg: Message) -> list[tuple[Record, Kind]]:
    """The signed records in ``msg`` and their kinds."""
    if isinstance(msg, UpdatesMsg):
        return list(zip(msg.records, repeat("clocks")))
    if isinstance(msg, LinksMsg):
        return list(zip(msg.records, repeat("links")))
    out: list[tuple[Record, Kind]] = []
    if isinstance(msg, InfoMsg):
        for info, clocks in msg.entries:
            out.append((info, "info"))
            if clocks is not None:
                out.append((clocks, "clocks"))
    return out
