"""Bad input to ``asyncmachine node``: one line on stderr, exit code 2, no traceback."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import trio

from asyncmachine.cli import main
from asyncmachine.node import DATA_ENV, ConfigError, NodeConfig, default_data_dir, load_identity
from asyncmachine.node._runner import prepare
from asyncmachine.pubsub.libp2p import peer_id_of
from tests.helpers import GHOST_ID, ghost_addr
from tests.node.node_helpers import run_once


def _files(tmp: Path) -> dict[str, Path]:
    bad_rel = tmp / "bad.json"
    bad_rel.write_text('{"states": {"Foo": {"require": ["Nope"]}}}')
    bad_toml = tmp / "bad.toml"
    bad_toml.write_text("[states.Foo]\nadd = ['Ghost']\n")
    garbage_key = tmp / "garbage.key"
    garbage_key.write_bytes(b"not a key")
    garbage_key.chmod(0o600)
    key_dir = tmp / "keydir"
    key_dir.mkdir()
    return {
        "bad_rel": bad_rel,
        "bad_toml": bad_toml,
        "garbage_key": garbage_key,
        "key_dir": key_dir,
    }


def _check(name: str, expected: str, rc: int, out: str, err: str) -> str | None:
    lines = err.strip().splitlines()
    ok = (
        rc == 2
        and len(lines) == 1
        and expected in lines[0]
        and lines[0].startswith("asyncmachine node: error: ")
        and "Traceback" not in err
    )
    return None if ok else f"{name}: rc={rc} stderr={err!r} stdout={out[-300:]!r}"


async def test_bad_input_subprocess_one_line_exit_2(tmp_path: Path) -> None:
    """The issue's five cases, as real processes."""
    f = _files(tmp_path)
    cases = {
        "bad multiaddr": (["--listen", "/ip4/127.0.0.1/tcpx/1"], "bad listen address"),
        "bootstrap unreachable": (
            ["--bootstrap", ghost_addr(), "--connect-timeout", "5"],
            "could not reach any bootstrap",
        ),
        "unknown relation": (["--expose", str(f["bad_rel"])], "unknown state 'Nope'"),
        "missing entry point": (["--expose", "no_such_pkg.mod:factory"], "cannot import module"),
        "bad key file": (["--key", str(f["garbage_key"])], "not an ed25519"),
    }
    results: dict[str, tuple[int, str, str]] = {}
    limit = trio.CapacityLimiter(3)

    async def one(name: str, args: list[str]) -> None:
        async with limit:
            results[name] = await run_once(args, timeout=40)

    async with trio.open_nursery() as nursery:
        for name, (args, _) in cases.items():
            nursery.start_soon(one, name, args)
    problems = [_check(n, exp, *results[n]) for n, (_, exp) in cases.items()]
    assert not [p for p in problems if p], "\n".join(p for p in problems if p)


def _in_process_cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    f = _files(tmp)
    cases = {
        "listen not tcp/quic": (["--listen", "/ip4/127.0.0.1/udp/0"], "bad listen address"),
        "listen with p2p": (
            ["--listen", f"/ip4/127.0.0.1/tcp/0/p2p/{GHOST_ID}"],
            "bad listen address",
        ),
        "bootstrap without p2p": (["--bootstrap", "/ip4/1.2.3.4/tcp/1"], "bad bootstrap address"),
        "bootstrap garbage": (["--bootstrap", "hello"], "bad bootstrap address"),
        "unknown relation toml": (["--expose", str(f["bad_toml"])], "unknown state 'Ghost'"),
        "missing schema file": (["--expose", str(tmp / "nope.json")], "cannot read schema file"),
        "missing factory": (["--expose", "json:no_such_factory"], "has no attribute"),
        "bad expose": (["--expose", "something"], "bad --expose value"),
        "key file is a dir": (["--key", str(f["key_dir"])], "not a regular file"),
        "bad interval": (["--status-interval", "-1"], "--status-interval"),
        "bad timeout": (["--connect-timeout", "0"], "--connect-timeout"),
        "bad topic": (["--topic", "a b"], "bad topic name"),
        "bootstrap unreachable": (
            ["--bootstrap", ghost_addr(), "--connect-timeout", "3"],
            "could not reach any bootstrap",
        ),
    }
    if os.geteuid() != 0:  # root reads anything
        unreadable = tmp / "unreadable.key"
        unreadable.write_bytes(b"x" * 36)
        unreadable.chmod(0)
        cases["unreadable key file"] = (["--key", str(unreadable)], "cannot read")
    return cases


