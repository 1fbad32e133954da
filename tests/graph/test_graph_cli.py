"""``asyncmachine graph``: end to end against real peers, snapshots, and bad input."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import networkx as nx
import pytest
import trio

from asyncmachine.cli import main
from asyncmachine.cli._graph import GraphCliError, observe
from asyncmachine.graph import graph_from_machines, machines, write_json
from asyncmachine.machine import Machine
from asyncmachine.pubsub import Topic, open_topic
from tests.graph.graph_helpers import (
    CLI,
    PNG_MAGIC,
    check_dot,
    check_mermaid,
    parent,
    rich_worker,
)
from tests.helpers import GHOST_ID, TIMEOUT, ghost_addr
from tests.pubsub.helpers import FAST, until_event

TOPIC = "am-graph-cli"


async def cli(*args: str, cwd: Path) -> tuple[int, str, str, float]:
    """Run ``asyncmachine graph ARGS`` as a separate process: (rc, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    with trio.fail_after(90):
        r = await trio.run_process(
            [sys.executable, "-c", CLI, "graph", *args],
            cwd=cwd,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    return r.returncode, r.stdout.decode(), r.stderr.decode(), time.monotonic() - t0


@asynccontextmanager
async def peer(expose: list[Machine], bootstrap: list[str]) -> AsyncIterator[Topic]:
    async with open_topic(
        TOPIC, bootstrap=bootstrap, expose=expose, settings=FAST, shutdown_grace=0.05
    ) as topic:
        yield topic


def assert_clean_error(rc: int, err: str, want_rc: int, match: str) -> None:
    assert rc == want_rc, err
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("asyncmachine graph: error:")]
    assert len(lines) == 1 and match in lines[0], err


@pytest.mark.slow
async def test_cli_observes_a_network_end_to_end(tmp_path: Path) -> None:
    p = parent("p1")
    child = rich_worker("w1", parent=p)
    child.add(["Foo", "Bar"])
    p.add1("Start")
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(peer([p, child], []))
        boot = a.addrs()[0]
        b = await stack.enter_async_context(peer([rich_worker("w2")], [boot]))
        await stack.enter_async_context(peer([rich_worker("w3")], [boot]))
        # the peers found each other
        await until_event([b], lambda: len(b.list_machines()) >= 3, TIMEOUT)
        rc, out, err, _secs = await cli(
            "--bootstrap",
            boot,
            "--topic",
            TOPIC,
            "--timeout",
            "30",
            "--settle",
            "0.5",
            "--json",
            "g.json",
            "--graphml",
            "g.graphml",
            "--dot",
            "g.dot",
            "--mermaid",
            "g.mmd",
            "--png",
            "g.png",
            "--machine",
            "w1",
            "--machine-png",
            "w1.png",
            cwd=tmp_path,
        )
    assert rc == 0, out + err
    assert "Traceback" not in err
    # summary: 3 peers (the observer is not counted), 4 machines, active states of w1
    assert "3 peers, 4 machines (settled; seen by an observer, not counted)" in out, out
    for mid in ("p1", "w1", "w2", "w3"):
        assert f"│ {mid} " in out, out
    assert "Bar Foo Qux" in out and a.peer_id in out and "observer" in out
    for name in ("json", "graphml", "dot", "mermaid", "png", "machine-png"):
        assert f"wrote {name}:" in out

    g = json.loads((tmp_path / "g.json").read_text())
    assert g["graph"]["topic"] == TOPIC
    gml = nx.read_graphml(tmp_path / "g.graphml", force_multigraph=True)
    assert sum(1 for _, d in gml.nodes(data=True) if d["kind"] == "machine") == 4
    check_dot((tmp_path / "g.dot").read_text())
    check_mermaid((tmp_path / "g.mmd").read_text())
    for png in ("g.png", "w1.png"):
        data = (tmp_path / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000

    # the snapshot loads back in the CLI and prints the same network
    rc, out2, err2, _ = await cli("--load", "g.json", "--mermaid", "again.mmd", cwd=tmp_path)
    assert rc == 0, err2
    assert "3 peers, 4 machines (snapshot g.json; seen by an observer" in out2
    assert "Bar Foo Qux" in out2
    assert (tmp_path / "again.mmd").read_text() == (tmp_path / "g.mmd").read_text()


@pytest.mark.slow
async def test_cli_wrong_topic_fails_cleanly(tmp_path: Path) -> None:
    async with peer([rich_worker("w1")], []) as a:
        rc, _, err, secs = await cli(
            "--bootstrap", a.addrs()[0], "--topic", "no-such-topic", "--timeout", "3", cwd=tmp_path
        )
    assert_clean_error(rc, err, 2, "no peers found on topic 'no-such-topic' within 3 s")
    assert secs < 3 + TIMEOUT  # --timeout + interpreter start-up and shutdown


async def test_cli_unreachable_bootstrap_fails_within_timeout(tmp_path: Path) -> None:
    rc, _out, err, secs = await cli(
        "--bootstrap",
        ghost_addr(),
        "--topic",
        TOPIC,
        "--timeout",
        "3",
        "--json",
        "never.json",
        cwd=tmp_path,
    )
    assert_clean_error(rc, err, 2, "cannot reach the bootstrap peer(s)")
    assert secs < 3 + TIMEOUT
    assert not (tmp_path / "never.json").exists()


async def test_observe_gives_up_within_timeout() -> None:
    """The network part alone (no interpreter start-up) fails, not hanging."""
    with (
        trio.fail_after(2.0 + TIMEOUT),
        pytest.raises(GraphCliError, match="cannot reach the bootstrap"),
    ):
        await observe(
            TOPIC,
            [ghost_addr()],
            timeout=2.0,
            settle=0.5,
            listen="/ip4/127.0.0.1/tcp/0",
        )


def test_cli_load_snapshot_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = rich_worker("w1", parent="p1")
    w.add(["Foo", "Bar"])
    g = graph_from_machines([parent("p1"), w], peer_id="PEER1")
    g.graph["topic"] = "saved"
    write_json(g, tmp_path / "s.json")
    rc = main(
        [
            "graph",
            "--load",
            str(tmp_path / "s.json"),
            "--dot",
            str(tmp_path / "s.dot"),
            "--machine-png",
            str(tmp_path / "m.png"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "topic saved: 1 peer, 2 machines" in out and "Bar Foo Qux" in out
    nodes, _ = check_dot((tmp_path / "s.dot").read_text())
    assert len(nodes) == g.number_of_nodes()
    assert (tmp_path / "m.png").read_bytes().startswith(PNG_MAGIC)
    assert len(machines(g)) == 2


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"{ truncated", "bad JSON"),
        (b"\x00\xff\xfe binary", "not a valid asyncmachine graph snapshot"),
        (
            b'{"graph": {"format": "asyncmachine-graph", "version": 1}, "nodes": [{"node": "x"}],'
            b' "edges": []}',
            "unknown kind",
        ),
        (b"[]", "expected a JSON object"),
    ],
)
def test_cli_corrupt_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, match: str
) -> None:
    (tmp_path / "bad.json").write_bytes(content)
    rc = main(["graph", "--load", str(tmp_path / "bad.json"), "--json", str(tmp_path / "o.json")])
    err = capsys.readouterr().err
    assert_clean_error(rc, err, 2, match)
    assert not (tmp_path / "o.json").exists()


@pytest.mark.parametrize(
    ("argv", "rc", "match"),
    [
        (["--load", "missing.json"], 2, "No such file"),
        ([], 2, "one of --bootstrap"),
        (
            ["--bootstrap", f"/ip4/127.0.0.1/tcp/1/p2p/{GHOST_ID}", "--load", "x.json"],
            2,
            "exclude each other",
        ),
        (["--bootstrap", "not-a-multiaddr", "--topic", "t"], 2, "argument --bootstrap"),
        (["--bootstrap", "/ip4/127.0.0.1/tcp/1", "--topic", "t"], 2, "argument --bootstrap"),
        (["--load", "x.json", "--timeout", "-1"], 2, "argument --timeout"),
        (["--load", "x.json", "--timeout", "soon"], 2, "argument --timeout"),
    ],
)
def test_cli_bad_usage(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    rc: int,
    match: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    try:
        got = main(["graph", *argv])
    except SystemExit as e:  # argparse errors
        got = int(e.code or 0)
    err = capsys.readouterr().err
    assert got == rc, err
    assert "Traceback" not in err
    assert match in err.splitlines()[-1], err


def test_cli_unknown_machine_and_unwritable_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_json(graph_from_machines([rich_worker("w1")], peer_id="P"), tmp_path / "s.json")
    rc = main(
        [
            "graph",
            "--load",
            str(tmp_path / "s.json"),
            "--machine",
            "nope",
            "--machine-png",
            str(tmp_path / "m.png"),
        ]
    )
    out, err = capsys.readouterr()
    assert_clean_error(rc, err, 2, "no machine 'nope'")
    assert out == ""  # checked before the summary is printed
    rc = main(
        [
            "graph",
            "--load",
            str(tmp_path / "s.json"),
            "--json",
            str(tmp_path / "no" / "dir" / "o.json"),
        ]
    )
    out, err = capsys.readouterr()
    assert_clean_error(rc, err, 2, "--json: directory")
    assert out == ""


async def test_observe_timeout_message_names_the_timeout() -> None:
    """A bootstrap peer that accepts TCP but never answers: the error used to say
    "timed out after 1.6 s" for ``--timeout 2`` (the dial had 80 % of it)."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    try:
        with trio.fail_after(2.0 + TIMEOUT), pytest.raises(GraphCliError) as info:
            await observe(
                TOPIC,
                [f"/ip4/127.0.0.1/tcp/{port}/p2p/{GHOST_ID}"],
                timeout=2.0,
                settle=0.5,
                listen="/ip4/127.0.0.1/tcp/0",
            )
    finally:
        await trio.aclose_forcefully(listeners[0])
    msg = str(info.value)
    assert "cannot reach the bootstrap peer(s)" in msg
    assert "2 s" in msg and "1.6 s" not in msg, msg


def test_cli_topic_defaults_as_for_node() -> None:
    """``graph --bootstrap`` alone used to fail with "--topic is required"; node's default
    topic is used, so the two commands meet without flags."""
    from asyncmachine.cli import build_parser
    from asyncmachine.node import DEFAULT_TOPIC

    args = build_parser().parse_args(["graph", "--bootstrap", ghost_addr()])
    assert args.topic == DEFAULT_TOPIC == "asyncmachine"


def test_summary_counts_neither_the_observer_nor_departed_peers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The observer counted itself as a peer, and a departed observer of an earlier run,
    still named in a peer's links record, showed as a connected peer."""
    from rich.console import Console

    from asyncmachine.cli._graph import network_connectivity, print_summary
    from tests.graph.pictures import DEPARTED, OBSERVER, sample_network

    g = sample_network()
    print_summary(g, Console(width=200), note="settled")
    out = capsys.readouterr().out
    assert "4 peers, 5 machines (settled; seen by an observer, not counted; 1 link-only" in out
    row = next(ln for ln in out.splitlines() if DEPARTED in ln)
    assert "link-only" in row
    assert "observer" in next(ln for ln in out.splitlines() if OBSERVER in ln)
    assert network_connectivity(g).peers == 4
