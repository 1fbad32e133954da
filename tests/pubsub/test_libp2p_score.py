"""The P4 score and the IGNORE excuse on py-libp2p's scorer and validation cache."""

from __future__ import annotations

import time
from typing import cast

import trio
import trio.testing
from libp2p.abc import INetStream
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from libp2p.pubsub.pubsub import ValidationResult

from asyncmachine.pubsub._libp2p_score import (
    GRAYLIST_THRESHOLD,
    AppScore,
    Excuse,
    ExcusingScorer,
    NoValidationCache,
    score_params,
)

from .helpers import tuned_host


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


def test_verdicts_are_not_cached() -> None:
    """Another forwarder's copy of a refused message, and a replay of an accepted one,
    are judged afresh."""
    cache = NoValidationCache()
    cache.put(b"bad", ValidationResult(is_valid=False, timestamp=time.time()))
    cache.put(b"good", ValidationResult(is_valid=True, timestamp=time.time()))
    assert cache.get(b"bad") is None and cache.get(b"good") is None
    assert not cache.cache


class _SlowStream:
    """A pubsub stream whose reset waits (a real one awaits the muxer)."""

    def __init__(self) -> None:
        self.release = trio.Event()

    async def reset(self) -> None:
        await self.release.wait()


async def test_blacklisting_survives_a_disconnect_during_the_stream_reset() -> None:
    """Graylisting blacklists a forwarder (its stream is reset) and disconnects it: the
    disconnect's dead-peer cleanup may run while the reset is awaited. py-libp2p 0.8.1
    then raised KeyError into the host's nursery (seen in benchmarks/attacks.py)."""
    parts = tuned_host()
    pubsub = parts.pubsub
    peer = ID.from_pubkey(create_new_key_pair().public_key)
    stream = _SlowStream()
    pubsub.peers[peer] = cast(INetStream, stream)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(pubsub._teardown_if_connected, peer)
        await trio.testing.wait_all_tasks_blocked()
        pubsub._handle_dead_peer(peer)  # the disconnect, while the reset is awaited
        stream.release.set()
    assert peer not in pubsub.peers
