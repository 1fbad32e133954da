"""``asyncmachine sim``: simulate a network of peers and report discovery, sync and traffic.

Ctrl-C stops the run and still prints and writes the report of what was measured so
far, marked partial (exit 130).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from asyncmachine.simulator import (
    BACKENDS,
    PROBE_TIMINGS,
    TOPOLOGIES,
    ConfigError,
    SimConfig,
    default_procs,
)

from ._paths import unwritable_dir, unwritable_file


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {s!r}") from None
    return v


def _float(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None


def _watermarks(s: str) -> tuple[int, int]:
    low, sep, high = s.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(low), int(high)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW:HIGH (two integers), got {s!r}") from None


_HALFWAY = object()
"""``--kill-bootstrap`` without a time: halfway through the mutation phase."""


def add_scenario_args(p: argparse.ArgumentParser) -> None:
    """The scenario flags (shared with ``bench``)."""
    d = SimConfig(procs=1)
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=d.backend,
        help="model: in-memory gossip in virtual time; libp2p: real hosts on TCP",
    )
    p.add_argument("--peers", type=_positive_int, default=d.peers, help="peers (default 20)")
    p.add_argument(
        "--machines", type=_positive_int, default=d.machines, help="machines per peer (default 3)"
    )
    p.add_argument("--seed", type=_positive_int, default=d.seed, help="RNG seed (default 1)")
    p.add_argument(
        "--duration", type=_float, default=d.duration, help="seconds of mutations (default 60)"
    )
    p.add_argument(
        "--settle",
        type=_float,
        default=d.settle,
        help="max seconds to wait for convergence afterwards (default 30)",
    )
    p.add_argument(
        "--mutation-rate",
        type=_float,
        default=d.mutation_rate,
        help="mutations per second over the whole network (default 2)",
    )
    p.add_argument(
        "--topology",
        choices=TOPOLOGIES,
        default=d.topology,
        help="managed (peers bootstrap from peer 0, connection managers build the graph; "
        "default), or a fixed graph: random (degree-k), line or full",
    )
    p.add_argument(
        "--degree",
        type=_positive_int,
        default=d.degree,
        help="mean degree of the random topology (default 4)",
    )
    p.add_argument(
        "--connections",
        type=_watermarks,
        default=(d.conn_low, d.conn_high),
        metavar="LOW:HIGH",
        help="connection manager watermarks on the managed topology (model; default 4:12)",
    )
    p.add_argument(
        "--kill-bootstrap",
        type=_float,
        nargs="?",
        const=_HALFWAY,
        default=None,
        metavar="AT",
        help="kill peer 0 abruptly (no bye) at AT s (model; default: halfway through --duration)",
    )
    p.add_argument(
        "--partition",
        type=_float,
        default=d.partition,
        metavar="SECONDS",
        help="split the peers into two halves for SECONDS, then join them (model)",
    )
    p.add_argument(
        "--partition-at",
        type=_float,
        default=None,
        metavar="AT",
        help="when the --partition begins (default: a quarter into --duration)",
    )
    p.add_argument(
        "--churn",
        type=_float,
        default=d.churn,
        help="peers leaving (and joining) per minute (model; default 0)",
    )
    p.add_argument(
        "--loss",
        type=_float,
        default=d.loss,
        help="per-link message loss probability 0..1 (model; default 0)",
    )
    p.add_argument(
        "--latency",
        type=_float,
        default=d.latency_ms,
        help="one-way link latency in ms (model; default 20)",
    )
    p.add_argument(
        "--jitter",
        type=_float,
        default=d.jitter_ms,
        help="+- uniform link jitter in ms (model; default 5)",
    )
    p.add_argument(
        "--mesh-degree",
        type=_positive_int,
        default=d.mesh_degree,
        help="gossip mesh degree D (default 6)",
    )
    p.add_argument(
        "--procs",
        type=_positive_int,
        default=default_procs(),
        help="OS processes for the libp2p backend (default: cores)",
    )
    p.add_argument(
        "--probe-rate",
        type=_float,
        default=d.probe_rate,
        help="raw gossipsub probes per second over the network (libp2p; default 2)",
    )
    p.add_argument(
        "--warmup",
        type=_float,
        default=d.warmup,
        help="libp2p: wait for full discovery and a quiet network, at most SECONDS, before "
        "mutations and probes start (default 0: they start with the hosts, as users mutate "
        "whenever they like)",
    )
    p.add_argument(
        "--probe-timing",
        choices=PROBE_TIMINGS,
        default=d.probe_timing,
        help="libp2p: 'paired' (default) sends each probe from a mutating host right after "
        "its mutation (raw and sync sample the same moments); 'independent': at Poisson "
        "instants of their own",
    )
    p.add_argument(
        "--stages",
        action="store_true",
        help="libp2p: split the slowest 2 %% of sync deliveries into stages (push wait, "
        "superseded, transit) and compare raw probes of the same moments (report: stages)",
    )


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """Build (and validate) the scenario; raises ConfigError."""
    kill = args.kill_bootstrap
    return SimConfig(
        backend=args.backend,
        peers=args.peers,
        machines=args.machines,
        seed=args.seed,
        duration=args.duration,
        settle=args.settle,
        mutation_rate=args.mutation_rate,
        topology=args.topology,
        degree=args.degree,
        churn=args.churn,
        loss=args.loss,
        latency_ms=args.latency,
        jitter_ms=args.jitter,
        mesh_degree=args.mesh_degree,
        procs=args.procs,
        probe_rate=args.probe_rate,
        warmup=args.warmup,
        stages=args.stages,
        probe_timing=args.probe_timing,
        conn_low=args.connections[0],
        conn_high=args.connections[1],
        kill_bootstrap_at=args.duration / 2 if kill is _HALFWAY else kill,
        partition=args.partition,
        partition_at=args.partition_at,
    )


@contextmanager
def progress_bar(enabled: bool, label: str) -> Iterator[Callable[[float, float, str], None] | None]:
    """A rich progress bar on stderr; when stderr is no TTY (a log, a pipe), one line per
    phase instead (``asyncmachine sim: mutating``); None when disabled."""
    if not enabled:
        yield None
        return
    if not sys.stderr.isatty():
        yield _phase_lines()
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as prog:
        task = prog.add_task(label, total=1.0)

        def update(done: float, total: float, phase: str) -> None:
            prog.update(task, completed=done, total=total, description=f"{label} {phase}")

        yield update


def _phase_lines() -> Callable[[float, float, str], None]:
    """A progress callback printing each new phase once (what a log or a test can wait on)."""
    last = [""]

    def update(done: float, total: float, phase: str) -> None:
        name = phase.split()[0]  # "discovering 40 %" -> "discovering"
        if name != last[0]:
            last[0] = name
            print(f"asyncmachine sim: {name}", file=sys.stderr, flush=True)

    return update


def check_outputs(args: argparse.Namespace) -> str | None:
    """Why an output path cannot be written (checked before the run), or None."""
    for flag in ("json", "csv", "graph"):
        path = getattr(args, flag)
        why = unwritable_file(Path(path)) if path else None
        if why:
            return f"--{flag}: {why}"
    why = unwritable_dir(Path(args.plots)) if args.plots else None
    return f"--plots: {why}" if why else None


def check_memory(cfg: SimConfig) -> str | None:
    """Why the run would not fit in this machine's memory (see estimate_memory), or None."""
    from asyncmachine.simulator import estimate_memory, host_memory

    need, host = estimate_memory(cfg), host_memory()
    if host is None or need <= host.available:
        return None
    gb = 1e9
    return (
        f"{cfg.backend} run of {cfg.peers} peers x {cfg.machines} machines needs about "
        f"{need / gb:.1f} GB of memory; this machine has {host.available / gb:.1f} GB "
        f"available of {host.total / gb:.1f} GB (fewer --peers or --machines, or --force)"
    )


