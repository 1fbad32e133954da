"""Attacks on real py-libp2p hosts over loopback: honest peers, a rogue, measurements.

Used by tests/pubsub/attacks/test_attacks_libp2p.py and benchmarks/attacks.py. Two honest
peers (``a`` exposes one worker, ``b`` mirrors it) and a rogue: a raw libp2p transport
that dials only ``b`` (``a``'s connection manager may still dial it) and publishes
well-formed, correctly signed messages (built with the project's own wire code,
:mod:`.kit`). While the rogue runs an attack, a sampler mutates
``a``'s worker every ``gap`` seconds and measures how long ``b``'s mirror takes to follow
(the honest update latency); every sample is bounded in time.
"""

from __future__ import annotations

import enum
import math
import resource
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID

from asyncmachine import Machine
from asyncmachine.pubsub import EventKind, Topic, TopicEvent, TopicSettings, open_topic
from asyncmachine.pubsub._connect_policy import ConnectSettings
from asyncmachine.pubsub._engine import Verdict
from asyncmachine.pubsub._libp2p_score import Refuser
from asyncmachine.pubsub._libp2p_transport import SIGNATURE_DOMAIN
from asyncmachine.pubsub.libp2p import Libp2pTransport, open_libp2p_transport, peer_id_of

from ..helpers import WORKER_SCHEMA
from .kit import (
    Entry,
    SignAs,
    clock_updates,
    empty_hello,
    fake_digest,
    info_messages,
    owner_entry,
    reqinfo,
)

TOPIC = "am-attack"
SAMPLE_TIMEOUT = 20.0
"""The longest one honest update may take before it counts as lost."""


class Attack(enum.Enum):
    """Issue 12's cases on real hosts (5 and 6 are bookkeeping: in-memory tests)."""

    FLOOD = 1
    SYBIL = 2
    DIGESTS = 3
    AMPLIFY = 4


@dataclass
class Phases:
    """Honest update latencies (s) before, during and after an attack."""

    before: list[float] = field(default_factory=list)
    during: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)
    lost: int = 0
    rogue_bytes: int = 0
    honest_bytes: int = 0
    rss_start: float = 0.0
    rss_max: float = 0.0
    """Resident set size (MB) when the attack started, and the most seen since."""
    held: tuple[int, int, int] = (0, 0, 0)
    """b's registry after the attack: (peers, mirrors, states)."""
    refused: tuple[int, int, int] = (0, 0, 0)
    """b's validator: messages rejected, ignored, forwarders graylisted."""
    relayed: int = 0
    """The rogue's messages relayed to a by b (a's validator judged them)."""


def pct(xs: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank); nan for no samples."""
    if not xs:
        return math.nan
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def rss_mb() -> float:
    """Current resident set size of this process in MB (Linux; else the peak)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / (1 << 20)
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def made_up_owners(count: int) -> list[tuple[str, SignAs]]:
    """``count`` fresh Ed25519 identities, each with a signer of its own."""
    out: list[tuple[str, SignAs]] = []
    for _ in range(count):
        pair = create_new_key_pair()

        def sign(_owner: str, payload: bytes, key: object = pair.private_key) -> bytes:
            sig: bytes = key.sign(SIGNATURE_DOMAIN + payload)  # type: ignore[attr-defined]
            return sig

        out.append((peer_id_of(pair), sign))
    return out


def sybil_entries(count: int, machines: int, states: int) -> list[Entry]:
    """Signed info records (no clocks) of ``count`` fresh Ed25519 keys."""
    out: list[Entry] = []
    for owner, sign in made_up_owners(count):
        info, _clocks = owner_entry(TOPIC, owner, sign, machines=machines, states=states)
        out.append((info, None))  # info only, as in the issue (3.2 MB for 600 keys)
    return out


