"""``asyncmachine submit``: send jobs to a kind of worker found in the topic, print results.

    asyncmachine submit --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3... --kind sq --jobs 100

Job ``i`` gets the input ``{"n": i}`` merged with ``--args`` (a JSON object). One line
per result as it arrives (``result <job> ok|failed <worker> <json>``), then a summary.
Dial every node that runs workers (repeat ``--bootstrap``): remote calls need a direct connection.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from asyncmachine.rpc import JobResult

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _error(text: str) -> int:
    sys.stderr.write(f"asyncmachine submit: error: {' '.join(text.split())}\n")
    return EXIT_BAD_INPUT


def _line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _print(r: JobResult) -> None:
    body = json.dumps(r.output if r.ok else r.error, default=str)
    _line(f"result {r.job} {'ok' if r.ok else 'failed'} {r.worker} {body}")


async def submit(args: argparse.Namespace, extra: dict[str, Any]) -> int:
    from asyncmachine.pubsub import MachineFilter, open_topic
    from asyncmachine.rpc import JobSettings, run_jobs, worker_tag

    async with open_topic(args.topic, bootstrap=args.bootstrap) as topic:
        with trio.move_on_after(args.timeout) as cs:
            flt = MachineFilter(tags=[worker_tag(args.kind)])
            found = await topic.wait_machines(args.min_workers, flt)
            _line(f"submit: {len(found)} workers of kind {args.kind}")
            inputs = [{**extra, "n": i} for i in range(args.jobs)]
            t0 = time.perf_counter()
            settings = JobSettings(concurrency=args.concurrency)
            results, stats = await run_jobs(topic, args.kind, inputs, settings, on_result=_print)
            took = time.perf_counter() - t0
        if cs.cancelled_caught:
            sys.stderr.write(f"asyncmachine submit: error: timed out after {args.timeout:g}s\n")
            return EXIT_FAILED
    failed = sum(not r.ok for r in results)
    rate = len(results) / took if took > 0 else math.inf
    _line(
        f"submit: {len(results)} jobs, {len(results) - failed} ok, {failed} failed, "
        f"{stats.retries} retries, {stats.duplicates} duplicates, "
        f"{stats.lost_workers} lost workers, {stats.refused_claims} refused claims, "
        f"{took:.2f}s, {rate:.1f} jobs/s"
    )
    return EXIT_FAILED if failed else EXIT_OK


def _run(args: argparse.Namespace) -> int:
    if not args.bootstrap:
        return _error("give at least one --bootstrap multiaddr")
    if args.jobs < 1 or args.min_workers < 1 or args.concurrency < 0:
        return _error("--jobs and --min-workers must be >= 1, --concurrency >= 0")
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        return _error(f"--timeout must be > 0, got {args.timeout}")
    try:
        extra = json.loads(args.args)
    except ValueError as e:
        return _error(f"--args is not JSON: {e}")
    if not isinstance(extra, dict):
        return _error("--args must be a JSON object")
    from asyncmachine.pubsub.libp2p import parse_bootstrap_addrs

    try:
        parse_bootstrap_addrs(list(args.bootstrap))
    except (ValueError, TypeError) as e:
        return _error(str(e))
    from asyncmachine.rpc import RemoteError

    try:
        return trio.run(submit, args, extra)
    except ConnectionError as e:
        return _error(str(e))
    except RemoteError as e:  # e.g. denied: this peer may not use these workers
        sys.stderr.write(f"asyncmachine submit: error: {e}\n")
        return EXIT_FAILED


def add_parser(sub: Any) -> None:
    from asyncmachine.node import DEFAULT_TOPIC

    p = sub.add_parser(
        "submit",
        help="send jobs to workers of a kind and print the results",
        description=__doc__,
        epilog="exit codes: 0 every job succeeded, 1 some failed (or timed out), 2 bad input",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--bootstrap",
        action="append",
        metavar="MULTIADDR",
        help="a node's full multiaddr (.../p2p/ID); repeat it for every node with workers",
    )
    p.add_argument(
        "--topic", default=DEFAULT_TOPIC, metavar="NAME", help=f"(default: {DEFAULT_TOPIC})"
    )
    p.add_argument("--kind", required=True, help="the workers' kind (node --workers KIND=...)")
    p.add_argument("--jobs", type=int, default=10, metavar="N", help="jobs to send (default 10)")
    p.add_argument("--args", default="{}", metavar="JSON", help="extra input of every job")
    p.add_argument(
        "--min-workers", type=int, default=1, metavar="M", help="wait for M workers first"
    )
    p.add_argument(
        "--concurrency", type=int, default=0, metavar="C", help="jobs in flight (0: workers found)"
    )
    p.add_argument("--timeout", type=float, default=300.0, metavar="S", help="give up after S")
    p.set_defaults(run=_run)
