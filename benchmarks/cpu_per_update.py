"""CPU per received update on a real py-libp2p host, split by who spends it.

A publisher (a child process, so its CPU is not counted) exposes ``--machines``
machines and mutates the first at ``--rate`` mutations per second; its outgoing updates
limit is raised so that every mutation can go out as an updates message of its own. A
received update is one applied clocks record (one updates message, one mirror change;
when the publisher falls behind, one record carries several mutations). A receiving
peer (a session: one process with its publisher) measures ``--windows`` pairs of:

- an unprofiled window of ``--window`` seconds: ``time.process_time()`` per received
  update (``cpu_us``), and the part of it spent inside the project's receive path,
  timed at the entry points py-libp2p and the Topic call (``own_timed_us``,
  :data:`OWN_ENTRIES`), garbage collections left out of it and timed on their own
  (``gc_us``);
- a cProfile (CPU-time clock) of ``--profile-window`` seconds, its exclusive time
  split into buckets by the module of each function, less the profiler's own cost per
  call (the profiled time above the unprofiled figure, spread over every call).
  Functions that belong to no bucket (builtins, C extensions such as cbor2 and PyNaCl,
  the stdlib) are charged to their callers, pro rata, so the ed25519 check of a record
  counts as the project's "verify" and that of a libp2p message as py-libp2p's
  "signatures". Machine code is split into the mirror update (everything under
  ``ReadOnlyMachine.update_clock``) and the Topic machine's own state changes. The
  profiled shares are scaled to the unprofiled CPU figure. The profiled windows also
  count Trio task steps (scheduler passes) per update (``task_steps``): py-libp2p's locks
  and reads make them, and each costs the scheduler's bookkeeping.

``--runs`` sessions per code tree; with ``--before-tree DIR`` (another checkout's
``asyncmachine`` package, e.g. ``git archive <commit> asyncmachine | tar -x -C DIR``)
its sessions alternate with this checkout's, so load on the machine hits both alike.
Everything is reported in µs per received update, as medians over all windows.

Usage::

    .venv/bin/python benchmarks/cpu_per_update.py                    # this checkout
    .venv/bin/python benchmarks/cpu_per_update.py --before-tree /tmp/before --runs 5

Prints a table per tree and writes JSON (default: benchmarks/results/cpu_per_update.json;
other labels already in the file are kept).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import trio
from _trees import alternate, merge_json, run_session, trees

from asyncmachine import Machine, State
from asyncmachine.pubsub import Topic, TopicSettings, open_topic
from asyncmachine.pubsub._engine import Engine
from asyncmachine.pubsub.libp2p import Libp2pTransport

try:
    from asyncmachine.pubsub._libp2p_validation import TopicValidation

    _VALIDATOR: tuple[type, str] = (TopicValidation, "_validate")
except ImportError:  # an older tree (--before-tree): the validator was the transport's
    _VALIDATOR = (Libp2pTransport, "_validate")

SCHEMA = {"Foo": State(require=["Bar"]), "Bar": State(), "Baz": State(multi=True)}
TOPIC = "am-cpu"

Func = tuple[str, int, str]

OWN = "own"
LIB = "py-libp2p"
RUNTIME = "runtime"

# bucket -> side; the order is the table's
BUCKETS: dict[str, str] = {
    "wire decode": OWN,
    "verify": OWN,
    "validate (gate)": OWN,
    "engine intake": OWN,
    "registry": OWN,
    "mirror update": OWN,
    "topic machine states": OWN,
    "events": OWN,
    "transport glue": OWN,
    "own other": OWN,
    "gossipsub/pubsub": LIB,
    "signatures (libp2p)": LIB,
    "noise": LIB,
    "yamux/mplex": LIB,
    "protobuf": LIB,
    "multiaddr/peer ids": LIB,
    "libp2p other": LIB,
    "trio/runtime": RUNTIME,
    "socket syscalls": RUNTIME,
    "unattributed": RUNTIME,
}

_OWN_FILES = (
    ("asyncmachine/pubsub/_wire/", "wire decode"),
    ("asyncmachine/pubsub/_engine/_validate.py", "validate (gate)"),
    ("asyncmachine/pubsub/_engine/", "engine intake"),
    ("asyncmachine/pubsub/_outcomes.py", "engine intake"),
    ("asyncmachine/pubsub/_ratelimit.py", "engine intake"),
    ("asyncmachine/pubsub/_admission.py", "engine intake"),
    ("asyncmachine/pubsub/_wallclock.py", "engine intake"),
    ("asyncmachine/pubsub/_registry.py", "registry"),
    ("asyncmachine/pubsub/_remote.py", "registry"),
    ("asyncmachine/pubsub/_rendezvous.py", "registry"),
    ("asyncmachine/pubsub/_schemas.py", "registry"),
    ("asyncmachine/pubsub/_events.py", "events"),
    ("asyncmachine/pubsub/_topic.py", "events"),
    ("asyncmachine/pubsub/_waits.py", "events"),
    ("asyncmachine/pubsub/_libp2p_", "transport glue"),
    ("asyncmachine/pubsub/_connect", "transport glue"),
    ("asyncmachine/machine/", "topic machine states"),
    ("asyncmachine/", "own other"),
)
_LIB_FILES = (
    ("libp2p/pubsub/", "gossipsub/pubsub"),
    ("libp2p/crypto/", "signatures (libp2p)"),
    ("libp2p/peer/envelope", "signatures (libp2p)"),
    ("libp2p/peer/peer_record", "signatures (libp2p)"),
    ("libp2p/security/", "noise"),
    ("/noise/", "noise"),
    ("libp2p/stream_muxer/", "yamux/mplex"),
    ("google/protobuf/", "protobuf"),
    ("_pb2.py", "protobuf"),
    ("multiaddr/", "multiaddr/peer ids"),
    ("multihash/", "multiaddr/peer ids"),
    ("base58/", "multiaddr/peer ids"),
    ("varint", "multiaddr/peer ids"),
    ("libp2p/peer/", "multiaddr/peer ids"),
    ("libp2p/", "libp2p other"),
    ("trio/", "trio/runtime"),
    ("outcome/", "trio/runtime"),
    ("sniffio/", "trio/runtime"),
    ("anyio/", "trio/runtime"),
    ("selectors.py", "trio/runtime"),
    ("socket.py", "trio/runtime"),
)
_SOCKET_CALLS = {
    "<method 'send' of '_socket.socket' objects>",
    "<method 'recv' of '_socket.socket' objects>",
    "<method 'recv_into' of '_socket.socket' objects>",
    "<method 'poll' of 'select.epoll' objects>",
}
_OWN_FUNCS = {"verify": "verify", "verify_key_of": "verify"}
"""Functions of the transport glue that are the project's signature check."""


