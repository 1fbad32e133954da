"""Wall-clock milliseconds for record stamps, anchored to Trio's clock.

Records carry their owner's wall clock (ms since the Unix epoch) so that every peer can
tell how old a record is, however late it was relayed. Within one ``trio.run`` the wall
clock is read once and then advanced with Trio's clock: under
``trio.testing.MockClock`` stamps and ages follow virtual time (tests of hour-long
expiries run in milliseconds), in a real run they follow real time. Outside Trio it is
``time.time()``.
"""

from __future__ import annotations

import math
import time

import trio
from trio.lowlevel import RunVar

_ANCHOR: RunVar[int] = RunVar("asyncmachine_pubsub_wall_anchor")
"""``time.time() - trio.current_time()`` at the first use in a run, in whole ms: stamps
then differ exactly by Trio's clock (virtual time gives the same comparisons every run)."""


def wall_ms(now: float | None = None) -> int:
    """The wall clock in ms at Trio time ``now`` (default: the current time)."""
    try:
        current = trio.current_time() if now is None else now
        try:
            anchor = _ANCHOR.get()
        except LookupError:
            anchor = round((time.time() - trio.current_time()) * 1000)
            _ANCHOR.set(anchor)
    except RuntimeError:  # outside of Trio
        return int(time.time() * 1000)
    return anchor + math.floor(current * 1000)
