"""``asyncmachine sim`` as people use it: Ctrl-C, memory, outputs (real CLI processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asyncmachine.cli import main
from asyncmachine.simulator import SimConfig, estimate_memory, host_memory, validate


def _start(*args: str) -> subprocess.Popen[str]:
    # a session of its own: Ctrl-C in a terminal signals the whole process group
    return subprocess.Popen(
        [sys.executable, "-m", "asyncmachine", "sim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for_line(proc: subprocess.Popen[str], line: str) -> list[str]:
    """stderr lines up to and including ``line`` (the phase lines of a non-TTY stderr)."""
    assert proc.stderr is not None
    seen = []
    for got in proc.stderr:
        seen.append(got)
        if got.strip() == line:
            return seen
    raise AssertionError(f"no {line!r} before exit: {''.join(seen)}")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _interrupt_and_check(proc: subprocess.Popen[str], js: Path) -> dict[str, object]:
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert "PARTIAL" in out
    doc: dict[str, object] = json.loads(js.read_text())
    assert doc["partial"] is True
    assert validate(doc) == []
    return doc


def test_ctrl_c_writes_a_partial_model_report(tmp_path: Path) -> None:
    js, cs = tmp_path / "r.json", tmp_path / "r.csv"
    proc = _start("--peers", "40", "--duration", "100000", "--json", str(js), "--csv", str(cs))
    try:
        _wait_for_line(proc, "asyncmachine sim: mutating")
        doc = _interrupt_and_check(proc, js)
    finally:
        proc.kill()
    assert doc["duration_s"] < 100000  # type: ignore[operator]
    assert cs.read_text().startswith("t,alive,")


@pytest.mark.slow
def test_ctrl_c_stops_libp2p_shards_and_writes_a_partial_report(tmp_path: Path) -> None:
    js = tmp_path / "r.json"
    proc = _start(
        "--backend", "libp2p", "--peers", "4", "--procs", "2", "--duration", "600",
        "--json", str(js),
    )  # fmt: skip
    try:
        _wait_for_line(proc, "asyncmachine sim: mutating")
        shards = _children(proc.pid)
        assert len(shards) == 2
        doc = _interrupt_and_check(proc, js)
    finally:
        proc.kill()
    assert doc["workload_start_s"] == 0.0  # from the first mutation: with the Topics
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in shards) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in shards)


def test_ctrl_c_during_set_up_exits_130() -> None:
    """Ctrl-C before anything was measured: no report, one line, exit 130."""
    proc = _start("--backend", "libp2p", "--peers", "4", "--procs", "2", "--quiet")
    try:
        # the shards are up once the parent has two children
        deadline = time.monotonic() + 60
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        shards = _children(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err == "asyncmachine sim: interrupted\n"
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in shards) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in shards)


@pytest.mark.parametrize("peers", ["30000", "100000"])
def test_refuses_a_run_that_does_not_fit_in_memory(
    peers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if host_memory() is None:
        pytest.skip("no /proc/meminfo: the run would not be refused")
    rc = main(["sim", "--peers", peers, "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.splitlines()) == 1
    assert "needs about" in err and "GB available of" in err and "--force" in err


def test_force_runs_anyway_and_fails_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--force`` skips the estimate; running out of memory then is one line (it was a
    MemoryError traceback). The allocation is faked: where memory is overcommitted a real
    one would be granted and the machine would swap."""
    import asyncmachine.simulator

    def oom(*args: object) -> None:
        raise MemoryError

    monkeypatch.setattr(asyncmachine.simulator, "run", oom)
    rc = main(["sim", "--peers", "100000", "--quiet", "--force"])
    assert rc == 1
    assert capsys.readouterr().err == "asyncmachine sim: failed: out of memory\n"


def test_memory_estimate_matches_measured_runs() -> None:
    """Peak RSS measured on the model (docs/simulator.md): 81 MB at 100 x 3, 434 MB at
    400 x 3, 2.50 GB at 1,000 x 3; the estimate is within 15 %."""
    for peers, measured_mib in ((100, 81.1), (400, 433.8), (1000, 2498.0)):
        est = estimate_memory(SimConfig(peers=peers, machines=3)) / 2**20
        assert abs(est - measured_mib) / measured_mib < 0.15, (peers, est)


def test_host_memory_reads_meminfo(tmp_path: Path) -> None:
    p = tmp_path / "meminfo"
    p.write_text("MemTotal:       24683652 kB\nMemFree: 1 kB\nMemAvailable:   23509592 kB\n")
    host = host_memory(p)
    assert host is not None
    assert (host.available, host.total) == (23509592 * 1024, 24683652 * 1024)
    assert host_memory(tmp_path / "missing") is None
