"""The Node API, its console and status output, over the in-memory network and libp2p."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
import trio
import trio.testing

from asyncmachine import Machine
from asyncmachine.machine import ReadOnlyMachine
from asyncmachine.node import Node, NodeEventKind, demo_machine, diff_times, drive_demo
from asyncmachine.node._console import NodeConsole
from asyncmachine.node._status import PlainStatus, event_line, summary_line
from asyncmachine.pubsub import MemoryNetwork
from tests.helpers import TIMEOUT
from tests.pubsub.helpers import FAST, WORKER_SCHEMA, until_event


async def until(node: Node, cond: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Wait for ``cond`` on the events of ``node``'s Topic: remote machines, peers and
    remote changes (``recent_changes``, NodeEvents) all follow a TopicEvent."""
    await until_event([node.topic], cond, timeout)


@asynccontextmanager
async def memory_nodes(*exposes: list[Machine]) -> AsyncIterator[list[Node]]:
    net = MemoryNetwork()
    async with AsyncExitStack() as stack:
        nodes = []
        for ex in exposes:
            tr = await stack.enter_async_context(net.join("t"))
            nodes.append(
                await stack.enter_async_context(Node(transport=tr, expose=ex, settings=FAST))
            )
        yield nodes


def test_diff_times() -> None:
    names = ["A", "B", "C", "D"]
    assert diff_times(names, [1, 0, 1, 2], [2, 1, 3, 4]) == (("B",), ("A",), ("C", "D"))


async def test_discovery_changes_and_leave() -> None:
    w1 = Machine(WORKER_SCHEMA, id="w1")
    events: list[str] = []
    async with memory_nodes([w1], []) as (a, b):
        b.add_observer(lambda ev: events.append(event_line(ev)))
        await until(b, lambda: len(b.remote_machines()) == 1)
        (mirror,) = b.remote_machines(id="w1")
        assert isinstance(mirror, ReadOnlyMachine)
        assert b.remote_owners()[0][0] == a.peer_id
        w1.add(["Foo", "Bar"])
        with trio.fail_after(TIMEOUT):
            await mirror.when1("Foo")
        await until(
            b, lambda: any(c.machine_id == "w1" and "Foo" in c.added for c in b.recent_changes)
        )
        assert any(c.local and c.added == ("Bar", "Foo") for c in a.recent_changes)
        assert str(mirror.add1("Baz")) == "canceled" and not mirror.is1("Baz")  # read-only
        await until(a, lambda: a.peers() == [b.peer_id])
        g = b.graph()
        kinds = {d.get("kind") for _, d in g.nodes(data=True)}
        assert {"peer", "machine", "state"} <= kinds
        assert "remote=1" in summary_line(b)
    assert f"machine+ w1 @{a.peer_id[-6:]}" in events
    assert any(e.startswith("change w1 @") and "+Bar +Foo" in e for e in events)


async def test_expose_after_start_and_duplicate_ids() -> None:
    async with memory_nodes([], []) as (a, b):
        late = Machine(WORKER_SCHEMA, id="late")
        a.expose(late)
        with pytest.raises(ValueError, match="already exposed"):
            a.expose(Machine(WORKER_SCHEMA, id="late"))
        await until(b, lambda: bool(b.remote_machines(id="late")))
        assert a.machine("late") is late and a.machine("nope") is None


async def test_peer_left_drops_mirrors(net: MemoryNetwork) -> None:
    seen: list[NodeEventKind] = []
    async with net.join("t") as ta, Node(transport=ta, settings=FAST) as a:
        a.add_observer(lambda ev: seen.append(ev.kind))
        async with (
            net.join("t") as tb,
            Node(transport=tb, expose=[Machine(WORKER_SCHEMA, id="w")], settings=FAST),
        ):
            await until(a, lambda: bool(a.remote_machines()))
        await until(a, lambda: not a.remote_machines())
        await until(a, lambda: NodeEventKind.PEER_LEFT in seen)
    assert NodeEventKind.MACHINE_REMOVED in seen
    assert not a.running
    with pytest.raises(RuntimeError, match="not running"):
        _ = a.topic


async def test_console_commands() -> None:
    quits: list[bool] = []
    local = Machine(WORKER_SCHEMA, id="local-1")
    async with memory_nodes([local], [Machine(WORKER_SCHEMA, id="remote-1")]) as (a, _b):
        await until(a, lambda: bool(a.remote_machines()))
        con = NodeConsole(a, lambda s: None, lambda: quits.append(True))
        run = con.execute
        assert run("add local-1 Foo")[0].startswith("add local-1: canceled")
        assert run("add local Bar Foo") == ["add local-1: executed (Bar:1 Foo:1)"]
        assert run("remove local-1 Foo")[0].startswith("remove local-1: executed")
        assert run("set local-1 Baz")[0] == "set local-1: executed (Baz:1)"
        assert "error:" in run("add local-1 Nope")[0]
        assert "read-only" in run("add remote-1 Bar")[0]
        assert run("add ghost Bar")[0].startswith("error: no machine 'ghost'")
        assert run("add local-1")[0].startswith("error: usage")
        listing = run("list")
        assert listing[0] == "list: 1 local, 1 remote"
        assert any("remote remote-1" in s and "(read-only)" in s for s in listing)
        (remote,) = run("inspect remote-1")
        assert "(remote, read-only)" in remote and "clock=[Bar:0" in remote
        (own,) = run("inspect local-1")
        assert "(local)" in own and "active=[Baz]" in own
        assert run("peers")[0].startswith("peers: 1 known")
        assert run("help")[0].startswith("help:")
        assert run("frobnicate")[0].startswith("error: unknown command")
        assert run("") == [] and run("'unclosed")[0].startswith("error:")
        assert run("quit") == ["quit: stopping the node"] and quits == [True]


