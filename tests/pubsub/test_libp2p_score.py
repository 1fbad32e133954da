"""The P4 score and the IGNORE excuse on py-libp2p's scorer and validation cache."""

from __future__ import annotations

import time

from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from libp2p.pubsub.pubsub import ValidationResult

from asyncmachine.pubsub._libp2p_score import (
    GRAYLIST_THRESHOLD,
    AppScore,
    Excuse,
    ExcusingScorer,
    FailureForgettingCache,
    score_params,
)


def test_rejections_graylist_and_an_excuse_costs_nothing() -> None:
    excuse = Excuse()
    scorer = ExcusingScorer(score_params(AppScore()), excuse)
    peer = ID.from_pubkey(create_new_key_pair().public_key)
    excuse.pending = True  # an IGNORE: not counted
    scorer.on_invalid_message(peer, "t")
    assert scorer.score(peer, ["t"]) == 0.0 and not excuse.pending
    for _ in range(int(-GRAYLIST_THRESHOLD) + 1):
        scorer.on_invalid_message(peer, "t")
    assert scorer.is_graylisted(peer, ["t"]) and not scorer.allow_publish(peer, ["t"])
    for _ in range(20):  # decays per heartbeat: forgiven within ~20 heartbeats
        scorer.on_heartbeat()
    assert not scorer.is_graylisted(peer, ["t"])


def test_failures_are_not_cached() -> None:
    """Another forwarder's copy of a refused message is judged afresh."""
    cache = FailureForgettingCache()
    ok = ValidationResult(is_valid=True, timestamp=time.time())
    cache.put(b"bad", ValidationResult(is_valid=False, timestamp=time.time()))
    cache.put(b"good", ok)
    assert cache.get(b"bad") is None and cache.get(b"good") is ok
