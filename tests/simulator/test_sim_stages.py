"""``--stages``: the workload-start flags and the stage breakdown of slow updates."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
import trio
from trio.testing import MockClock

from asyncmachine.cli import main as cli_main
from asyncmachine.cli._sim import add_scenario_args, config_from_args
from asyncmachine.simulator import SimConfig
from asyncmachine.simulator._config import ConfigError
from asyncmachine.simulator._runner_libp2p import QUIET_S, quiet_start_due
from asyncmachine.simulator._shard import PAIR_AFTER_S, Shard
from asyncmachine.simulator._stages import stage_breakdown


def _cfg(*argv: str) -> SimConfig:
    p = argparse.ArgumentParser()
    add_scenario_args(p)
    return config_from_args(p.parse_args(list(argv)))


def test_the_workload_starts_with_the_hosts_unless_a_warmup_is_asked_for() -> None:
    cfg = _cfg("--backend", "libp2p")
    assert cfg.warmup == 0 and not cfg.stages  # from the first mutation, by default
    assert quiet_start_due(cfg, discovered=False, quiet_for=0.0, since_t0=0.0)
    quiet = _cfg("--backend", "libp2p", "--warmup", "300", "--stages")
    assert quiet.warmup == 300 and quiet.stages
    assert not quiet_start_due(quiet, discovered=False, quiet_for=10.0, since_t0=100.0)
    assert not quiet_start_due(quiet, discovered=True, quiet_for=QUIET_S / 2, since_t0=100.0)
    assert quiet_start_due(quiet, discovered=True, quiet_for=QUIET_S, since_t0=100.0)
    assert quiet_start_due(quiet, discovered=False, quiet_for=0.0, since_t0=300.0)


def test_stages_is_a_libp2p_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="--stages"):
        SimConfig(backend="model", stages=True)
    assert cli_main(["sim", "--stages", "--quiet"]) == 2
    assert "--stages is only supported on the libp2p backend" in capsys.readouterr().err


def _logs() -> list[dict[str, Any]]:
    """Peer 0 mutates its machine three times; peer 1 receives, peers 1 and 2 get probes.

    Mutation 1 at 10.0: pushed at 10.001, received from its owner at 10.021.
    Mutation 2 at 20.0: pushed at 20.3 (0.25 s behind an answer), the push's copy lost;
    mutation 3 at 20.9 is pushed at 21.0 and that record, relayed, covers both (21.02)."""
    return [
        {
            "events": [
                ["d", 1.0, 1, 0, 0],
                ["m", 10.0, 0, 0, 2],
                ["m", 20.0, 0, 0, 3],
                ["m", 20.9, 0, 0, 4],
            ],
            "work": [
                [0, "PUSH", 10.0, 10.001, 10.002],
                [0, "ANSWER", 20.0, 20.0, 20.25],
                [0, "PUSH", 20.0, 20.3, 20.301],
                [0, "PUSH", 21.0, 21.0, 21.001],
            ],
            "stages": [
                ["s", 10.021, 1, 0, 0, 2, 10.001, 10.024, True],
                ["s", 21.02, 1, 0, 0, 4, 21.0, 21.022, False],
            ],
            "probe_peers": [1, 2],
            "probe_at": [[10.03], [20.2]],
            "probes": [[0.02], [0.1]],
        }
    ]


def test_stage_breakdown_splits_the_slowest_updates() -> None:
    st = stage_breakdown(_logs(), start=0.0, peers=3, tail=0.3)
    assert st["deliveries"] == 3  # mutations 1, 2 and 3 at peer 1
    assert st["tail_count"] == 1
    tail = st["tail_mean_ms"]
    # the slowest (mutation 2, 1.02 s): 300 ms waiting for its push, 700 ms until a
    # later record covered it, 20 ms on the way
    assert tail["push_wait"] == pytest.approx(300.0)
    assert tail["superseded"] == pytest.approx(700.0)
    assert tail["transit"] == pytest.approx(20.0)
    assert tail["apply"] == pytest.approx(2.0)
    assert st["tail_superseded"] == 1 and st["tail_relayed"] == 1 and st["all_relayed"] == 2
    assert st["tail_waited_behind_ms"] == {"ANSWER": pytest.approx(250.0)}
    # the probe sent at 20.1 (near mutation 2) reached one of its two receivers
    assert st["probes_sent_near_tail"]["probes"] == 1
    assert st["probes_sent_near_tail"]["missing"] == 1
    assert st["later_ms"]["sync"]["count"] == 3 and st["early_ms"]["sync"]["count"] == 0


def test_paired_probes_leave_with_mutations(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cfg("--backend", "libp2p").probe_timing == "paired"
    assert _cfg("--backend", "libp2p", "--probe-timing", "independent").probe_timing == (
        "independent"
    )
    # paired: at most one probe per mutation
    with pytest.raises(ConfigError, match=r"--probe-rate .* must be <= --mutation-rate"):
        SimConfig(backend="libp2p", mutation_rate=1.0, probe_rate=2.0)
    SimConfig(backend="libp2p", mutation_rate=1.0, probe_rate=2.0, probe_timing="independent")
    with pytest.raises(SystemExit):
        cli_main(["sim", "--backend", "libp2p", "--probe-timing", "sometimes"])
    assert "--probe-timing" in capsys.readouterr().err


async def test_a_paired_probe_leads_or_follows_the_push(autojump_clock: MockClock) -> None:
    sent: list[float] = []

    class Probe:
        async def send_probe(self, idx: int) -> None:
            sent.append(trio.current_time())

    shard = Shard(SimConfig(backend="libp2p", peers=2, procs=1), 0)
    shard.transports = {0: Probe()}  # type: ignore[dict-item]
    t0 = trio.current_time()
    await shard._paired_probe(0, first=True)  # at once: the push runs after this task yields
    await shard._paired_probe(0, first=False)  # once the push went out
    assert [t - t0 for t in sent] == pytest.approx([0.0, PAIR_AFTER_S])
