"""When to say hello again, and pulls (Go: the delayed SendInfo after Joined).

A hello is repeated with exponential backoff (``hello_retry``, ``hello_retries``)
while a topic peer the transport sees is still unknown. A gossiped view (count,
xor of ring keys) that differs from ours and is not smaller makes a *pull*: a
hello again, unless this peer caught up meanwhile. So does a view that is ours
without this peer: the gossiper knows everyone but us. That is how a live peer
judged unreachable by all the others at once (their reports of trimmed links
outran its own) gets its records back to them: nobody else holds them to answer
their pulls, and the pull carries them (the responder owes it nothing). At most once
per keepalive, though (:attr:`Hello.spacing`): every copy of a record cancels other
peers' pending answers carrying it, also those owed to a peer the copy missed.

A hello says since when its author listens (``since``, wall ms): from the first
topic peer the transport reported (gossipsub delivers every message published from
then on, through the mesh or gossip), so responders leave those records out. A pull
asks only for what was published longer ago than messages currently take to arrive
(lost, not late): at least ``hello_retry``, or twice the recent transit time of info
messages (their ``sent`` stamps) on a saturated network. Nor does a pull's ``since``
go back past this peer's last drop of a peer judged unreachable: that peer's records
went by before and were taken, and a responder would count them as received (in 100
hosts starting at once, live peers judged unreachable by all the others stayed missing
for minutes, their records never resent).

Hellos and pulls are repeated no sooner than that (:attr:`Hello.settle`), and not while
new peers are still being discovered here: the answer to the previous one may be on
its way. On a saturated network (100 peers starting at once over two cores: messages
took 48 s) a fixed 3 s made every peer repeat its pull a dozen times, each one a
broadcast that every peer decodes.
"""

from __future__ import annotations

import math
import random

from .._registry import Registry
from .._settings import TopicSettings
from .._transport import GossipTransport


class Hello:
    """Hello and pull bookkeeping of one peer."""

    def __init__(
        self, settings: TopicSettings, transport: GossipTransport, registry: Registry
    ) -> None:
        self._s = settings
        self._t = transport
        self._reg = registry
        self.sent = 0
        """Hellos sent (the first and its retries; pulls not counted)."""
        self._at = -math.inf  # when the last hello (or pull) went out
        self._pull_view: tuple[int, int] | None = None  # a bigger view seen in gossip
        self.listening = 0
        """Wall ms when the first topic peer was seen (0: none yet)."""
        self._transit = 0.0  # recent info transit time (s), a moving average
        self._dropped = 0  # wall ms of the last drop of a peer judged unreachable
        self._missed = False  # a gossiper knows everyone but us
        self._pulled_at = -math.inf  # when the last pull (it carries our records) went out
        self._unheard = False  # the last hello went out with no topic peer in sight

    def note_transit(self, seconds: float) -> None:
        """An info message took ``seconds`` from its ``sent`` stamp to arrive here (an
        unsigned claim: counted up to ``max_clock_skew``)."""
        seconds = min(max(seconds, 0.0), self._s.max_clock_skew)
        self._transit += 0.1 * (seconds - self._transit)

    @property
    def transit(self) -> float:
        """Recent transit time of info messages (s; a moving average)."""
        return self._transit

    @property
    def in_flight(self) -> float:
        """Seconds a message may still be on its way: twice the recent transit time."""
        return 2 * self._transit

    @property
    def spacing(self) -> float:
        """Seconds between pulls made because someone misses us: a keepalive, as the
        pull carries our records and every copy of them cancels others' answers
        carrying them (a peer our own messages don't reach gets them from those)."""
        return max(self.settle, self._s.keepalive)

    @property
    def settle(self) -> float:
        """Seconds after which a message not here yet is lost, not late."""
        return max(self._s.hello_retry, self.in_flight)

    def dropped(self, wall: int) -> None:
        """A peer was dropped as unreachable (wall ``wall`` ms): pulls ask again for
        records that went by before (see module docstring)."""
        self._dropped = max(self._dropped, wall)

    def peer_seen(self, wall: int) -> None:
        """The transport reports a topic peer (wall ``wall`` ms): listening from now on."""
        if not self.listening:
            self.listening = wall

    def sending(self, now: float, wall: int = 0, pull: bool = False) -> int:
        """A hello (or ``pull``) goes out now (wall ``wall`` ms); returns its ``since``:
        when this peer began listening (no topic peer in sight yet: now), for a pull
        :attr:`settle` ago or the last drop of an unreachable peer, whichever is later."""
        self._at = now
        if pull:
            self._pulled_at = now  # our records go out with it
        peers = self._t.topic_peers()
        if not pull:
            self._unheard = not peers
        if not self.listening and peers:
            self.listening = wall
        if not self.listening:
            return wall
        if pull:
            return min(wall, max(self.listening, wall - int(self.settle * 1000), self._dropped))
        return self.listening

    @property
    def unheard(self) -> bool:
        """The last hello went out with no topic peer in sight: it reached no one."""
        return self._unheard

    def done(self) -> bool:
        """Some peers are known, every topic peer the transport sees among them, and the
        last hello went out to someone."""
        peers = self._reg.peers
        return bool(peers) and not self._unheard and all(p in peers for p in self._t.topic_peers())

    def retry_due(self, now: float) -> bool:
        """Resend the hello: at once if the last one went out with no topic peer in
        sight (it reached no one: under a start's load, a host may not see its first
        topic peer within ``hello_wait``, and learning of the others from their hellos
        made it count as done while no one had its records); else when topic peers are
        unknown, the backoff (from :attr:`settle`) has passed and no new peer was
        discovered for ``hello_retry``."""
        if not (self.sent and self.sent <= self._s.hello_retries and self._t.topic_peers()):
            return False
        return self._unheard or (
            not self.done()
            and now >= self._at + self.settle * 2 ** (self.sent - 1)
            and now >= self._reg.discovery_paused_at(self._s.hello_retry)
        )

    def note_view(self, view: tuple[int, int] | None, now: float, rng: random.Random) -> float:
        """A gossiper's view; returns when to pull (``inf``: no need). The gossiper
        knows peers we don't when its view differs and is not smaller; it misses us
        when its view is ours without us."""
        mine = self._reg.view()
        if view is None or view == mine:
            return math.inf
        delay = self._s.request_delay * rng.random()
        if view[0] < mine[0]:
            if not self._reg.lacks_only_self(view):
                return math.inf
            self._missed = True  # our pull carries our records
            return max(now, self._missed_due()) + delay
        self._pull_view = view
        return max(now, self._at + self.settle) + delay

    def _missed_due(self) -> float:
        """When a pull for someone who misses us may go out."""
        return max(self._at + self.settle, self._pulled_at + self.spacing)

    def pull_due(self, now: float) -> bool:
        """Pull now? Not while discovery is still under way here (records, ours too,
        are still arriving); then when someone misses us (at most once per
        :attr:`spacing`), or knows peers we don't and we haven't caught up with its
        count meanwhile."""
        if now < self._reg.discovery_paused_at(self._s.hello_retry):
            return False
        if self._missed and now >= self._missed_due():
            return True
        want = self._pull_view
        view = self._reg.view()
        return want is not None and want != view and want[0] >= view[0]

    def pull_done(self) -> None:
        """The pull work ran: views gossiped until now are handled."""
        self._pull_view = None
        self._missed = False
