"""The namespace harness itself: isolation, partitions, teardown, stale clean-up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.netns.netns_helpers import PREFIX, clean_stale, list_netns, virtual_net

pytestmark = pytest.mark.usefixtures("netns_ok")

# a TCP connect from one namespace to another: exit 0 on success, 1 on failure/timeout
CONNECT = "import socket,sys; socket.create_connection((sys.argv[1], 9), timeout=2)"
SERVE = (
    "import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1);"
    "s.bind(('{ip}', 9)); s.listen(8); print('up', flush=True)\n"
    "while True: s.accept()[0].close()"
)


def can_connect(net_cmd: list[str]) -> bool:
    return subprocess.run(net_cmd, capture_output=True, check=False).returncode == 0


def test_two_halves_partition_and_join() -> None:
    with virtual_net(2) as net:
        assert net.half(1) != net.half(2)
        server = subprocess.Popen(
            net.command(2, sys.executable, "-c", SERVE.format(ip=net.ip(2))),
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None and server.stdout.readline() == "up\n"
            dial = net.command(1, sys.executable, "-c", CONNECT, net.ip(2))
            assert can_connect(dial)
            net.partition()
            assert not can_connect(dial)
            net.join()
            assert can_connect(dial)
            net.cut(1)
            assert not can_connect(dial)
            net.restore(1)
            assert can_connect(dial)
        finally:
            server.kill()
            server.wait()


def test_teardown_on_failure_kills_and_deletes() -> None:
    names: list[str] = []
    with pytest.raises(RuntimeError, match="boom"), virtual_net(2) as net:
        names = list(net.created)
        subprocess.Popen(net.command(1, "sleep", "600"))
        raise RuntimeError("boom")
    assert names and not set(names) & set(list_netns())


def test_clean_stale_removes_only_dead_runs() -> None:
    dead = next(p for p in range(4_000_000, 4_100_000) if not os.path.exists(f"/proc/{p}"))
    stale = f"{PREFIX}{dead}xdead01-n1"
    live = f"{PREFIX}{os.getpid()}xlive01-n1"
    for name in (stale, live):
        subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        assert clean_stale() == [stale]
        assert live in list_netns() and stale not in list_netns()
    finally:
        for name in (stale, live):
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
