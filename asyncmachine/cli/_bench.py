"""``asyncmachine bench``: run a matrix of simulations and write a markdown report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._paths import unwritable_dir


def _run(args: argparse.Namespace) -> int:
    from asyncmachine.simulator import MATRICES, ConfigError, run_bench

    if args.matrix not in MATRICES:
        print(f"asyncmachine bench: error: unknown matrix {args.matrix!r}", file=sys.stderr)
        return 2
    why = unwritable_dir(Path(args.out))
    if why:
        print(f"asyncmachine bench: error: --out: {why}", file=sys.stderr)
        return 2
    try:
        path = run_bench(
            args.matrix, Path(args.out), quiet=args.quiet, procs=args.procs, seed=args.seed
        )
    except ConfigError as e:
        print(f"asyncmachine bench: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def add_parser(sub: Any) -> None:
    from asyncmachine.simulator import default_procs

    p = sub.add_parser(
        "bench", help="run a matrix of simulations, write a markdown report", description=__doc__
    )
    p.add_argument(
        "--matrix",
        default="default",
        help="default (libp2p 10/25/50, model 100/1000), quick, or model",
    )
    p.add_argument("--out", default="bench-results", help="output directory")
    p.add_argument("--procs", type=int, default=default_procs(), help="libp2p processes")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=_run)
