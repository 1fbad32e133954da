"""What the simulated peers do: expose machines, mutate them at a rate, churn.

Shared by both backends. All randomness comes from ``random.Random``
instances seeded from the scenario seed (one stream per concern, so e.g.
turning churn on does not change the topology).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..machine import Machine, State
from ..pubsub import EventKind, TopicEvent

TOPIC = "amsim"

SIM_SCHEMA: dict[str, State] = {
    "Foo": State(require=["Bar"]),
    "Bar": State(),
    "Baz": State(multi=True),
}
"""Every simulated machine has this schema (so mirrors share one compiled schema)."""


def stream(seed: int, name: str) -> random.Random:
    """An independent seeded RNG stream for one concern."""
    return random.Random(f"amsim:{seed}:{name}")


def peer_id_for(idx: int) -> str:
    """Deterministic peer id of the model backend."""
    return f"sim-{idx:05d}"


def make_machines(idx: int, count: int) -> list[Machine]:
    """The machines peer ``idx`` exposes."""
    return [Machine(SIM_SCHEMA, id=f"p{idx}-m{i}") for i in range(count)]


def mutate(mach: Machine, rng: random.Random) -> int:
    """Apply one random clock-changing mutation; return the new clock sum."""
    r = rng.random()
    if r < 0.5:
        mach.add1("Baz")
    elif mach.is1("Bar"):
        mach.remove1("Bar")
    else:
        mach.add(["Bar", "Foo"])
    return sum(mach.clock().values())


EventSink = Callable[[int, int, int, float, int], None]


def make_observer(
    receiver: int,
    index_of: Callable[[str], int | None],
    on_discovered: Callable[[int, int, int, float], None],
    on_removed: Callable[[int, int, int], None],
    on_clock: EventSink,
    to_time: Callable[[float], float] = float,
) -> Callable[[TopicEvent], None]:
    """A Topic observer translating events into recorder calls (peer ids -> indices)."""

    def observe(ev: TopicEvent) -> None:
        kind = ev.kind
        if kind is EventKind.CLOCK_UPDATED:
            owner = index_of(ev.peer_id)
            if owner is not None and ev.time is not None:
                on_clock(receiver, owner, ev.index, to_time(ev.at), sum(ev.time))
        elif kind is EventKind.MACHINE_DISCOVERED:
            owner = index_of(ev.peer_id)
            if owner is not None:
                on_discovered(receiver, owner, ev.index, to_time(ev.at))
        elif kind is EventKind.MACHINE_REMOVED:
            owner = index_of(ev.peer_id)
            if owner is not None:
                on_removed(receiver, owner, ev.index)

    return observe
