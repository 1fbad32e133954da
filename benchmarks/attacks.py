"""Hostile-peer benchmark (issue 12): honest latency and memory under each attack.

Cases 1-4 run on real py-libp2p hosts over loopback, in one process: honest peer ``a``
exposes a worker that honest peer ``b`` mirrors; a rogue transport connected to ``b``
sends well-formed, correctly signed traffic (tests/pubsub/attacks/harness.py). For each
case and intensity it prints honest update latency p50/p99 (a's mutation -> b's mirror)
before / during / after the attack, lost updates, the rogue's and the honest peers'
bytes, RSS, what b holds afterwards, what b's topic validator refused (messages
rejected / ignored, forwarders graylisted) and how many of the rogue's messages reached
``a`` all the same (relayed by b), next to a no-attack baseline of the same run.

- 1 valid-message flood: ``1,860 x intensity`` new, correctly signed updates of 50
  made-up owners at up to 620/s (5x the per-author limit of updates); the gossipsub
  validator refuses the excess before relaying it and graylists the rogue.
- 2 sybil owners: ``100 x intensity`` fresh keys' info records, 256 machines x 256
  states each, 100 per message, 2 messages/s: over the per-peer budgets, ignored
  before relaying and charged to the rogue's application score (graylisted).
- 3 fake digests: ``30 x intensity`` gossips of 2,048 made-up peer ids, 15/s.
- 4 amplification: ``50 x intensity`` empty-known hellos plus a request for every known
  peer every third message, 50 messages/s.
- 5 replay after the tombstone expired, 6 a dead peer learned of late: bookkeeping, run
  on the in-memory network in virtual time (seconds below are virtual).

``--budgets off`` runs everything with budgets so large they never bind (what the
budgets buy; the record-age rules of cases 5 and 6 stay on).

Usage::

    .venv/bin/python benchmarks/attacks.py                    # intensities 1 2
    .venv/bin/python benchmarks/attacks.py --intensity 1 2 3 --budgets off
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import trio
from rich.console import Console
from rich.table import Table
from trio.testing import MockClock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asyncmachine.pubsub import MemoryNetwork, MemoryTransport, TopicSettings
from asyncmachine.pubsub._settings import Budgets
from tests.pubsub.attacks.harness import Attack, Phases, pct, run_attack
from tests.pubsub.attacks.kit import info_messages
from tests.pubsub.helpers import FAST, memory_topics, until_event, worker

BIG = 1 << 40
OFF = Budgets(
    peers=BIG,
    machines_per_peer=BIG,
    states_per_peer=BIG,
    mirrors=BIG,
    states=BIG,
    info_bytes=BIG,
    pending_bytes=BIG,
    pending=BIG,
    missing=BIG,
    tombstones=BIG,
    digest_entries=BIG,
    request_ids=BIG,
    records_per_author=BIG,
    body_bytes_per_author=BIG,
    states_per_author=BIG,
    records_per_forwarder=BIG,
    body_bytes_per_forwarder=BIG,
    answer_ratio=float(BIG),
    answer_allowance=BIG,
    answer_rate=BIG,
    answer_burst=BIG,
    answer_repeat=0.0,
)


def _ms(x: float) -> str:
    return "-" if x != x else f"{x * 1000:.0f}"


def _row(table: Table, case: str, intensity: str, ph: Phases) -> None:
    table.add_row(
        case,
        intensity,
        f"{_ms(pct(ph.before, 0.5))} / {_ms(pct(ph.before, 0.99))}",
        f"{_ms(pct(ph.during, 0.5))} / {_ms(pct(ph.during, 0.99))}",
        f"{_ms(pct(ph.after, 0.5))} / {_ms(pct(ph.after, 0.99))}",
        str(ph.lost),
        f"{ph.rogue_bytes / 1000:.0f}",
        f"{ph.honest_bytes / 1000:.0f}",
        f"{ph.rss_start:.0f} -> {ph.rss_max:.0f}",
        "{} / {} / {}".format(*ph.held),
        "{} / {} / {}".format(*ph.refused),
        str(ph.relayed),
    )


async def _replay_after_tombstone(budgets: Budgets) -> str:
    """Case 5: a peer says bye; after its tombstone expired a rogue replays its records."""
    s = dataclasses.replace(
        FAST, record_max_age=30.0, max_clock_skew=5.0, tombstone_ttl=40.0, budgets=budgets
    )
    net = MemoryNetwork()
    async with memory_topics(net, [[]], settings=s) as (b,), net.join("t") as rogue:
        async with memory_topics(net, [[worker("w")]], settings=s) as (a,):
            await until_event([b], lambda: len(b.list_machines()) == 1)
            held = b.registry.peers[a.peer_id]
            entry = (held.info_rec, held.clock_rec)
        await trio.sleep(s.tombstone_ttl + 2 * s.heartbeat)
        await rogue.publish(next(info_messages([entry], 1)))
        await trio.sleep(1)
        back = len(b.list_machines())
        return f"revived mirrors: {back}, rejected expired: {b.metrics.rejected['expired']}"


async def _late_death(budgets: Budgets) -> str:
    """Case 6: a crashes; c joins 10 s later and gets a's records relayed by b."""
    s = dataclasses.replace(FAST, budgets=budgets)
    net = MemoryNetwork()
    async with (
        memory_topics(net, [[]], settings=s) as (b,),
        memory_topics(net, [[worker("w")]], settings=s) as (a,),
    ):
        await until_event([b], lambda: len(b.list_machines()) == 1)
        died = trio.current_time()
        assert isinstance(a.transport, MemoryTransport)
        net.leave(a.transport)
        await trio.sleep(10)
        async with memory_topics(net, [[]], settings=s) as (c,):
            await until_event([c], lambda: len(c.list_machines()) == 1)
            learned = trio.current_time() - died
            await until_event([c], lambda: not c.list_machines(), timeout=120)
            gone = trio.current_time() - died
    timeout = max(s.peer_timeout, 3 * s.keepalive)
    return (
        f"learned +{learned:.1f} s, mirrors gone +{gone:.1f} s after the death "
        f"(timeout {timeout:.0f} s)"
    )


