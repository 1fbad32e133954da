"""The pubsub protocol engine of one Topic (Go: the handlers of pkg/pubsub topic.go).

Parts, each a small object with a narrow interface:

- :class:`Scheduler` (``_scheduler``): outgoing work as state (:class:`Work`), run when
  due within the outgoing rate limits (a :data:`RunTracer` sees every run);
- :class:`WorkRunner` (``_work``): builds and publishes the message of each due work;
- :class:`Sender` (``_sender``): publishing, and the work states around it;
- :class:`Outgoing` (``_outgoing``): message builders (hello, answers, requests, gossip);
- :class:`Intake` (``_intake``): freshness, signature, body decode, apply;
- :class:`Answers` (``_answers``): answers owed to hellos and requests, and suppression;
- :class:`Requests` (``_requests``): which missing peers to request, and when;
- :class:`Hello` (``_hello``): hello retries and pulls;
- :class:`Liveness` (``_liveness``): keepalive, peer timeout, links-record pacing;
- :class:`PeerWatch` (``_peers``): connections made and lost, reachability, rejoins;
- :class:`Gate` (``_validate``): the verdict on a message before the transport relays
  it (:class:`Verdict`, for a :class:`Validating` transport), its records screened by
  ``_screen``, over-budget ones penalized in ``_penalties`` (the application score);
- :class:`Engine` (``_core``): wires them to the Topic machine and dispatches messages.
"""

from ._answers import Answers
from ._core import Engine
from ._hello import Hello
from ._intake import Intake
from ._liveness import Liveness
from ._outgoing import Outgoing
from ._peers import PeerWatch
from ._requests import Requests
from ._scheduler import RunTracer, Scheduler, Work
from ._sender import Sender
from ._validate import AppScoreFn, Gate, Validating, ValidatorFn, Verdict
from ._work import WorkRunner

__all__ = [
    "Answers",
    "AppScoreFn",
    "Engine",
    "Gate",
    "Hello",
    "Intake",
    "Liveness",
    "Outgoing",
    "PeerWatch",
    "Requests",
    "RunTracer",
    "Scheduler",
    "Sender",
    "Validating",
    "ValidatorFn",
    "Verdict",
    "Work",
    "WorkRunner",
]