def test_bad_input_in_process_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """More bad input through the same entry point (``main``), without the process cost."""
    problems = []
    for name, (args, expected) in _in_process_cases(tmp_path).items():
        rc = main(["node", "--no-demo", *args])
        out, err = capsys.readouterr()
        problems.append(_check(name, expected, rc, out, err))
    assert not [p for p in problems if p], "\n".join(p for p in problems if p)


@pytest.mark.parametrize("args", [["--listen"], ["--connect-timeout", "x"]])
async def test_argparse_errors_exit_2(args: list[str]) -> None:
    rc, _, err = await run_once(args)
    assert rc == 2
    assert "Traceback" not in err


def _held_port() -> socket.socket:
    """A listening socket with SO_REUSEPORT, as py-libp2p opens its listeners."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


def test_listen_port_held_by_another_process_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """py-libp2p binds with SO_REUSEPORT: a second node on a held port used to start
    silently and share the port with the first."""
    with _held_port() as held:
        port = held.getsockname()[1]
        addr = f"/ip4/127.0.0.1/tcp/{port}"
        with pytest.raises(ConfigError, match=f"tcp port {port} is in use"):
            prepare(NodeConfig(listen=(addr,), demo=False))
        rc = main(["node", "--no-demo", "--listen", addr])
    out, err = capsys.readouterr()
    assert _check("held port", "is in use by another process", rc, out, err) is None


def test_bootstrap_with_own_identity_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two nodes with one key file: the second ran alone with 0 peers and no warning."""
    key = tmp_path / "n1.key"
    own = peer_id_of(load_identity(key))
    addr = f"/ip4/127.0.0.1/tcp/4001/p2p/{own}"
    with pytest.raises(ConfigError, match="own peer id"):
        prepare(NodeConfig(bootstrap=(addr,), key_path=key, demo=False))
    rc = main(["node", "--no-demo", "--key", str(key), "--bootstrap", addr])
    out, err = capsys.readouterr()
    assert _check("own id", "this node's own peer id", rc, out, err) is None


def test_named_identity_lives_in_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--name n1`` keeps n1.key (and the state) in the user data directory instead of
    the working directory, where the README's walk-through used to leave n1.key."""
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "asyncmachine"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".local" / "share" / "asyncmachine"
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    cfg = NodeConfig(name="n1", demo=False)
    assert cfg.key_file == tmp_path / "data" / "n1.key"
    assert cfg.state_dir == tmp_path / "data"
    first = prepare(cfg)
    assert (tmp_path / "data" / "n1.key").is_file()
    assert prepare(cfg).peer_id == first.peer_id  # the same identity next time
    assert not list(tmp_path.glob("*.key"))
    explicit = NodeConfig(name="n2", data_dir=tmp_path / "elsewhere", demo=False)
    assert explicit.key_file == tmp_path / "elsewhere" / "n2.key"
    assert NodeConfig(key_path=tmp_path / "k" / "x.key").state_dir == tmp_path / "k"
    for bad, match in (
        (NodeConfig(name="../up", demo=False), "bad --name"),
        (NodeConfig(name="a", key_path=tmp_path / "x.key", demo=False), "exclude each other"),
    ):
        with pytest.raises(ConfigError, match=match):
            bad.validate()
