"""What a young, idle network costs: CPU and Topic messages with nobody mutating.

A session (one process) starts ``--peers`` real py-libp2p hosts on loopback, each
exposing ``--machines`` machines; each dials the first host and up to two random earlier
ones (as tests/pubsub/test_scale.py). Once every host lists every remote machine, it
measures ``--windows`` windows of ``--window`` seconds: the process's CPU time per
second of wall time (cores) and the Topic messages all hosts published, by type. Nothing
is mutated: what is measured is the network's own upkeep while its connection managers
still build the graph (exploratory dials, trims), the first minute of every network,
and what every update sent then competes with.

With ``--before-tree DIR`` (another checkout's ``asyncmachine`` package, e.g. ``git
archive <commit> asyncmachine | tar -x -C DIR``) sessions of the two trees alternate,
``--runs`` each. Prints medians per tree and writes JSON (default
benchmarks/results/idle_network.json; other labels in the file are kept).

Usage::

    .venv/bin/python benchmarks/idle_network.py
    .venv/bin/python benchmarks/idle_network.py --before-tree /tmp/before --runs 3
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import trio
from _trees import alternate, merge_json, run_session, trees

RESULTS = Path(__file__).parent / "results" / "idle_network.json"


async def session(peers: int, machines: int, windows: int, window: float) -> dict[str, Any]:
    """One network: time to discovery, then per window CPU cores and messages by type."""
    from asyncmachine import Machine, State
    from asyncmachine.pubsub import Topic, TopicSettings, open_topic

    rng = random.Random(5)
    settings = TopicSettings(hello_delay=0.5, hello_retry=5.0)
    schema = {"Foo": State(require=["Bar"]), "Bar": State(), "Baz": State(multi=True)}
    t0 = time.monotonic()
    async with AsyncExitStack() as stack:
        topics: list[Topic] = []
        for i in range(peers):
            boot = topics[0].addrs() if topics else []
            for j in rng.sample(range(1, i), min(2, max(0, i - 1))) if i > 1 else []:
                boot += topics[j].addrs()
            expose = [Machine(dict(schema), id=f"p{i}-m{k}") for k in range(machines)]
            topic = open_topic(
                "am-idle", bootstrap=boot, expose=expose, settings=settings, shutdown_grace=0.05
            )
            topics.append(await stack.enter_async_context(topic))
        want = (peers - 1) * machines
        with trio.fail_after(300):
            while not all(len(t.list_machines()) == want for t in topics):
                await trio.sleep(0.1)
        discovered = time.monotonic() - t0
        out: list[dict[str, Any]] = []
        for _ in range(windows):
            sent0 = sum((Counter(t.metrics.sent_by_type) for t in topics), Counter())
            c0, w0 = time.process_time(), time.monotonic()
            await trio.sleep(window)
            wall = time.monotonic() - w0
            sent = sum((Counter(t.metrics.sent_by_type) for t in topics), Counter()) - sent0
            out.append(
                {
                    "cores": (time.process_time() - c0) / wall,
                    "msgs_per_s": sum(sent.values()) / wall,
                    "by_type_per_s": {k: v / wall for k, v in sorted(sent.items())},
                }
            )
        return {"discovery_s": discovered, "windows": out}


def summarize(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    wins = [w for s in sessions for w in s["windows"]]
    types = sorted({k for w in wins for k in w["by_type_per_s"]})
    return {
        "sessions": len(sessions),
        "discovery_s": statistics.median(s["discovery_s"] for s in sessions),
        "cores": statistics.median(w["cores"] for w in wins),
        "msgs_per_s": statistics.median(w["msgs_per_s"] for w in wins),
        "by_type_per_s": {
            k: statistics.median(w["by_type_per_s"].get(k, 0.0) for w in wins) for k in types
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--role", choices=["driver", "session"], default="driver")
    ap.add_argument("--peers", type=int, default=20)
    ap.add_argument("--machines", type=int, default=3)
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--window", type=float, default=10.0, help="seconds per window")
    ap.add_argument("--runs", type=int, default=3, help="sessions per code tree")
    ap.add_argument("--before-tree", help="another asyncmachine package, labelled 'before'")
    ap.add_argument("--label", default="after", help="label of this checkout's results")
    ap.add_argument("--json", type=Path, default=RESULTS)
    args = ap.parse_args()
    if args.role == "session":
        res = trio.run(session, args.peers, args.machines, args.windows, args.window)
        print(json.dumps(res))
        return
    argv = ["--peers", str(args.peers), "--machines", str(args.machines)]
    argv += ["--windows", str(args.windows), "--window", str(args.window)]
    got = alternate(
        args.runs,
        trees(args.label, args.before_tree),
        lambda tree: run_session(__file__, argv, tree),
    )
    results = {label: summarize(sessions) for label, sessions in got.items()}
    for label, res in results.items():
        types = ", ".join(f"{k} {v:.2f}" for k, v in res["by_type_per_s"].items())
        print(
            f"{label:>7}: {res['cores']:.2f} cores, {res['msgs_per_s']:.2f} Topic msgs/s "
            f"({types}); discovery {res['discovery_s']:.1f} s; {res['sessions']} sessions"
        )
    merge_json(args.json, results)


if __name__ == "__main__":
    main()