def run_and_report(cfg: SimConfig, args: argparse.Namespace) -> dict[str, Any]:
    """Run one scenario with a progress bar; write the requested outputs (also of a run
    that Ctrl-C ended: its report says ``partial``)."""
    from rich.console import Console

    from asyncmachine.simulator import print_report, run, write_csv, write_json

    with progress_bar(not args.quiet, f"{cfg.backend} {cfg.peers}x{cfg.machines}") as prog:
        doc = run(cfg, prog, Path(args.graph) if args.graph else None)
    if not args.quiet or not args.json:
        print_report(doc, Console())
    if args.json:
        write_json(doc, Path(args.json))
    if args.csv:
        write_csv(doc, Path(args.csv))
    if args.plots:
        from asyncmachine.simulator import write_plots

        write_plots([doc], Path(args.plots))
    return doc


def _error(msg: str) -> int:
    print(f"asyncmachine sim: error: {msg}", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace) -> int:
    try:
        cfg = config_from_args(args)
    except ConfigError as e:
        return _error(str(e))
    problem = check_outputs(args) or (None if args.force else check_memory(cfg))
    if problem:
        return _error(problem)
    try:
        doc = run_and_report(cfg, args)
    except ConfigError as e:
        return _error(str(e))
    except MemoryError:
        print("asyncmachine sim: failed: out of memory", file=sys.stderr)
        return 1
    except RuntimeError as e:
        print(f"asyncmachine sim: failed: {e}", file=sys.stderr)
        return 1
    if doc["partial"]:
        print("asyncmachine sim: interrupted: the report is partial", file=sys.stderr)
        return 130
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "sim",
        help="simulate a network of peers (default: 20 peers x 3 machines, 60 s, model backend)",
        description=__doc__,
    )
    add_scenario_args(p)
    p.add_argument("--json", metavar="PATH", help="write the JSON report (docs/simulator.md)")
    p.add_argument("--csv", metavar="PATH", help="write the time series as CSV")
    p.add_argument("--plots", metavar="DIR", help="write PNG plots into DIR")
    p.add_argument(
        "--graph",
        metavar="PATH",
        help="write the final network graph as one peer sees it (node-link JSON, "
        "or GraphML for a .graphml path; read it with `asyncmachine graph "
        "--load`)",
    )
    p.add_argument(
        "--quiet", action="store_true", help="no progress bar (and no table with --json)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="run even when the estimated memory exceeds what this machine has available",
    )
    p.set_defaults(run=_run)