@asynccontextmanager
async def honest_and_rogue(
    settings: TopicSettings | None = None,
) -> AsyncIterator[tuple[Topic, Topic, Libp2pTransport]]:
    """(a, b, rogue): ``a`` exposes a worker ``b`` mirrors; the rogue is connected to b."""
    src = Machine(dict(WORKER_SCHEMA), id="w")
    s = settings or TopicSettings(hello_delay=0.05, hello_retry=2.0)
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(
            open_topic(TOPIC, expose=[src], settings=s, shutdown_grace=0.05)
        )
        b = await stack.enter_async_context(
            open_topic(TOPIC, bootstrap=a.addrs(), settings=s, shutdown_grace=0.05)
        )
        with trio.fail_after(60):
            await b.when_machine(peer_id=a.peer_id)
        rogue = await stack.enter_async_context(
            open_libp2p_transport(
                TOPIC,
                bootstrap=b.addrs(),
                shutdown_grace=0.05,
                connections=ConnectSettings(low=1, high=1, grace=0.0),  # b only: trim at once
            )
        )
        with trio.fail_after(30):
            while b.peer_id not in rogue.topic_peers():
                await trio.sleep(0.05)
        yield a, b, rogue


async def one_update(a: Topic, b: Topic) -> float | None:
    """Toggle ``a``'s worker; seconds until ``b``'s mirror shows it (None: lost)."""
    src = a.exposed()[0]
    mirror = b.list_machines(peer_id=a.peer_id)[0]
    done = trio.Event()

    def on_event(ev: TopicEvent) -> None:
        if ev.kind is EventKind.CLOCK_UPDATED and mirror.time() == src.time():
            done.set()

    b.add_observer(on_event)
    try:
        t0 = trio.current_time()
        src.toggle1("Bar")
        with trio.move_on_after(SAMPLE_TIMEOUT):
            await done.wait()
            return trio.current_time() - t0
        return None
    finally:
        b.remove_observer(on_event)


async def sample(a: Topic, b: Topic, out: list[float], ph: Phases, gap: float, n: int) -> None:
    """``n`` honest updates, one every ``gap`` seconds (at most)."""
    for _ in range(n):
        t0 = trio.current_time()
        dt = await one_update(a, b)
        ph.rss_max = max(ph.rss_max, rss_mb())
        if dt is None:
            ph.lost += 1
        else:
            out.append(dt)
        await trio.sleep(max(0.0, gap - (trio.current_time() - t0)))


async def paced(rogue: Libp2pTransport, msgs: list[bytes], rate: float, ph: Phases) -> None:
    for data in msgs:
        t0 = trio.current_time()
        await rogue.publish(data)
        ph.rogue_bytes += len(data)
        await trio.sleep(max(0.0, 1 / rate - (trio.current_time() - t0)))


def attack_messages(kind: Attack, intensity: int, b: Topic, rogue: Libp2pTransport) -> list[bytes]:
    """The rogue's messages for one run (``intensity``: the issue's scale is ~1..3)."""
    if kind is Attack.FLOOD:  # 50 made-up owners' new clocks, ~3 s at 620/s
        return clock_updates(TOPIC, made_up_owners(50), 1860 * intensity)
    if kind is Attack.SYBIL:
        entries = sybil_entries(100 * intensity, 256, 256)
        return list(info_messages(entries, 100))
    if kind is Attack.DIGESTS:
        return [fake_digest(f"fake{i}-", 2048) for i in range(30 * intensity)]
    me = owner_entry(TOPIC, rogue.peer_id, lambda _o, p: rogue.sign(p), machines=0, states=1)
    msgs: list[bytes] = []
    for i in range(50 * intensity):
        msgs.append(empty_hello(i, me))
        if i % 3 == 0:
            msgs.append(reqinfo(1_000_000 + i, sorted(b.registry.peers)))
    return msgs


RATES = {Attack.FLOOD: 620.0, Attack.SYBIL: 2.0, Attack.DIGESTS: 15.0, Attack.AMPLIFY: 50.0}
"""Messages per second the rogue sends (within the incoming per-author limits, but for
the flood: five times its limit of updates)."""


