"""Node as an async context manager: waiting for discovery, failures at start and stop."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from asyncmachine import Machine, State
from asyncmachine.node import Node
from asyncmachine.pubsub import MemoryNetwork, Topic, TopicSettings

SCHEMA = {"Foo": State(require=["Bar"]), "Bar": State()}
FAST = TopicSettings(hello_delay=0.01, hello_wait=0.2, hello_retry=1.0)


async def test_when_machine_and_wait_machines() -> None:
    net = MemoryNetwork()
    w1, w2 = Machine(SCHEMA, id="w1", tags=["k"]), Machine(SCHEMA, id="w2", tags=["k"])
    async with (
        net.join("t") as ta,
        net.join("t") as tb,
        Node(transport=ta, expose=[w1], settings=FAST) as a,
        Node(transport=tb, settings=FAST) as b,
    ):
        with trio.fail_after(10):
            mirror = await b.when_machine(id="w1")
            a.expose(w2)
            got = await b.wait_machines(2, tags=["k"])
        assert mirror in got and sorted(m.id for m in got) == ["w1", "w2"]
        assert b.remote_machines(peer_id=a.peer_id, id="w2") == [got[got[0] is mirror]]
    with pytest.raises(RuntimeError, match="not running"):
        await b.when_machine(id="w1")


async def test_failure_while_starting_closes_the_topic(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: Node, mach: Machine) -> None:
        raise ValueError("watch failed")

    monkeypatch.setattr(Node, "_watch", boom)
    net = MemoryNetwork()
    async with net.join("t") as tr:
        node = Node(transport=tr, expose=[Machine(SCHEMA, id="w")], settings=FAST)
        with pytest.raises(ValueError, match="watch failed"):
            async with node:
                pytest.fail("the body must not run")
        assert not node.running
        monkeypatch.undo()
        async with node:  # startable again: nothing was left half-open
            assert node.running and node.topic.mach.is1("Joined")


async def test_failure_while_stopping_closes_the_topic(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: Topic) -> list[Machine]:
        raise ValueError("exposed failed")

    net = MemoryNetwork()
    async with net.join("t") as tr:
        node = Node(transport=tr, settings=FAST)
        with pytest.raises(ValueError, match="exposed failed"):
            async with node:
                topic = node.topic
                monkeypatch.setattr(Topic, "exposed", boom)
        assert not node.running
        assert topic.mach.is_disposed()  # the topic's nursery was exited properly
    # trio itself checks the nursery stack when this test's task ends


async def test_enter_twice_is_refused() -> None:
    net = MemoryNetwork()
    async with net.join("t") as tr, Node(transport=tr, settings=FAST) as node:
        with pytest.raises(RuntimeError, match="already running"):
            await node.__aenter__()
        assert node.running
    with pytest.raises(RuntimeError, match="not running"):
        await node.__aexit__(None, None, None)
