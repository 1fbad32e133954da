"""Constants and small helpers shared by every test folder (fixtures live in
``tests/conftest.py``)."""

import socket

TIMEOUT = 30.0
"""Upper bound of every real-clock wait: generous, as CI machines are loaded (tests wait
on events, so a passing run never waits this long). Virtual-time (MockClock) tests
may use tighter bounds: their clock only moves when every task is idle."""

GHOST_ID = "12D3KooWQN3MxfnYadkVntb37WFXbnjy68zYNmSAEn7bn3J5YUjs"
"""A valid libp2p peer id that no test runs."""


def ghost_addr() -> str:
    """A bootstrap address nobody answers: a closed port on 127.0.0.1 and :data:`GHOST_ID`
    (dialling it fails at once with connection refused)."""
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return f"/ip4/127.0.0.1/tcp/{port}/p2p/{GHOST_ID}"
