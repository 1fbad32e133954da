"""The demo machine a node exposes by default, and a driver that changes it now and then.

The driver flips the demo machine between ``Working`` and ``Idle`` every
``interval`` seconds and bumps the multi state ``Tick``, so peers see clock
updates without anyone typing into a console.
"""

from __future__ import annotations

import random

import trio

from asyncmachine.machine import BASIC_SCHEMA, Machine, Schema, State, merge_schemas

from ._config import short_id

DEMO_SCHEMA: Schema = merge_schemas(
    BASIC_SCHEMA,
    {
        "Idle": State(require=["Start"], remove=["Working"]),
        "Working": State(require=["Start"], remove=["Idle"]),
        "Tick": State(multi=True),
        "Foo": State(require=["Bar"]),
        "Bar": State(),
    },
)
"""Start/Ready (from BASIC_SCHEMA), Idle vs Working, a multi Tick, and Foo requiring Bar."""


def demo_machine(peer_id: str = "") -> Machine:
    """A demo machine with id ``demo-<short peer id>``, already in Start, Ready and Idle."""
    mach = Machine(
        DEMO_SCHEMA, id=f"demo-{short_id(peer_id) if peer_id else 'local'}", tags=["demo"]
    )
    mach.add(["Start", "Ready", "Idle"])
    return mach


async def drive_demo(mach: Machine, interval: float, *, seed: int | None = None) -> None:
    """Alternate Working/Idle and add Tick every ~``interval`` s (jittered) until cancelled."""
    if interval <= 0:
        return
    rng = random.Random(seed)
    while not mach.is_disposed():
        await trio.sleep(interval * rng.uniform(0.8, 1.2))
        if mach.is_disposed():
            return
        mach.add(["Idle" if mach.is1("Working") else "Working", "Tick"])


__all__ = ["DEMO_SCHEMA", "demo_machine", "drive_demo"]
