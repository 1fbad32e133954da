"""Building blocks for unit tests of the engine parts and the registry (no Topic)."""

from __future__ import annotations

from collections.abc import Sequence

import trio

from asyncmachine import Machine
from asyncmachine.pubsub import MemoryNetwork, MemoryTransport, TopicEvent, TopicMetrics
from asyncmachine.pubsub._engine import Engine
from asyncmachine.pubsub._local import LocalRecords
from asyncmachine.pubsub._outcomes import Freshness
from asyncmachine.pubsub._registry import Registry
from asyncmachine.pubsub._schemas import SchemaCache
from asyncmachine.pubsub._settings import TopicSettings
from asyncmachine.pubsub._topic import make_mirror
from asyncmachine.pubsub._topic_states import TOPIC_SCHEMA, ss
from asyncmachine.pubsub._wire import DEFAULT_LIMITS, Record, decode_clocks_body, decode_info_body

from .helpers import FAST, worker

TOPIC = "t"


class Owner:
    """A remote peer's records: exposed workers, signed through a memory network."""

    def __init__(self, net: MemoryNetwork, peer_id: str, epoch: int = 1, machines: int = 1):
        self.peer_id = peer_id
        self.machs = [worker(f"{peer_id}-m{i}") for i in range(machines)]
        self.net = net
        self.local = self._records(epoch)

    def _records(self, epoch: int) -> LocalRecords:
        lr = LocalRecords(
            self.peer_id,
            TOPIC,
            epoch,
            lambda data: self.net.sign_as(self.peer_id, data),
            DEFAULT_LIMITS,
        )
        for m in self.machs:
            lr.add(m, lambda _i: None)
        return lr

    def restart(self) -> None:
        """A new session (epoch + 1) with the same machines."""
        self.local.detach()
        self.local = self._records(self.local.epoch + 1)

    def expose(self) -> None:
        m = worker(f"{self.peer_id}-m{len(self.machs)}")
        self.machs.append(m)
        self.local.add(m, lambda _i: None)

    def entry(self) -> tuple[Record, Record]:
        """(info, clocks) as published: the clocks always name the current info."""
        return self.local.info_record(), self.local.clock_record()[0]

    def times(self) -> list[tuple[int, ...]]:
        return [tuple(m.time()) for m in self.machs]


def registry(self_id: str = "me", events: list[TopicEvent] | None = None) -> Registry:
    sink = events if events is not None else []
    return Registry(self_id, make_mirror, SchemaCache(), sink.append)


def joined_machine() -> Machine:
    """A Topic machine in Joined (work states require it)."""
    mach = Machine(TOPIC_SCHEMA, id="ps-test")
    for s in (ss.Start, ss.Connecting, ss.Connected, ss.Joining, ss.Joined):
        mach.add1(s)
    assert mach.is1(ss.Joined)
    return mach


class BlockingTransport(MemoryTransport):
    """A memory transport whose publish blocks until :attr:`gate` is set."""

    def __init__(self, network: MemoryNetwork, topic: str, peer_id: str) -> None:
        super().__init__(network, topic, peer_id)
        network._secret(peer_id)
        self.gate = trio.Event()
        self.publishing = trio.Event()
        self.sent = 0

    async def publish(self, data: bytes) -> None:
        self.publishing.set()
        await self.gate.wait()
        await super().publish(data)
        self.sent += 1


def engine(
    transport: MemoryTransport,
    settings: TopicSettings = FAST,
    expose: Sequence[Machine] = (),
) -> Engine:
    """An engine on a joined Topic machine (call inside Trio)."""
    local = LocalRecords(transport.peer_id, TOPIC, 1, transport.sign, settings.limits)
    for m in expose:
        local.add(m, lambda _i: None)
    reg = registry(transport.peer_id)
    eng = Engine(joined_machine(), transport, local, reg, settings, TopicMetrics(), _ignore)
    eng.joined = True
    return eng


def _ignore(_ev: TopicEvent) -> None:
    pass


def feed(reg: Registry, owner: Owner, at: float = 0.0) -> None:
    """Apply an owner's current (info, clocks) to ``reg`` as verified records."""
    info, clocks = owner.entry()
    assert reg.check(info, False) is Freshness.NEW
    reg.apply_info(info, decode_info_body(info.body), at)
    if reg.check(clocks, True) is Freshness.NEW:
        reg.apply_clocks(clocks, decode_clocks_body(clocks.body), at)
