"""``asyncmachine node --allow`` / ``--workers`` / ``--pool``, schema-file ``allow``, the
console's remote mutations and ``asyncmachine submit``'s input checks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import trio

from asyncmachine.node import LoadError, file_allow, load_schema_file
from tests.helpers import TIMEOUT
from tests.node.node_helpers import CLI, ROOT, run_node, run_once, short

QUIET = ("--status-interval", "0", "--demo-interval", "0")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--allow", "Bar"], "bad --allow 'Bar'"),
        (["--allow", "*:"], "bad --allow '*:'"),
        (["--allow", "*:Foo,,Bar"], "bad --allow"),
        (["--workers", "sq"], "bad --workers 'sq'"),
        (["--workers", "sq=nomodule"], "want KIND=module:factory"),
        (["--workers", "sq=a:b", "--workers", "sq=c:d"], "names a kind twice"),
        (["--pool", "0"], "--pool must be >= 1"),
    ],
)
async def test_bad_remote_options_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, _, err = await run_once(args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_schema_file_allow(tmp_path: Path) -> None:
    doc = {"id": "m", "states": {"Foo": {}, "Bar": {}}, "allow": {"*": ["Bar"], "PEER": ["Foo"]}}
    (tmp_path / "m.json").write_text(json.dumps(doc))
    (mach,) = load_schema_file(tmp_path / "m.json")
    assert file_allow(mach) == {"*": ["Bar"], "PEER": ["Foo"]}
    for bad, msg in (({"*": "Bar"}, "list of strings"), (["Bar"], "'allow' must map")):
        (tmp_path / "b.json").write_text(json.dumps({**doc, "allow": bad}))
        with pytest.raises(LoadError, match=msg):
            load_schema_file(tmp_path / "b.json")
    (tmp_path / "c.json").write_text(json.dumps({**doc, "allow": {"*": ["Nope"]}}))
    with pytest.raises(LoadError, match="unknown states \\['Nope'\\]"):
        load_schema_file(tmp_path / "c.json")


async def test_console_mutates_a_remote_machine_where_allowed() -> None:
    topic = ("--topic", "rpc-console")
    async with trio.open_nursery() as nursery:
        async with (
            run_node(nursery, *QUIET, *topic, "--allow", "*:Bar,Tick", name="A") as a,
            run_node(nursery, *QUIET, *topic, "--console", "--bootstrap", a.addr, name="B") as b,
        ):
            demo = f"demo-{short(a.peer_id)}"
            with trio.fail_after(TIMEOUT):
                while f"list: remote {demo}" not in " ".join(await b.list_machines()):
                    await b.wait_line(f"^machine\\+ {demo} ", timeout=TIMEOUT)
            reply = await b.command(f"add {demo} Bar n=2 who=me", "add ")
            assert reply.startswith(f"add {demo}: executed (remote @"), reply
            reply = await b.command(f"add {demo} Foo", "add ")
            assert reply.startswith("error:") and "denied" in reply, reply
            line = await b.command(f"inspect {demo}", "inspect ")
            assert "Bar" in line.split("active=[")[1] and "Foo:0" in line, line
        nursery.cancel_scope.cancel()


async def test_submit_bad_input() -> None:
    for args, msg in (
        ([], "give at least one --bootstrap"),
        (["--bootstrap", "/ip4/127.0.0.1/tcp/1"], "p2p"),
        (["--bootstrap", "/ip4/127.0.0.1/tcp/1/p2p/x", "--args", "[1]"], "JSON object"),
    ):
        r = await trio.run_process(
            [*CLI, "submit", "--kind", "sq", *args],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            cwd=ROOT,
        )
        err = r.stderr.decode()
        assert r.returncode == 2 and msg in err and len(err.strip().splitlines()) == 1, err


async def test_the_job_queue_example_runs() -> None:
    r = await trio.run_process(
        [sys.executable, str(ROOT / "examples" / "job_queue.py")],
        capture_stdout=True,
        capture_stderr=True,
        check=False,
        cwd=ROOT,
    )
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert "job-19 on worker-primes-" in out and "'primes': 2262" in out, out
    assert "20 done, 0 retries" in out, out
