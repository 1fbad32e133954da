"""A live debugger of a pubsub topic (Go: am-dbg): ``asyncmachine dbg``.

It joins a topic as an observer (exposing no machines) and shows the peers, their machines,
the selected machine's states with ticks and relations, and a log of clock changes diffed
into activated / deactivated states, filterable by machine. See docs/dbg.md.

- :class:`DbgModel`: what is known (peers, machines, a bounded log), plain data.
- :func:`follow`: keep a model in step with a :class:`~asyncmachine.pubsub.Topic`.
- :class:`DbgApp`: the Textual UI over a model, redrawn at most ``fps`` times a second.
- :class:`TrioGuest`: Trio as a guest of the UI's asyncio loop (why: see its module).
- :func:`run_session`: join a topic, then run the UI; what the CLI calls.
"""

from ._app import DbgApp, machine_title, peer_label, state_rows
from ._follow import follow, machine_view
from ._guest import TrioGuest
from ._model import (
    DbgModel,
    LogEntry,
    LogKind,
    MachineKey,
    MachineView,
    PeerView,
    diff_clocks,
    short_peer,
)
from ._session import SessionError, TopicSource, run_session

__all__ = [
    "DbgApp",
    "DbgModel",
    "LogEntry",
    "LogKind",
    "MachineKey",
    "MachineView",
    "PeerView",
    "SessionError",
    "TopicSource",
    "TrioGuest",
    "diff_clocks",
    "follow",
    "machine_title",
    "machine_view",
    "peer_label",
    "run_session",
    "short_peer",
    "state_rows",
]
