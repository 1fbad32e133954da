"""``--log-level debug`` shows asyncmachine's debug lines, not every library's."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

# "2026-01-01 10:00:00,000 DEBUG multiaddr.transforms: ..."
_LINE = re.compile(r"^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+): ")


def _node_log(*global_flags: str) -> list[tuple[str, str]]:
    """(level, logger) of every log line of a node that started and was stopped."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "asyncmachine", *global_flags, "node", "--status-interval", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # "peer ... listening on ...": started
        assert first, proc.communicate(timeout=30)[1]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return [(m[1], m[2]) for line in err.splitlines() if (m := _LINE.match(line))]


def _third_party_debug(lines: list[tuple[str, str]]) -> list[str]:
    return [name for level, name in lines if level == "DEBUG" and not name.startswith("asyncm")]


@pytest.mark.slow
def test_debug_keeps_other_libraries_at_warning() -> None:
    lines = _node_log("--log-level", "debug")
    assert any(level == "DEBUG" for level, _ in lines)  # asyncmachine's own
    assert _third_party_debug(lines) == []


@pytest.mark.slow
def test_log_all_and_per_logger_levels_let_them_through() -> None:
    everything = _third_party_debug(_node_log("--log-level", "debug", "--log-all"))
    assert any(name.startswith("multiaddr") for name in everything)
    one = _third_party_debug(_node_log("--log", "multiaddr.transforms=debug"))
    assert one and set(one) == {"multiaddr.transforms"}
