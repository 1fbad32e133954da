"""Failure scenarios of the model backend: the bootstrap peer dies, the network splits.

- ``--kill-bootstrap [AT]``: peer 0 — the peer everyone bootstrapped from on the
  ``managed`` topology — dies abruptly (like ``kill -9``: its connections drop, no bye)
  at ``AT`` virtual seconds (default: the middle of the mutation phase, when the
  connection managers have long built their graph). Mutations go on; the survivors
  must keep (or regain) one component and every mirror must catch up.
- ``--partition SECONDS`` (from ``--partition-at``, default a quarter of the mutation
  phase): the live peers are split into two random halves; connections across close and
  dials across time out; after ``SECONDS`` the halves can reach each other again, and
  the connection managers must find the way back (on a static topology the cut links
  come back by themselves).

Event times get 0.3 µs added so that no other task's deadline ties with them (Trio
breaks deadline ties in an order that is not reproducible).
"""

from __future__ import annotations

from typing import Protocol

import trio

from ._config import SimConfig
from ._model_net import ModelNetwork
from ._network_watch import NetEvent, NetworkWatch
from ._workload import stream

_NO_TIE = 3e-7


class Population(Protocol):
    """What a scenario needs from the model runner."""

    net: ModelNetwork
    alive: list[int]
    managed: bool

    def kill(self, idx: int) -> None:
        """Peer ``idx`` dies abruptly now."""
        ...


async def kill_bootstrap(pop: Population, watch: NetworkWatch, at: float) -> None:
    """Kill peer 0 at ``at`` (Trio time) if it is still alive."""
    await trio.sleep_until(at + _NO_TIE)
    if 0 not in pop.alive:
        return
    now = trio.current_time()
    watch.event(NetEvent.KILL, now, 1)
    pop.kill(0)
    watch.heal_from(NetEvent.KILL, now)


async def partition(
    pop: Population, watch: NetworkWatch, cfg: SimConfig, start: float, seconds: float
) -> None:
    """Split the live peers into two random halves at ``start`` (Trio time) for
    ``seconds``; then join them again."""
    await trio.sleep_until(start + _NO_TIE)
    net = pop.net
    order = sorted(pop.alive)
    stream(cfg.seed, "partition").shuffle(order)
    sides = bytearray(net.capacity)
    for idx in order[: len(order) // 2]:
        sides[idx] = 1
    now = trio.current_time()
    watch.event(NetEvent.SPLIT, now, len(order))
    cut = net.split(sides)
    await trio.sleep_until(start + seconds + _NO_TIE)
    now = trio.current_time()
    watch.event(NetEvent.JOIN, now, len(pop.alive))
    net.rejoin()
    if not pop.managed:  # fixed links: the cables are plugged back in
        for p, q in cut:
            net.link(p, q)
    watch.heal_from(NetEvent.JOIN, now)
