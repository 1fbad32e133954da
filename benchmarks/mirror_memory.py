"""Bytes per mirror, measured with tracemalloc, and the cost of applying a clock update.

    nice -n 15 .venv/bin/python benchmarks/mirror_memory.py --label after

One node's registry receives the signed-and-verified info and clocks records of
``--peers`` peers exposing ``--machines`` machines each of the simulator's schema
(``Foo``/``Bar``/``Baz`` + ``Exception``), exactly as the Topic's receive path applies
them: bodies are encoded, decoded (``decode_info_body``/``decode_clocks_body``) and
applied (``Registry.apply_info``/``apply_clocks``, mirrors from the Topic's
``make_mirror``). The process-wide decode caches are then emptied, as happens in a
long run, so only what the node retains is counted. Three figures per mirror:

- ``mirror``: a ``ReadOnlyMachine`` made by ``make_mirror`` from an already decoded
  machine info, with a clock applied (``update_clock``) — the object and its clocks;
- ``mirror_entry``: ``mirror`` plus the registry's ``RemoteMachine`` and the clock
  tuple it holds (everything that exists once per mirror);
- ``node``: everything the node retains per mirror, per-peer data included (the
  ``RemotePeer``, its info and clocks records, decoded machine infos, rendezvous
  ring, registry dicts), amortised over the peer's machines.

The timing part applies clock updates: ``update_clock`` on one mirror (alternating
two vectors, the ``changed`` path) and ``Registry.apply_clocks`` of pre-decoded
records for one peer of ``--machines`` machines, one machine changing per record.
Results are merged into benchmarks/results/mirror_memory.json under ``--label``.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncmachine
from asyncmachine.machine import CompiledSchema
from asyncmachine.pubsub import TopicEvent
from asyncmachine.pubsub._registry import Registry
from asyncmachine.pubsub._schemas import SchemaCache, wire_schema
from asyncmachine.pubsub._topic import make_mirror
from asyncmachine.pubsub._wire import (
    MachineInfo,
    Record,
    clear_caches,
    decode_clocks_body,
    decode_info_body,
    encode_clocks_body,
    encode_info_body,
)
from asyncmachine.simulator._workload import SIM_SCHEMA, peer_id_for

RESULTS = Path(__file__).parent / "results" / "mirror_memory.json"
COMPILED = CompiledSchema(SIM_SCHEMA)
WIRE = wire_schema(COMPILED.schema, COMPILED.names)


def _ignore(_ev: TopicEvent) -> None:
    pass


def _clock(rng: random.Random) -> list[int]:
    """A plausible time vector: a few activations per state (ticks < 256)."""
    return [rng.randrange(0, 40) for _ in COMPILED.names]


def _records(peer: int, machines: int, rng: random.Random, seq: int = 1) -> tuple[Record, Record]:
    """(info, clocks) records of one simulated peer (ids as in the model backend)."""
    owner = peer_id_for(peer)
    infos = [MachineInfo(f"p{peer}-m{i}", WIRE, (), "") for i in range(machines)]
    info = encode_info_body(owner, 1, 1, infos, time=1)
    clocks = encode_clocks_body(owner, 1, seq, 1, [_clock(rng) for _ in range(machines)], time=1)
    sigs = rng.randbytes(64), rng.randbytes(64)  # kept with the records, as the node does
    return Record(owner, 1, 1, info, sigs[0]), Record(owner, 1, seq, clocks, sigs[1])


def _traced(fn: Callable[[], object]) -> tuple[int, object, tracemalloc.Snapshot]:
    """Bytes retained by what ``fn`` builds (after emptying the decode caches)."""
    gc.collect()
    clear_caches()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    keep = fn()
    clear_caches()
    gc.collect()
    size = tracemalloc.get_traced_memory()[0] - base
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()
    return size, keep, snap


def _top_lines(snap: tracemalloc.Snapshot, per: int, n: int = 10) -> dict[str, float]:
    root = str(Path(asyncmachine.__file__).resolve().parents[1]) + "/"
    out: dict[str, float] = {}
    for st in snap.statistics("lineno")[:n]:
        fr = st.traceback[0]
        out[f"{fr.filename.replace(root, '')}:{fr.lineno}"] = round(st.size / per, 1)
    return out


def measure_node(peers: int, machines: int) -> dict[str, Any]:
    """Bytes per mirror: the mirror alone, with its registry entry, and the whole node."""
    rng = random.Random(1)
    mirrors = peers * machines

    def receive() -> Registry:
        reg = Registry("me", make_mirror, SchemaCache(), _ignore)
        for p in range(1, peers + 1):
            info, clocks = _records(p, machines, rng)
            reg.apply_info(info, decode_info_body(info.body), 1.0)
            reg.apply_clocks(clocks, decode_clocks_body(clocks.body), 1.0)
        return reg

    node, reg, snap = _traced(receive)
    assert isinstance(reg, Registry) and reg.mirror_count == mirrors
    # the same mirrors again, from infos and clocks decoded before tracing starts
    infos = [MachineInfo(f"p{i}-m0", WIRE, (), "") for i in range(mirrors)]
    ticks = [tuple(_clock(rng)) for _ in range(mirrors)]

    def make() -> list[object]:
        out: list[object] = [None] * mirrors  # its 56 + 8 x mirrors bytes are subtracted
        for i, info in enumerate(infos):
            m = make_mirror(COMPILED, info)
            m.update_clock(ticks[i])
            out[i] = m
        return out

    holder_bytes = 56 + 8 * mirrors
    mirror, _, _ = _traced(make)
    entry = _entry_bytes(reg)
    return {
        "peers": peers,
        "machines": machines,
        "mirrors": mirrors,
        "mirror": round((mirror - holder_bytes) / mirrors, 1),
        "mirror_entry": round((mirror - holder_bytes) / mirrors + entry, 1),
        "node": round(node / mirrors, 1),
        "top_lines": _top_lines(snap, mirrors, 16),
    }


def _entry_bytes(reg: Registry) -> float:
    """Mean bytes of a RemoteMachine and of the decoded clock tuple it holds (a mirror
    either copies it, counted in ``mirror``, or shares it)."""
    rms = list(reg.machines())
    return sum(sys.getsizeof(rm) + sys.getsizeof(rm.clock) for rm in rms) / len(rms)


def time_updates(machines: int, rounds: int) -> dict[str, float]:
    """ns per ``update_clock`` and per ``Registry.apply_clocks`` (best of 7: a shared machine)."""
    rng = random.Random(2)
    mirror = make_mirror(COMPILED, MachineInfo("p0-m0", WIRE, (), ""))
    a, b = tuple(_clock(rng)), tuple(_clock(rng))

    def updates() -> float:
        t0 = time.perf_counter_ns()
        for _ in range(rounds // 2):
            mirror.update_clock(a)
            mirror.update_clock(b)
        return (time.perf_counter_ns() - t0) / rounds

    reg = Registry("me", make_mirror, SchemaCache(), _ignore)
    info, clocks = _records(1, machines, rng)
    reg.apply_info(info, decode_info_body(info.body), 1.0)
    cur = [list(c) for c in decode_clocks_body(clocks.body).clocks]
    recs = []
    for seq in range(2, rounds + 2):
        cur[seq % machines][2] += 1  # Baz (multi): one machine changes per record
        body = encode_clocks_body(peer_id_for(1), 1, seq, 1, cur, time=1)
        recs.append((Record(peer_id_for(1), 1, seq, body, b""), decode_clocks_body(body)))

    def applies() -> float:
        reg.remove_peer(peer_id_for(1), "bench", 1.0, tombstone=False)
        reg.apply_info(info, decode_info_body(info.body), 1.0)
        t0 = time.perf_counter_ns()
        for rec, body in recs:
            reg.apply_clocks(rec, body, 1.0)
        return (time.perf_counter_ns() - t0) / len(recs)

    return {
        "update_clock_ns": round(min(updates() for _ in range(7))),
        "apply_clocks_ns": round(min(applies() for _ in range(7))),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--peers", type=int, default=1000)
    p.add_argument("--machines", type=int, default=3)
    p.add_argument("--rounds", type=int, default=20_000, help="clock updates timed")
    p.add_argument("--label", default="after", help="key in the results file")
    p.add_argument("--out", type=Path, default=RESULTS)
    a = p.parse_args()
    row = {**measure_node(a.peers, a.machines), **time_updates(a.machines, a.rounds)}
    print(json.dumps(row, indent=1), flush=True)
    doc = json.loads(a.out.read_text()) if a.out.exists() else {}
    doc[a.label] = row
    if "before" in doc and "after" in doc:
        doc["saved"] = {
            k: round(1 - doc["after"][k] / doc["before"][k], 3)
            for k in ("mirror", "mirror_entry", "node")
        }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
