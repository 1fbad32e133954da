"""What a node keeps between runs: saved peers (bounded, atomic, corrupt files ignored),
a session epoch that survives a clock going backwards, and the status counters."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from asyncmachine import Machine, State
from asyncmachine.node import ConfigError, Node, NodeConfig
from asyncmachine.node._peers import MAX_ADDRS, MAX_PEERS, PeerBook, clean_addrs
from asyncmachine.node._persist import EpochFile, next_epoch
from asyncmachine.node._state import NodeState
from asyncmachine.node._status import dial_failures, summary_line
from asyncmachine.pubsub import MemoryNetwork, TopicSettings
from tests.pubsub.helpers import until_event

OWN = "12D3KooWOwn"
FAST = TopicSettings(
    heartbeat=1.0, hello_delay=0.01, hello_wait=0.2, hello_retry=1.0, request_delay=0.05
)


class FakeClock:
    """Wall-clock microseconds that a test sets (and turns back)."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


# --- session epoch ---------------------------------------------------------------------


def test_next_epoch_never_goes_back() -> None:
    assert next_epoch(None, 500) == 500
    assert next_epoch(1000, 500) == 1001  # the clock went back: still newer
    assert next_epoch(1000, 2000) == 2000


def test_epoch_file_survives_a_backwards_clock(tmp_path: Path) -> None:
    clock = FakeClock(1_000_000)
    path = tmp_path / "x.epoch"
    assert EpochFile(path, clock).claim() == 1_000_000
    clock.now = 400_000  # NTP step / RTC reset between runs
    assert EpochFile(path, clock).claim() == 1_000_001  # a new process reads the file
    clock.now = 5_000_000
    assert EpochFile(path, clock).claim() == 5_000_000
    assert path.read_text() == "5000000\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("content", [b"garbage{", b'"text"', b"-5", b"true", b"\xff\xfe"])
def test_corrupt_epoch_file_is_one_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "x.epoch"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert EpochFile(path, FakeClock(77)).claim() == 77
    assert len(caplog.records) == 1 and "epoch" in caplog.records[0].getMessage()
    assert path.read_text() == "77\n"  # replaced by a good one


def test_node_state_settings_carry_the_epoch(tmp_path: Path) -> None:
    clock = FakeClock(9_000)
    assert NodeState(None, OWN).settings() is None  # no key file: nothing kept
    state = NodeState(tmp_path, OWN, clock=clock)
    s = state.settings(FAST)
    assert s is not None and s.epoch == 9_000 and s.heartbeat == FAST.heartbeat
    clock.now = 1
    s2 = NodeState(tmp_path, OWN, clock=clock).settings()
    assert s2 is not None and s2.epoch == 9_001


async def test_restart_with_backwards_clock_is_not_stale(tmp_path: Path) -> None:
    """A peer that left (bye) and comes back with its clock turned back is seen again:
    its new session's epoch is still above the old one."""
    schema = {"Foo": State()}
    clock = FakeClock(10_000_000_000)
    net = MemoryNetwork()
    async with net.join("t") as ta, Node(transport=ta, settings=FAST) as a:

        async def run_b() -> None:
            settings = NodeState(tmp_path, "B", clock=clock).settings(FAST)
            async with (
                net.join("t", peer_id="B") as tb,
                Node(transport=tb, expose=[Machine(schema, id="wb")], settings=settings),
            ):
                await until_event([a.topic], lambda: bool(a.remote_machines(id="wb")), 10)

        await run_b()
        await until_event([a.topic], lambda: not a.remote_machines(id="wb"), 10)
        clock.now -= 60_000_000  # a minute back
        await run_b()  # times out without the persisted epoch: the session looks stale


# --- saved peers -----------------------------------------------------------------------


def test_clean_addrs() -> None:
    got = clean_addrs(
        "P",
        [
            "/ip4/10.0.0.1/tcp/4001/p2p/P",
            "/ip4/10.0.0.1/tcp/4001",
            "/ip4/0.0.0.0/tcp/4001",
            "/ip4/1.2.3.4/tcp/1/p2p/RELAY/p2p-circuit",
            "/dns4/example.org/tcp/1",
            "/ip6/::1/tcp/5",
            *(f"/ip4/10.0.1.{i}/tcp/1" for i in range(20)),
        ],
    )
    assert got[:2] == ("/ip4/10.0.0.1/tcp/4001", "/ip6/::1/tcp/5")
    assert len(got) == MAX_ADDRS


def test_peer_book_round_trip_bounded_and_ordered(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    book = PeerBook(path, OWN)
    book.update({OWN: ["/ip4/10.0.0.9/tcp/1"]}, 1.0)  # never itself
    assert not book.peers
    for i in range(MAX_PEERS + 10):
        book.update({f"P{i}": [f"/ip4/10.0.{i // 200}.{i % 200}/tcp/4001"]}, float(i))
    book.update({"nowhere": ["/ip4/0.0.0.0/tcp/1"]}, 999.0)  # nothing dialable: not kept
    assert len(book.peers) == MAX_PEERS and book.changed()
    book.save()
    assert not book.changed()
    book.update({"P73": ["/ip4/10.0.0.73/tcp/4001"]}, 500.0)  # only seen later
    assert not book.changed()
    again = PeerBook(path, OWN)
    again.load()
    cands = again.candidates()
    assert cands[0] == f"/ip4/10.0.0.{MAX_PEERS + 9}/tcp/4001/p2p/P{MAX_PEERS + 9}"
    assert len(cands) == MAX_PEERS and "P9" not in again.peers  # the oldest went
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["peers"][0]["seen"] == MAX_PEERS + 9


@pytest.mark.parametrize(
    "content",
    [
        b"{ truncated",
        b"[]",
        b'{"version": 99, "peers": []}',
        b'{"version": 1, "peers": [{"id": 5, "addrs": [], "seen": 1}]}',
        b'{"version": 1, "peers": [{"id": "P", "addrs": [1], "seen": 1}]}',
        b'{"version": 1, "peers": [{"id": "P", "addrs": [], "seen": "x"}]}',
        b"\xff\xfe\x00",
    ],
)
def test_corrupt_peers_file_is_one_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(content)
    book = PeerBook(path, OWN)
    with caplog.at_level(logging.WARNING):
        book.load()
    assert book.peers == {} and book.candidates() == []
    assert len(caplog.records) == 1 and str(path) in caplog.records[0].getMessage()


def test_unwritable_peers_file_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    book = PeerBook(tmp_path / "missing-dir" / "p.json", OWN)
    book.update({"P": ["/ip4/10.0.0.1/tcp/1"]}, 1.0)
    with caplog.at_level(logging.WARNING):
        book.save()
    assert "cannot save peers" in caplog.text and book.changed()


# --- options and status ------------------------------------------------------------------


def test_data_dir_option(tmp_path: Path) -> None:
    key = tmp_path / "n.key"
    assert NodeConfig(key_path=key).state_dir == tmp_path
    assert NodeConfig().state_dir is None
    NodeConfig(key_path=key, data_dir=tmp_path / "new" / "dir").validate()  # creatable
    with pytest.raises(ConfigError, match="needs --name or --key"):
        NodeConfig(data_dir=tmp_path).validate()
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="is not a directory"):
        NodeConfig(key_path=key, data_dir=tmp_path / "file" / "sub").validate()


async def test_status_shows_mesh_and_dial_failures_hook() -> None:
    net = MemoryNetwork()
    async with (
        net.join("t") as ta,
        net.join("t") as tb,
        Node(transport=ta, settings=FAST) as a,
        Node(transport=tb, settings=FAST),
    ):
        await until_event([a.topic], lambda: bool(a.peers()), 10)
        line = summary_line(a)
        assert line.startswith("status peers=1 connected=1 mesh=") and "dial-failures" not in line
        assert dial_failures(a) is None  # the memory transport counts no dials

        class Counters:
            dial_failures = 3

        ta.connection_counters = Counters()  # type: ignore[attr-defined]  # the transport hook
        assert dial_failures(a) == 3 and " dial-failures=3 local=" in summary_line(a)
