"""Gossipsub peer scoring on py-libp2p 0.8.1, fed by the topic validator.

Go: go-libp2p-pubsub's ``PeerScoreParams`` / ``PeerScoreThresholds``. py-libp2p 0.8.1
has a minimal :class:`~libp2p.pubsub.score.PeerScorer`: every counter decays once per
heartbeat, the P4 invalid-message counter is linear (go squares it), and of the
thresholds only two act on messages: ``publish_threshold`` drops a forwarder's messages
before validation (``Pubsub.push_msg``; it looks at the topic score, P1-P4, only),
``graylist_threshold`` only refuses GRAFTs and gossip (go ignores a graylisted peer's
whole RPC). So the transport disconnects and blacklists a forwarder itself once its
score falls below :data:`GRAYLIST_THRESHOLD` (:mod:`._libp2p_validation`).

Two terms count: P4, each message the validator REJECTs, and the application score
(go's P5 ``AppSpecificScore``; py-libp2p calls it P6: ``app_specific_score_fn`` times
``p6_appl_slack_weight``, read afresh at every ``score()``), which the engine computes:
minus its decaying penalties for over-budget records the peer relayed
(:class:`AppScore`, ``Engine.app_score``).

py-libp2p's validator returns a bool: False always adds to P4 and is cached as a failure
for the message id (a copy from another forwarder is then penalized unchecked;
:class:`NoValidationCache` caches nothing). For ``IGNORE`` (drop without
the P4 penalty) the transport sets :attr:`Excuse.pending` before it returns False;
:class:`ExcusingScorer` consumes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Container

from libp2p.abc import INetConn, INetStream, INetwork, INotifee
from libp2p.peer.id import ID
from libp2p.pubsub.pubsub import ValidationCache, ValidationResult
from libp2p.pubsub.score import PeerScorer, ScoreParams, TopicScoreParams
from multiaddr import Multiaddr

INVALID_WEIGHT = 1.0
"""Score lost per rejected message (P4 weight; the counter decays per heartbeat)."""
INVALID_DECAY = 0.9
"""What remains of the P4 counter after each heartbeat: a steady ``r`` rejections per
second (1 s heartbeat) settle at ``10 r``."""
APP_WEIGHT = 1.0
"""Weight of the application score (one over-budget record costs as much as one
rejected message; the engine's penalties decay like P4)."""
GRAYLIST_THRESHOLD = -50.0
"""Below this a forwarder is disconnected and blacklisted (and, by P4 alone, its
messages are dropped unvalidated): > 50 rejected messages or over-budget records in a
burst, or > 5 per second sustained."""


class AppScore:
    """py-libp2p's ``app_specific_score_fn``: the engine's score of a peer, once the
    transport has one (:attr:`fn`, by base58 peer id; 0 until then)."""

    fn: Callable[[str], float] | None = None

    def __call__(self, peer: ID) -> float:
        fn = self.fn
        return 0.0 if fn is None else fn(peer.to_base58())


def score_params(app: AppScore) -> ScoreParams:
    """P4 (invalid messages) and the application score count; the rest (P1-P3 mesh
    deliveries, P5 behaviour, P7 IP colocation) stays at py-libp2p's zero weights."""
    return ScoreParams(
        p4_invalid_messages=TopicScoreParams(
            weight=INVALID_WEIGHT, cap=10 * -GRAYLIST_THRESHOLD, decay=INVALID_DECAY
        ),
        app_specific_score_fn=app,
        p6_appl_slack_weight=APP_WEIGHT,
        publish_threshold=GRAYLIST_THRESHOLD,
        graylist_threshold=GRAYLIST_THRESHOLD,
    )


class Excuse:
    """Set by the validator for an IGNORE verdict, consumed by the failure paths that
    run synchronously right after it (no await between them in ``push_msg``)."""

    pending = False


class ExcusingScorer(PeerScorer):
    """A :class:`PeerScorer` that skips the P4 penalty for an excused (IGNOREd) message."""

    def __init__(self, params: ScoreParams, excuse: Excuse) -> None:
        super().__init__(params)
        self._excuse = excuse

    def on_invalid_message(self, peer: ID, topic: str) -> None:
        if self._excuse.pending:
            self._excuse.pending = False
            return
        super().on_invalid_message(peer, topic)


class NoValidationCache(ValidationCache):
    """A validation cache that remembers nothing: every copy that reaches the validator
    is judged afresh (its decode is cached per process).

    py-libp2p caches a failure by message id and then drops and penalizes every other
    forwarder's copy unchecked; but our verdicts depend on the forwarder (its rate; an
    author's own excess is its fault, a relay's copy of it is not). A cached success is
    read only for a copy arriving after the seen-messages cache forgot the message (a
    replay), which should be judged now (its records may have gone stale), not relayed
    on an old verdict. And py-libp2p's cache keeps its LRU order in a list it scans on
    every put (1,000 ids): about 18 µs per received message in
    ``benchmarks/cpu_per_update.py``, more than the engine's whole intake of an update.
    """

    def get(self, msg_id: bytes) -> ValidationResult | None:
        return None

    def put(self, msg_id: bytes, result: ValidationResult) -> None:
        pass


class Refuser(INotifee):
    """Closes every new connection of a peer in ``refused`` (a graylisted forwarder
    redialling us). py-libp2p's connection gate filters by IP only, and the pubsub
    blacklist only refuses the pubsub stream: the connection itself would stay up."""

    def __init__(self, refused: Container[ID]) -> None:
        self._refused = refused

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        if conn.muxed_conn.peer_id in self._refused:
            with contextlib.suppress(Exception):
                await conn.close()

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        pass

    async def listen(self, network: INetwork, multiaddr: Multiaddr) -> None:
        pass

    async def listen_close(self, network: INetwork, multiaddr: Multiaddr) -> None:
        pass