async def main_async(intensities: list[int], budgets: Budgets, gap: float) -> None:
    console = Console(width=200)
    settings = TopicSettings(hello_delay=0.05, hello_retry=2.0, budgets=budgets)
    table = Table(title="honest update latency p50 / p99 (ms), bytes (kB), RSS (MB)")
    for col in (
        "case",
        "x",
        "before",
        "during",
        "after 5 s",
        "lost",
        "rogue kB",
        "honest kB",
        "RSS",
        "b holds peers/mirrors/states",
        "b refused rej/ign/gray",
        "to a",
    ):
        table.add_column(col)
    ph = await run_attack(None, 1, gap=gap, settings=settings)
    _row(table, "baseline", "-", ph)
    for kind in Attack:
        for x in intensities:
            console.print(f"running case {kind.value} ({kind.name.lower()}) x{x}")
            ph = await run_attack(kind, x, gap=gap, settings=settings)
            _row(table, f"{kind.value} {kind.name.lower()}", str(x), ph)
    console.print(table)


def _virtual(fn: object, budgets: Budgets) -> str:
    async def go() -> str:
        return await fn(budgets)  # type: ignore[operator,no-any-return]

    return trio.run(go, clock=MockClock(autojump_threshold=0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--intensity", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--budgets", choices=["on", "off"], default="on")
    ap.add_argument("--gap", type=float, default=0.1, help="seconds between honest updates")
    args = ap.parse_args()
    budgets = Budgets() if args.budgets == "on" else OFF
    trio.run(main_async, args.intensity, budgets, args.gap)
    print("5 replay after tombstone:", _virtual(_replay_after_tombstone, budgets))
    print("6 dead peer learned late:", _virtual(_late_death, budgets))


if __name__ == "__main__":
    main()