def _file_bucket(func: Func) -> str | None:
    """The bucket of a function by its file (None: charge it to its callers)."""
    path = func[0].replace(os.sep, "/")
    if path == "~" and func[2] in _SOCKET_CALLS:
        return "socket syscalls"
    if path == "~" or "/site-packages/nacl/" in path:
        return None
    if "benchmarks/cpu_per_update.py" in path:
        return "unattributed"
    if "site-packages" not in path and "asyncmachine/" in path:
        for prefix, bucket in _OWN_FILES:
            if prefix in path:
                if bucket == "transport glue" and func[2] in _OWN_FUNCS:
                    return _OWN_FUNCS[func[2]]
                return bucket
    for part, bucket in _LIB_FILES:
        if part in path:
            return bucket
    return None


def overhead_per_call(stats: pstats.Stats, real_cpu: float) -> float:
    """The profiler's own cost per call event: the profiled time above ``real_cpu``
    (the same work measured without the profiler), spread over every call."""
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    profiled = sum(v[2] for v in raw.values())
    calls = sum(v[1] for v in raw.values())
    return max(0.0, (profiled - real_cpu) / calls) if calls else 0.0


def attribute(stats: pstats.Stats, per_call: float = 0.0) -> dict[str, float]:
    """Exclusive seconds per bucket (see the module docstring), each function's time
    less ``per_call`` seconds of profiler overhead per call (a function making many
    cheap calls is otherwise charged for the profiler's work)."""
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    memo: dict[Func, dict[str, float]] = {}

    def shares(func: Func, depth: int) -> dict[str, float]:
        if func in memo:
            return memo[func]
        bucket = _file_bucket(func)
        if bucket is not None:
            memo[func] = {bucket: 1.0}
            return memo[func]
        memo[func] = {"unattributed": 1.0}  # a cycle: provisional
        callers = raw[func][4] if func in raw else {}
        total = sum(v[2] + 1e-9 * v[1] for v in callers.values())
        if depth > 40 or not callers or total <= 0:
            return memo[func]
        out: dict[str, float] = defaultdict(float)
        for caller, v in callers.items():
            w = (v[2] + 1e-9 * v[1]) / total
            for b, s in shares(caller, depth + 1).items():
                out[b] += w * s
        memo[func] = dict(out)
        return memo[func]

    result: dict[str, float] = defaultdict(float)
    machine_raw = 0.0
    for func, (_cc, nc, tt, _ct, _callers) in raw.items():
        shared = shares(func, 0)
        for b, s in shared.items():
            result[b] += max(0.0, tt - nc * per_call) * s
        machine_raw += tt * shared.get("topic machine states", 0.0)
    # the mirror update: everything under update_clock, taken out of the machine bucket
    # (its cumulative time, less overhead in the proportion of the machine code's)
    mirror = sum(
        v[3]
        for f, v in raw.items()
        if f[2] == "update_clock" and f[0].replace(os.sep, "/").endswith("machine/_mirror.py")
    )
    machine = result.get("topic machine states", 0.0)
    mirror = min(mirror * machine / machine_raw if machine_raw else 0.0, machine)
    result["mirror update"] += mirror
    result["topic machine states"] -= mirror
    return dict(result)


