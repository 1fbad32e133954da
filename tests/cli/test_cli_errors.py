"""Every command's bad input: exactly one line on stderr and exit status 2 (README)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from asyncmachine.cli import main

BAD_INPUTS: list[tuple[str, list[str]]] = [
    # top level
    ("asyncmachine", ["frob"]),
    ("asyncmachine", ["--log-level", "loud", "demo"]),
    ("asyncmachine", ["--log", "nolevel", "demo"]),
    ("asyncmachine", ["--log", "multiaddr=loud", "demo"]),
    ("asyncmachine", ["--log"]),
    # sim: types, choices, missing values, unknown flags, ranges, outputs
    ("sim", ["sim", "--peers", "abc"]),
    ("sim", ["sim", "--backend", "quantum"]),
    ("sim", ["sim", "--topology", "ring"]),
    ("sim", ["sim", "--duration", "soon"]),
    ("sim", ["sim", "--peers"]),
    ("sim", ["sim", "--bogus"]),
    ("sim", ["sim", "--peers", "5", "extra"]),
    ("sim", ["sim", "--peers", "1"]),
    ("sim", ["sim", "--loss", "2"]),
    ("sim", ["sim", "--json", "/nonexistent-dir/x.json"]),
    ("sim", ["sim", "--csv", "/proc/forbidden.csv"]),
    ("sim", ["sim", "--plots", "/proc/forbidden"]),
    ("sim", ["sim", "--graph", "/"]),
    # bench
    ("bench", ["bench", "--procs", "x"]),
    ("bench", ["bench", "--seed", "y"]),
    ("bench", ["bench", "--matrix", "nope"]),
    ("bench", ["bench", "--out"]),
    ("bench", ["bench", "--bogus"]),
    ("bench", ["bench", "--matrix", "quick", "--out", "/proc/forbidden"]),
    # graph (argparse-level checks; values checked in cli/_graph.py are tested there)
    ("graph", ["graph", "--timeout", "-3"]),
    ("graph", ["graph", "--timeout", "abc"]),
    ("graph", ["graph", "--timeout"]),
    ("graph", ["graph", "--bootstrap", "garbage"]),
    ("graph", ["graph", "--bogus"]),
    ("graph", ["graph", "--load", "/nonexistent-dir/missing.json"]),
    ("graph", ["graph", "--load", "{corrupt}"]),
    ("graph", ["graph", "--load", "{snapshot}", "--machine", "nope"]),
    ("graph", ["graph", "--load", "{snapshot}", "--png", "/nonexistent-dir/n.png"]),
    ("graph", ["graph", "--load", "{snapshot}", "--machine-png", "/proc/forbidden.png"]),
    ("graph", ["graph", "--load", "{snapshot}", "--json", "/"]),
    ("graph", ["graph", "--bootstrap", "{ghost}", "--timeout", "1"]),
    # node
    ("node", ["node", "--demo-interval", "x"]),
    ("node", ["node", "--status-interval", "x"]),
    ("node", ["node", "--connect-timeout", "x"]),
    ("node", ["node", "--log-level", "loud"]),
    ("node", ["node", "--listen"]),
    ("node", ["node", "--bogus", "1"]),
    ("node", ["node", "--connections", "4"]),
    ("node", ["node", "--connections", "a:b"]),
    ("node", ["node", "--connections", "5:2"]),
    # demo
    ("demo", ["demo", "--delay", "soon"]),
    ("demo", ["demo", "--delay", "-1"]),
    ("demo", ["demo", "--delay", "11"]),
    ("demo", ["demo", "--delay", "nan"]),
    ("demo", ["demo", "--delay"]),
    ("demo", ["demo", "--bogus"]),
]


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, str]:
    """Files the walk's ``{name}`` placeholders stand for: a good and a corrupt graph
    snapshot, and a bootstrap address nobody answers."""
    from asyncmachine.graph import graph_from_machines, write_json
    from tests.graph.graph_helpers import rich_worker
    from tests.helpers import ghost_addr

    write_json(graph_from_machines([rich_worker("w1")], peer_id="P"), tmp_path / "s.json")
    (tmp_path / "bad.json").write_text("{ truncated")
    return {
        "snapshot": str(tmp_path / "s.json"),
        "corrupt": str(tmp_path / "bad.json"),
        "ghost": ghost_addr(),
    }


@pytest.mark.parametrize(("cmd", "argv"), BAD_INPUTS, ids=[" ".join(a) for _, a in BAD_INPUTS])
def test_bad_input_is_one_line_and_exit_2(
    cmd: str, argv: list[str], capsys: pytest.CaptureFixture[str], inputs: dict[str, str]
) -> None:
    try:
        rc = main([a.format(**inputs) for a in argv])
    except SystemExit as e:
        rc = e.code  # type: ignore[assignment]
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    lines = err.splitlines()
    assert len(lines) == 1, err
    prog = "asyncmachine" if cmd == "asyncmachine" else f"asyncmachine {cmd}"
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    assert out == ""


def test_unknown_flag_is_reported_by_its_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sim", "--peers", "4", "--bogus"])
    assert capsys.readouterr().err == "asyncmachine sim: error: unrecognized arguments: --bogus\n"


def test_plots_path_checked_before_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    """``--plots /proc/forbidden`` used to run the whole simulation, then fail."""
    rc = main(["sim", "--duration", "100000", "--plots", "/proc/forbidden"])
    assert rc == 2
    assert capsys.readouterr().err.startswith("asyncmachine sim: error: --plots: ")


def test_outputs_checked_without_leaving_files(tmp_path: Path) -> None:
    from asyncmachine.cli._paths import unwritable_dir, unwritable_file

    assert unwritable_file(tmp_path / "r.json") is None
    assert not (tmp_path / "r.json").exists()
    assert unwritable_file(tmp_path) == f"{tmp_path} is a directory"
    assert unwritable_dir(tmp_path / "plots" / "a") is None
    assert list((tmp_path / "plots" / "a").iterdir()) == []
    assert "not a directory" in (unwritable_dir(Path(__file__)) or "")


def test_real_process_type_error_is_one_line() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "asyncmachine", "sim", "--peers", "abc"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert r.stderr == "asyncmachine sim: error: argument --peers: expected an integer, got 'abc'\n"