def count_relayed(topic: Topic, author: str) -> list[int]:
    """Wrap ``topic``'s transport validator: ``[n]`` counts ``author``'s messages that
    another peer relayed to it (a connection of its own to ``author`` doesn't count)."""
    t, n = topic.transport, [0]
    assert isinstance(t, Libp2pTransport) and t.validator is not None
    judge = t.validator

    def counting(a: str, forwarder: str, data: bytes) -> Verdict:
        n[0] += a == author and forwarder != author
        return judge(a, forwarder, data)

    t.set_validator(counting)
    return n


async def run_attack(
    kind: Attack | None,
    intensity: int,
    *,
    gap: float = 0.1,
    before: int = 20,
    after_s: float = 5.0,
    settings: TopicSettings | None = None,
    check: Callable[[Topic, Topic], Awaitable[None]] | None = None,
) -> Phases:
    """Baseline samples, then the attack with samples alongside, then samples for
    ``after_s`` seconds (``kind=None``: a no-attack run of the same shape)."""
    ph = Phases()
    async with honest_and_rogue(settings) as (a, b, rogue):
        relayed = count_relayed(a, rogue.peer_id)
        await sample(a, b, ph.before, ph, gap, before)
        msgs = attack_messages(kind, intensity, b, rogue) if kind is not None else []
        honest0 = a.metrics.bytes_sent + b.metrics.bytes_sent
        ph.rss_start = ph.rss_max = rss_mb()
        rate = RATES[kind] if kind is not None else 1.0
        async with trio.open_nursery() as nursery:
            nursery.start_soon(paced, rogue, msgs, rate, ph)
            n = max(10, int(len(msgs) / rate / gap))
            await sample(a, b, ph.during, ph, gap, n)
        await sample(a, b, ph.after, ph, gap, int(after_s / gap))
        ph.honest_bytes = a.metrics.bytes_sent + b.metrics.bytes_sent - honest0
        reg = b.registry
        ph.held = (len(reg.peers), reg.mirror_count, reg.state_count)
        tb = b.transport
        if isinstance(tb, Libp2pTransport):
            ph.refused = (tb.counters.rejected, tb.counters.ignored, tb.counters.graylisted)
        ph.relayed = relayed[0]
        if check is not None:
            await check(a, b)
    return ph


class _AllBut:
    """A container of every peer id but one (for :class:`Refuser`)."""

    def __init__(self, kept: ID) -> None:
        self._kept = kept

    def __contains__(self, peer: object) -> bool:
        return peer != self._kept


@asynccontextmanager
async def observer(b: Topic) -> AsyncIterator[tuple[Libp2pTransport, Counter[str]]]:
    """A plain subscriber connected only to ``b``, counting what it receives by author.

    Every other peer's connection is closed as it opens (a dials everyone it learns of;
    trimming to one connection could cut b, the oldest, and keep a newcomer in its
    grace period), so whatever c sees passed b's validator.
    """
    seen: Counter[str] = Counter()
    async with (
        open_libp2p_transport(
            TOPIC,
            bootstrap=b.addrs(),
            shutdown_grace=0.05,
            connections=ConnectSettings(low=1, high=4),  # no trim: others are refused
        ) as c,
        trio.open_nursery() as nursery,
    ):
        c.host.get_network().register_notifee(Refuser(_AllBut(ID.from_base58(b.peer_id))))

        async def watch() -> None:
            async for m in c.messages:
                seen[m.author] += 1

        nursery.start_soon(watch)
        yield c, seen
        nursery.cancel_scope.cancel()


__all__ = [
    "Attack",
    "Phases",
    "attack_messages",
    "count_relayed",
    "honest_and_rogue",
    "observer",
    "paced",
    "pct",
    "rss_mb",
    "run_attack",
    "sample",
]