# --- publisher (child process) ------------------------------------------------


def _unlimited() -> TopicSettings:
    """Default settings without the updates rate limits (one push per mutation; a
    backlog drained in a burst after a profiled window must not count as a flood)."""
    s = TopicSettings()
    out = {**s.rates.out, "updates": 100_000}
    incoming = {**s.rates.incoming, "updates": 100_000}
    return replace(s, rates=replace(s.rates, out=out, incoming=incoming))


async def publisher(machines: int) -> None:
    """Expose machines, print the addresses, mutate on ``go RATE``, exit on EOF."""
    machs = [Machine(SCHEMA, id=f"src-m{j}") for j in range(machines)]
    settings = _unlimited()
    async with open_topic(TOPIC, expose=machs, settings=settings, shutdown_grace=0.05) as t:
        print(json.dumps(t.addrs()), flush=True)
        cmd = await trio.to_thread.run_sync(sys.stdin.readline)
        rate = float(cmd.split()[1])
        async with trio.open_nursery() as nursery:

            async def mutate() -> None:
                start, k = trio.current_time(), 0
                while True:
                    machs[0].add1("Baz")  # one mirror changes per update, however
                    # many mutations it carries
                    k += 1
                    await trio.sleep_until(start + k / rate)

            nursery.start_soon(mutate)
            await trio.to_thread.run_sync(sys.stdin.readline)  # EOF or "stop"
            nursery.cancel_scope.cancel()


# --- receiver (this process) ----------------------------------------------------

OWN_ENTRIES = (
    _VALIDATOR,  # the topic validator: glue + Engine.validate
    (Libp2pTransport, "_on_message"),  # a delivery handed to the Topic's channel
    (Engine, "on_message"),  # decode, verify, apply, mirror, events
    (Engine, "heartbeat"),
)
"""Where py-libp2p (or the Topic's receive loop) calls the project's receive path."""


