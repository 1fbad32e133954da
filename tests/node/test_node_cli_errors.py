"""Bad input to ``asyncmachine node``: one line on stderr, exit code 2, no traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio

from asyncmachine.cli import main
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
