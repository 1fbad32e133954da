"""Live status of a running node: a rich Live table on a terminal, plain lines otherwise.

Plain mode (stdout is not a TTY, or the console is on) prints one line per event,
as it happens, and a summary every ``interval`` seconds::

    peer+ 12D3KooW...
    machine+ worker @a1b2c3
    change worker @a1b2c3 +Foo -Baz [Bar Foo]
    machine- worker @a1b2c3 (bye)
    peer- 12D3KooW... (bye)
    status peers=2 connected=2 mesh=2 local=1 remote=2 changes=7 up=31s

``peers`` are the peers known in the topic, ``connected`` those with an open connection,
``mesh`` this node's gossipsub mesh peers; ``dial-failures=N`` follows ``mesh`` when the
transport counts failed dials (its connection manager's ``connection_counters``).
"""

from __future__ import annotations

from collections.abc import Callable

import trio
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ._config import short_id
from ._events import NodeEvent, NodeEventKind
from ._node import Node

Write = Callable[[str], None]


def event_line(ev: NodeEvent) -> str:
    """One plain line for an event (see the module docstring)."""
    k = ev.kind
    if k is NodeEventKind.PEER_JOINED:
        return f"peer+ {ev.peer_id}"
    if k is NodeEventKind.PEER_LEFT:
        return f"peer- {ev.peer_id} ({ev.reason or 'left'})"
    if k is NodeEventKind.MACHINE_ADDED:
        return f"machine+ {ev.machine_id} @{short_id(ev.peer_id)}"
    if k is NodeEventKind.MACHINE_REMOVED:
        return f"machine- {ev.machine_id} @{short_id(ev.peer_id)} ({ev.reason or 'removed'})"
    ch = ev.change
    if ch is None:  # pragma: no cover - STATE_CHANGED always carries a change
        return f"change {ev.machine_id} @{short_id(ev.peer_id)}"
    where = "self" if ch.local else short_id(ch.peer_id)
    return f"change {ch.machine_id} @{where} {ch.summary()} [{' '.join(ch.active)}]"


def mesh_peers(node: Node) -> set[str]:
    """The node's gossipsub mesh peers (empty when stopped)."""
    t = node.topic.transport if node.running else None
    return t.mesh_peers() if t is not None else set()


def dial_failures(node: Node) -> int | None:
    """Failed dials so far, when the transport counts them (``connection_counters.dial_failures``),
    else None."""
    t = node.topic.transport if node.running else None
    value = getattr(getattr(t, "connection_counters", None), "dial_failures", None)
    return value if isinstance(value, int) else None


def summary_line(node: Node) -> str:
    """``status peers=.. connected=.. mesh=.. [dial-failures=..] local=.. remote=..
    changes=.. up=..s``."""
    up = trio.current_time() - node.started_at if node.running else 0.0
    fails = dial_failures(node)
    dials = "" if fails is None else f"dial-failures={fails} "
    return (
        f"status peers={len(node.peers())} connected={len(node.connected_peers())} "
        f"mesh={len(mesh_peers(node))} {dials}"
        f"local={len(node.machines())} remote={len(node.remote_machines())} "
        f"changes={len(node.recent_changes)} up={up:.0f}s"
    )


class PlainStatus:
    """Event lines as they happen plus a periodic summary line (0: no summary)."""

    def __init__(self, node: Node, write: Write, interval: float) -> None:
        self.node = node
        self.write = write
        self.interval = interval
        self._attached = False

    def _on_event(self, ev: NodeEvent) -> None:
        self.write(event_line(ev))

    def attach(self) -> None:
        """Start printing events now (before :meth:`run` is scheduled, to miss none)."""
        if not self._attached:
            self.node.add_observer(self._on_event)
            self._attached = True

    async def run(self) -> None:
        """Print until cancelled."""
        self.attach()
        try:
            if self.interval <= 0:
                await trio.sleep_forever()
            while True:
                await trio.sleep(self.interval)
                self.write(summary_line(self.node))
        finally:
            self.node.remove_observer(self._on_event)
            self._attached = False


class LiveStatus:
    """A rich Live view: identity, peers, machines (local and remote), recent changes."""

    def __init__(
        self, node: Node, console: Console, refresh: float = 0.5, max_changes: int = 10
    ) -> None:
        self.node = node
        self.console = console
        self.refresh = refresh
        self.max_changes = max_changes

    def render(self) -> Group:
        node = self.node
        head = Text.assemble(
            ("peer ", "bold"),
            node.peer_id,
            "  topic ",
            (node.topic_name, "bold"),
            "\n",
            *(Text(f"  {a}\n", style="dim") for a in node.addrs()),
            summary_line(node),
        )
        peers = Table(title="peers", expand=True)
        peers.add_column("peer id")
        peers.add_column("connected")
        peers.add_column("mesh")
        peers.add_column("machines", justify="right")
        connected = node.connected_peers()
        mesh = mesh_peers(node)
        owners = node.remote_owners()
        for pid in sorted(node.peers()):
            count = sum(1 for p, _ in owners if p == pid)
            peers.add_row(
                pid,
                "yes" if pid in connected else "no",
                "yes" if pid in mesh else "no",
                str(count),
            )
        machs = Table(title="machines", expand=True)
        for col in ("id", "peer", "active states (ticks)"):
            machs.add_column(col)
        for m in node.machines():
            machs.add_row(m.id, "self", m.string())
        for pid, mirror in owners:
            machs.add_row(mirror.id, short_id(pid) + " (read-only)", mirror.string())
        changes = Table(title="recent state changes", expand=True)
        changes.add_column("time", justify="right")
        changes.add_column("machine")
        changes.add_column("change")
        for ch in list(node.recent_changes)[-self.max_changes :]:
            where = "self" if ch.local else short_id(ch.peer_id)
            changes.add_row(
                f"{ch.at - node.started_at:.1f}s", f"{ch.machine_id} @{where}", ch.summary()
            )
        return Group(head, peers, machs, changes)

    async def run(self) -> None:
        """Redraw every ``refresh`` seconds until cancelled (no refresh thread)."""
        with Live(self.render(), console=self.console, auto_refresh=False, transient=False) as live:
            while True:
                await trio.sleep(self.refresh)
                live.update(self.render(), refresh=True)


__all__ = [
    "LiveStatus",
    "PlainStatus",
    "Write",
    "dial_failures",
    "event_line",
    "mesh_peers",
    "summary_line",
]