async def test_console_reads_a_stream() -> None:
    out: list[str] = []
    async with memory_nodes([Machine(WORKER_SCHEMA, id="m")]) as (a,):
        send, recv = trio.testing.memory_stream_one_way_pair()
        con = NodeConsole(a, out.append, lambda: None)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(con.run, recv)
            await send.send_all(b"add m Bar\nli")
            await send.send_all(b"st\n")
            await send.aclose()
        assert out[0] == "add m: executed (Bar:1)"
        assert out[1] == "list: 1 local, 0 remote"


async def test_plain_status_and_demo_driver(autojump_clock: trio.testing.MockClock) -> None:
    out: list[str] = []
    demo = demo_machine("12D3KooWQN3MxfnYadkVntb37WFXbnjy68zYNmSAEn7bn3J5YUjs")
    assert demo.id == "demo-J5YUjs" and demo.is_(["Start", "Ready", "Idle"])
    async with memory_nodes([demo]) as (a,), trio.open_nursery() as nursery:
        nursery.start_soon(PlainStatus(a, out.append, 10.0).run)
        nursery.start_soon(drive_demo, demo, 1.0)
        await trio.sleep(25)
        nursery.cancel_scope.cancel()
    changes = [s for s in out if s.startswith("change demo-J5YUjs @self")]
    assert len(changes) >= 15
    assert "+Tick +Working -Idle" in changes[0]
    assert "+Idle -Working ^Tick" in changes[1]
    assert sum(s.startswith("status peers=0") for s in out) == 2


@pytest.mark.slow
async def test_two_libp2p_nodes_in_process() -> None:
    """Node over real libp2p: bootstrap, a mirror follows, leaving drops it."""
    w = Machine(WORKER_SCHEMA, id="w")
    async with Node(expose=[w], topic="api-test") as a:
        assert a.addrs() and a.addrs()[0].endswith("/p2p/" + a.peer_id)
        async with Node(bootstrap=a.addrs(), topic="api-test") as b:
            await until(b, lambda: bool(b.remote_machines(id="w")))
            assert a.peer_id in b.connected_peers()
            w.add(["Bar", "Foo"])
            with trio.fail_after(TIMEOUT):
                await b.remote_machines(id="w")[0].when1("Foo")
        await until(a, lambda: not a.peers())


async def test_live_status_renders() -> None:
    import io

    from rich.console import Console

    from asyncmachine.node._status import LiveStatus

    buf = io.StringIO()
    async with memory_nodes(
        [Machine(WORKER_SCHEMA, id="w1")], [Machine(WORKER_SCHEMA, id="w2")]
    ) as (a, b):
        await until(a, lambda: bool(a.remote_machines()))
        b.machines()[0].add1("Bar")
        await until(a, lambda: bool(a.recent_changes))
        Console(file=buf, width=160, force_terminal=False).print(LiveStatus(a, Console()).render())
    text = buf.getvalue()
    assert a.peer_id in text and "w1" in text and "w2" in text and "+Bar" in text
    assert "read-only" in text


def test_wildcard_listen_addresses_become_dialable() -> None:
    from asyncmachine.node._runner import dialable

    alts = dialable("/ip4/0.0.0.0/tcp/4001/p2p/12D3KooWX")
    assert alts[0] == "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWX"
    assert all(a.endswith("/tcp/4001/p2p/12D3KooWX") for a in alts)
    assert dialable("/ip4/127.0.0.1/tcp/1/p2p/x") == []


async def test_console_inspect_lists_active_states_in_schema_order() -> None:
    """``inspect`` printed active states in activation order, ``list`` in schema order."""
    m = Machine(WORKER_SCHEMA, id="m")
    m.add(["Baz"])
    m.add(["Bar", "Foo"])
    async with memory_nodes([m]) as (a,):
        con = NodeConsole(a, lambda s: None, lambda: None)
        assert "active=[Bar Baz Foo]" in con.execute("inspect m")[0]  # not Baz Bar Foo
        assert con.execute("list")[1].endswith("(Bar:1 Baz:1 Foo:1)")


async def test_console_prompt(capsys: pytest.CaptureFixture[str]) -> None:
    """With a prompt (a terminal), it is shown before each command and after the replies."""
    out: list[str] = []
    async with memory_nodes([Machine(WORKER_SCHEMA, id="m")]) as (a,):
        send, recv = trio.testing.memory_stream_one_way_pair()
        con = NodeConsole(a, out.append, lambda: None, prompt="am> ")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(con.run, recv)
            await send.send_all(b"list\n")
            await send.aclose()
    assert out[0] == "list: 1 local, 0 remote"
    assert capsys.readouterr().out == "am> am> "