class EntryTimer:
    """CPU time spent inside :data:`OWN_ENTRIES` (none calls another): the project's
    own share measured without a profiler (each call adds ~1 µs of timer calls).
    Garbage collections are timed on their own (:attr:`gc_seconds`) and left out of
    the entries they interrupt: a full collection walks every object of the process
    (py-libp2p's included) and lands in whichever code allocated last, tens of ms in
    one window."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.gc_seconds = 0.0
        """CPU time of every garbage collection, inside entries or not."""
        self._gc_t0 = 0.0
        self.by_entry: dict[str, list[float]] = {}
        """Seconds and calls per entry point."""

    def install(self) -> None:
        for cls, name in OWN_ENTRIES:
            setattr(cls, name, self._wrap(getattr(cls, name), f"{cls.__name__}.{name}"))
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_t0 = time.process_time()
        else:
            self.gc_seconds += time.process_time() - self._gc_t0

    def _wrap(self, fn: Any, name: str) -> Any:
        clock = time.process_time
        acc = self.by_entry[name] = [0.0, 0]

        def timed(*args: Any) -> Any:
            gc0 = self.gc_seconds
            t0 = clock()
            try:
                return fn(*args)
            finally:
                dt = clock() - t0 - (self.gc_seconds - gc0)
                self.seconds += dt
                acc[0] += dt
                acc[1] += 1

        return timed


TIMER = EntryTimer()


class TaskSteps(trio.abc.Instrument):
    """Counts Trio task steps while ``on`` (only in profiled windows: the unprofiled CPU
    figure carries no instrument cost)."""

    def __init__(self) -> None:
        self.on = False
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if self.on:
            self.steps += 1


STEPS = TaskSteps()


async def _window(topic: Topic, seconds: float, prof: cProfile.Profile | None) -> dict[str, Any]:
    m = topic.metrics
    rec0, upd0, rej0 = m.records_applied, m.clock_updates, sum(m.rejected.values())
    own0, gc0 = TIMER.seconds, TIMER.gc_seconds
    entries0 = {k: tuple(v) for k, v in TIMER.by_entry.items()}
    c0, w0, steps0 = time.process_time(), time.monotonic(), STEPS.steps
    if prof is not None:
        STEPS.on = True
        prof.enable()
    await trio.sleep(seconds)
    if prof is not None:
        prof.disable()
        STEPS.on = False
    cpu, wall = time.process_time() - c0, time.monotonic() - w0
    records = m.records_applied - rec0
    if m.rejected:
        raise RuntimeError(f"records were rejected: {dict(m.rejected)}")
    return {
        "updates": records,
        "mirror_changes": m.clock_updates - upd0,
        "rejected": sum(m.rejected.values()) - rej0,
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_us": 1e6 * cpu / max(records, 1),
        "own_timed_us": 1e6 * (TIMER.seconds - own0) / max(records, 1),
        "gc_us": 1e6 * (TIMER.gc_seconds - gc0) / max(records, 1),
        "own_entries": {
            k: {
                "us_per_update": 1e6 * (v[0] - entries0[k][0]) / max(records, 1),
                "calls": v[1] - entries0[k][1],
            }
            for k, v in TIMER.by_entry.items()
        },
        "updates_per_s": records / wall,
        "task_steps": (STEPS.steps - steps0) / max(records, 1),
    }


async def session(args: argparse.Namespace) -> dict[str, Any]:
    """One receiver with its own publisher: ``--windows`` pairs of an unprofiled and a
    profiled window; the profiles are attributed here (see :func:`attribute`)."""
    cmd = [sys.executable, __file__, "--role", "publisher", "--machines", str(args.machines)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    plain: list[dict[str, Any]] = []
    profiled: list[dict[str, Any]] = []
    try:
        addrs = json.loads(await trio.to_thread.run_sync(proc.stdout.readline))
        async with open_topic(
            TOPIC, bootstrap=addrs, settings=_unlimited(), shutdown_grace=0.05
        ) as topic:
            with trio.fail_after(60):
                await topic.wait_machines(args.machines)
            proc.stdin.write(f"go {args.rate}\n")
            proc.stdin.flush()
            await trio.sleep(args.warmup)
            for _ in range(args.windows):
                plain.append(await _window(topic, args.window, None))
                # CPU time, not wall time: other processes preempting this one must not
                # inflate whichever function was running
                prof = cProfile.Profile(time.process_time)
                row = await _window(topic, args.profile_window, prof)
                stats = pstats.Stats(prof)
                if args.dump:
                    stats.dump_stats(f"{args.dump}.{os.getpid()}.{len(profiled)}")
                real = statistics.median(r["cpu_us"] for r in plain) * 1e-6 * row["updates"]
                per_call = overhead_per_call(stats, real)
                row["overhead_per_call_us"] = per_call * 1e6
                row["buckets_s"] = attribute(stats, per_call)
                profiled.append(row)
                await _drained(topic, args.rate)
            proc.stdin.write("stop\n")
            proc.stdin.flush()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    return {"plain": plain, "profiled": profiled}


def _session_args(args: argparse.Namespace) -> list[str]:
    out = [
        *("--rate", str(args.rate), "--machines", str(args.machines)),
        *("--window", str(args.window), "--profile-window", str(args.profile_window)),
        *("--warmup", str(args.warmup), "--windows", str(args.windows)),
    ]
    return [*out, "--dump", args.dump] if args.dump else out


async def _drained(topic: Topic, rate: float) -> None:
    """Wait (up to 20 s) until the backlog a profiled window left is processed: two
    half seconds in a row with no more updates than the publisher's rate brings."""
    quiet = 0
    with trio.move_on_after(20):
        while quiet < 2:
            before = topic.metrics.records_applied
            await trio.sleep(0.5)
            quiet = quiet + 1 if topic.metrics.records_applied - before <= 0.6 * rate else 0


