"""The topic validator on py-libp2p: the engine's verdicts, the score they feed, graylisting.

Go: ``Topic.RegisterTopicValidator`` plus go-libp2p-pubsub's score gates. The engine
judges every message of the topic (:meth:`Engine.validate`) before py-libp2p marks it
seen, delivers it or relays it; :class:`TopicValidation` turns the verdict into
py-libp2p's bool, keeps the invalid-message penalty (P4) for REJECT only, and
graylists a forwarder whose score — P4 plus the application score (the engine's
penalties for over-budget records, :meth:`Engine.app_score`) — falls below
:data:`~._libp2p_score.GRAYLIST_THRESHOLD`: it is blacklisted, disconnected and
refused for ``backoff`` seconds (py-libp2p's own thresholds don't disconnect; see
:mod:`._libp2p_score`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

import trio
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2

from ._engine import AppScoreFn, ValidatorFn, Verdict
from ._libp2p_host import HostParts
from ._libp2p_score import GRAYLIST_THRESHOLD, INVALID_WEIGHT, Refuser

logger = logging.getLogger(__name__)

Spawn = Callable[[Callable[[], Awaitable[None]]], bool]
"""Start a background task in the transport's nursery (False: not running)."""


class TopicValidation:
    """One topic's validator hook on a built host (see module docstring).

    ``author_of(from_id)``: a message's author as a base58 peer id (the transport's
    cache); ``disconnect(peer_id)``: close every connection to a peer.
    """

    def __init__(
        self,
        parts: HostParts,
        topic: str,
        *,
        backoff: float,
        author_of: Callable[[bytes], str],
        disconnect: Callable[[str], Awaitable[None]],
        spawn: Spawn,
    ) -> None:
        self._pubsub = parts.pubsub
        self._scorer = parts.router.scorer
        self._excuse = parts.excuse
        self._app = parts.app_score
        self._topic = topic
        self._backoff = backoff
        self._author_of = author_of
        self._disconnect = disconnect
        self._spawn = spawn
        self._validator: ValidatorFn | None = None
        self._graylisted: set[ID] = set()
        self.closed = False
        """Set when the transport shuts down: every message passes from then on."""
        self.rejected = 0
        """Messages refused with the invalid-message penalty (REJECT)."""
        self.ignored = 0
        """Messages refused without it (IGNORE)."""
        self.graylisted = 0
        """Forwarders disconnected and blacklisted for a low score."""
        parts.host.get_network().register_notifee(Refuser(self._graylisted))

    @property
    def validator(self) -> ValidatorFn | None:
        return self._validator

    def set_validator(self, validator: ValidatorFn | None) -> None:
        """Install (None: remove) the synchronous gossipsub topic validator."""
        self._validator = validator
        if validator is None:
            self._pubsub.remove_topic_validator(self._topic)
        else:
            self._pubsub.set_topic_validator(self._topic, self._validate, is_async_validator=False)

    def set_app_score(self, app_score: AppScoreFn | None) -> None:
        """Feed the gossipsub score's application term (None: zero)."""
        self._app.fn = app_score

    def _validate(self, forwarder: ID, msg: rpc_pb2.Message) -> bool:
        """py-libp2p's side: runs in ``Pubsub.push_msg`` after the libp2p signature
        check and before the message is marked seen, delivered and forwarded."""
        validator = self._validator
        if validator is None or self.closed:
            return True
        verdict = validator(self._author_of(msg.from_id), forwarder.to_base58(), msg.data)
        if verdict is Verdict.ACCEPT:
            return True
        if verdict is Verdict.IGNORE:
            self.ignored += 1
            self._excuse.pending = True
            penalty = 0.0
        else:
            self.rejected += 1
            penalty = INVALID_WEIGHT  # P4 grows by this right after we return
        if self._scorer is not None and forwarder not in self._graylisted:
            score = self._scorer.score(forwarder, [self._topic]) - penalty
            if score < GRAYLIST_THRESHOLD and self._spawn(
                functools.partial(self._penalize, forwarder)
            ):
                self._graylisted.add(forwarder)
        return False

    async def _penalize(self, peer: ID) -> None:
        """Graylist ``peer``: blacklist it (its messages and reconnections are refused),
        disconnect it, and let it back after ``backoff`` seconds."""
        self.graylisted += 1
        logger.warning("graylisted %s: its score fell below %g", peer, GRAYLIST_THRESHOLD)
        self._pubsub.add_to_blacklist(peer)
        try:
            await self._disconnect(peer.to_base58())
            await trio.sleep(self._backoff)
        finally:
            self._pubsub.remove_from_blacklist(peer)
            self._graylisted.discard(peer)
