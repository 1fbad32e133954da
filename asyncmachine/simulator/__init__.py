"""Simulator and benchmarks of asyncmachine pubsub networks on many virtual peers.

Backends: ``model`` (the real Topic code on a seeded in-memory gossipsub-like
network, virtual time) and ``libp2p`` (real py-libp2p hosts on loopback TCP,
sharded over OS processes). See docs/simulator.md.
"""

from pathlib import Path

from ._bench import MATRICES, run_bench
from ._config import BACKENDS, PROBE_TIMINGS, TOPOLOGIES, ConfigError, SimConfig, default_procs
from ._plots import write_plots
from ._report import print_report, write_csv, write_json
from ._resources import HostMemory, estimate_memory, host_memory
from ._schema import REPORT_SCHEMA, validate


def run(cfg: SimConfig, progress: object = None, graph: Path | None = None) -> dict[str, object]:
    """Run a scenario on its backend and return the report dict; ``graph``: where to write
    the final network graph (JSON, or GraphML for ``.graphml``) as one peer sees it."""
    if cfg.backend == "model":
        from ._runner_model import run_model

        return run_model(cfg, progress, graph)  # type: ignore[arg-type]
    from ._runner_libp2p import run_libp2p

    return run_libp2p(cfg, progress, graph)  # type: ignore[arg-type]


__all__ = [
    "BACKENDS",
    "MATRICES",
    "PROBE_TIMINGS",
    "REPORT_SCHEMA",
    "TOPOLOGIES",
    "ConfigError",
    "HostMemory",
    "SimConfig",
    "default_procs",
    "estimate_memory",
    "host_memory",
    "print_report",
    "run",
    "run_bench",
    "validate",
    "write_csv",
    "write_json",
    "write_plots",
]