def summarize(args: argparse.Namespace, sessions: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over every window of ``sessions``: CPU per update without profiler, and
    the profiled buckets' shares of it."""
    plain = [w for s in sessions for w in s["plain"]]
    profiled = [w for s in sessions for w in s["profiled"]]
    cpu_us = statistics.median(r["cpu_us"] for r in plain)
    per_run: list[dict[str, float]] = []
    for r in profiled:
        total = sum(r["buckets_s"].values())
        per_run.append(
            {b: cpu_us * r["buckets_s"].get(b, 0.0) / total if total else 0.0 for b in BUCKETS}
        )
    buckets = {b: statistics.median(run[b] for run in per_run) for b in BUCKETS}
    sides = {
        side: statistics.median(
            sum(v for b, v in run.items() if BUCKETS[b] == side) for run in per_run
        )
        for side in (OWN, LIB, RUNTIME)
    }
    return {
        "rate": args.rate,
        "machines": args.machines,
        "window_s": args.window,
        "sessions": len(sessions),
        "cpu_us_per_update": cpu_us,
        "profiled_cpu_us_per_update": statistics.median(r["cpu_us"] for r in profiled),
        "own_timed_us_per_update": statistics.median(r["own_timed_us"] for r in plain),
        "gc_us_per_update": statistics.median(r.get("gc_us", 0.0) for r in plain),
        "updates_per_s": statistics.median(r["updates_per_s"] for r in plain),
        "task_steps_per_update": statistics.median(r["task_steps"] for r in profiled),
        "sides_us": sides,
        "buckets_us": buckets,
        "windows": {"plain": plain, "profiled": profiled},
    }


def show(label: str, res: dict[str, Any]) -> None:
    print(
        f"[{label}] {res['updates_per_s']:.0f} updates/s received: "
        f"{res['cpu_us_per_update']:.0f} µs CPU per update without profiler "
        f"({res['profiled_cpu_us_per_update']:.0f} profiled)"
    )
    print(f"  own code timed at its entry points: {res['own_timed_us_per_update']:.0f} µs")
    print(f"  garbage collection (anywhere): {res['gc_us_per_update']:.0f} µs")
    print(f"  Trio task steps per update: {res['task_steps_per_update']:.1f}")
    for side, v in res["sides_us"].items():
        print(f"  {side:<28} {v:8.0f} µs")
    for b, v in res["buckets_us"].items():
        print(f"    {BUCKETS[b]:<9} {b:<24} {v:8.1f} µs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--role", choices=["driver", "session", "publisher"], default="driver")
    ap.add_argument("--rate", type=float, default=100.0, help="mutations per second")
    ap.add_argument("--machines", type=int, default=3, help="machines of the publisher")
    ap.add_argument("--window", type=float, default=4.0, help="seconds per unprofiled window")
    ap.add_argument("--profile-window", type=float, default=2.0, help="seconds per profiled window")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--windows", type=int, default=2, help="window pairs per session")
    ap.add_argument("--runs", type=int, default=4, help="sessions per code tree")
    ap.add_argument(
        "--before-tree",
        help="a directory holding another asyncmachine package (e.g. an older commit's); "
        "its sessions alternate with this checkout's and are labelled 'before'",
    )
    ap.add_argument("--label", default="after", help="label of this checkout's results")
    ap.add_argument("--dump", help="also write each profile to DUMP.<pid>.<n> (pstats)")
    ap.add_argument(
        "--json",
        type=Path,
        default=Path(__file__).parent / "results" / "cpu_per_update.json",
    )
    args = ap.parse_args()
    if args.role == "publisher":
        trio.run(publisher, args.machines)
        return
    if args.role == "session":
        TIMER.install()
        print(json.dumps(trio.run(session, args, instruments=[STEPS])))
        return
    sessions = alternate(
        args.runs,
        trees(args.label, args.before_tree),
        lambda tree: run_session(__file__, _session_args(args), tree),
    )
    results = {label: summarize(args, got) for label, got in sessions.items()}
    for label, res in results.items():
        show(label, res)
    merge_json(args.json, results)


if __name__ == "__main__":
    main()
