"""Gossipsub peer scoring on py-libp2p 0.8.1, fed by the topic validator.

Go: go-libp2p-pubsub's ``PeerScoreParams`` / ``PeerScoreThresholds``. py-libp2p 0.8.1
has a minimal :class:`~libp2p.pubsub.score.PeerScorer`: every counter decays once per
heartbeat, the P4 invalid-message counter is linear (go squares it), and of the
thresholds only two act on messages: ``publish_threshold`` drops a forwarder's messages
before validation (``Pubsub.push_msg``), ``graylist_threshold`` only refuses GRAFTs and
gossip (go ignores a graylisted peer's whole RPC). So the transport disconnects and
blacklists a forwarder itself once its score falls below :data:`GRAYLIST_THRESHOLD`
(:meth:`Libp2pTransport._penalize`).

py-libp2p's validator returns a bool: False always adds to P4 and is cached as a failure
for the message id (a copy from another forwarder is then penalized unchecked:
:class:`FailureForgettingCache` caches successes only). For ``IGNORE`` (drop without
penalty) the transport sets :attr:`Excuse.pending` before it returns False;
:class:`ExcusingScorer` consumes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Container

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
GRAYLIST_THRESHOLD = -50.0
"""Below this a forwarder's messages are dropped unvalidated, and it is disconnected
and blacklisted: > 50 rejections in a burst, or > 5 per second sustained."""


def score_params() -> ScoreParams:
    """Only P4 (invalid messages) counts; the rest stays at py-libp2p's zero weights."""
    return ScoreParams(
        p4_invalid_messages=TopicScoreParams(
            weight=INVALID_WEIGHT, cap=10 * -GRAYLIST_THRESHOLD, decay=INVALID_DECAY
        ),
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


class FailureForgettingCache(ValidationCache):
    """A validation cache that remembers only successes. py-libp2p caches a failure by
    message id and then drops and penalizes every other forwarder's copy unchecked; but
    our verdicts depend on the forwarder (its rate; an author's own excess is its fault,
    a relay's copy of it is not), so each copy is judged afresh (the decode is cached)."""

    def put(self, msg_id: bytes, result: ValidationResult) -> None:
        if result.is_valid:
            super().put(msg_id, result)


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
