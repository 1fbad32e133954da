"""Constants shared by every test folder (fixtures live in ``tests/conftest.py``)."""

TIMEOUT = 30.0
"""Upper bound of every real-clock wait: generous, as CI machines are loaded (tests wait
on events, so a passing run never waits this long). Virtual-time (MockClock) tests
may use tighter bounds: their clock only moves when every task is idle."""
