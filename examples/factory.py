"""A sample entry point: ``asyncmachine node --expose examples/factory.py:machines``.

An installed module works the same way: ``--expose mypackage.mymodule:machines``.

A factory returns a Machine or a list of Machines; it gets ``peer_id=`` when it accepts
that keyword. Handlers may fork async work: the node gives every exposed machine a
nursery.
"""

from __future__ import annotations

import trio

from asyncmachine import Event, Machine, State

SCHEMA = {
    "Start": State(),
    "Pinging": State(require=["Start"]),
    "Pong": State(multi=True),
}


class Pinger:
    """While Pinging is active, adds the multi state Pong every second."""

    def PingingState(self, e: Event) -> None:
        mach = e.machine

        async def ping() -> None:
            while True:
                await trio.sleep(1.0)
                mach.add1("Pong")

        mach.fork(ping, state="Pinging")  # cancelled when Pinging ends


def machines(peer_id: str = "") -> list[Machine]:
    """One pinger per node, named after the node's short peer id."""
    mach = Machine(SCHEMA, id=f"pinger-{peer_id[-6:] or 'local'}", handlers=Pinger())
    mach.add1("Start")
    return [mach]
