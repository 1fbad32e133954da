"""The ``asyncmachine`` entry points, run as real processes."""

from __future__ import annotations

import subprocess
import sys


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asyncmachine", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_reaches_ready() -> None:
    r = _run("demo", "--delay", "0.01")
    assert r.returncode == 0, r.stderr
    assert "Add1(Processing) before Start: canceled" in r.stdout
    assert "Ready:" in r.stdout
    assert "Traceback" not in r.stderr


def test_help_lists_every_command() -> None:
    r = _run("--help")
    assert r.returncode == 0
    for cmd in ("node", "sim", "bench", "graph", "demo"):
        assert cmd in r.stdout


def test_no_command_prints_help_and_fails() -> None:
    r = _run()
    assert r.returncode == 2
    assert "usage: asyncmachine" in r.stdout


def test_bad_flag_is_one_line_error() -> None:
    r = _run("demo", "--delay", "soon")
    assert r.returncode == 2
    assert "invalid float value: 'soon'" in r.stderr
    assert "Traceback" not in r.stderr


def test_slow_delays_reach_ready() -> None:
    """``demo --delay 5`` timed out after 10 s (two steps of 5 s): the wait scales."""
    import io

    import trio
    import trio.testing
    from rich.console import Console

    from asyncmachine.cli._demo import MAX_DELAY, run_demo

    clock = trio.testing.MockClock(autojump_threshold=0)
    console = Console(file=io.StringIO())
    clock_sums = trio.run(run_demo, MAX_DELAY, console, clock=clock)
    assert clock_sums["Ready"] == 1
