"""Where the time of the slowest updates goes (``asyncmachine sim --stages``, libp2p).

With ``--stages`` each shard logs, besides its usual events, every run of its peers'
outgoing work (``[peer, work, due, started, ended]``, from the engine's
:data:`~asyncmachine.pubsub._engine.RunTracer`) and every mirror clock change with the
owner's signing stamp and the time it was applied (``["s", received, receiver, owner,
index, clock sum, stamp, applied]``); raw probes are logged with their receive times.
:func:`stage_breakdown` matches each sync delivery (the first mirror clock at a
receiver covering a mutation, as the :class:`Recorder` counts it) to the owner's push
that carried it and splits its latency into stages:

- ``push_wait``: mutation -> the owner's push ran and signed its record (push delay,
  work ahead of it in the one sender task, a busy event loop);
- ``superseded``: the push's copy never reached this receiver; a later record (a
  later push, signed later) covered the mutation: the wait for that record;
- ``transit``: signing -> received (publish, gossipsub hops, receive loops: what a raw
  probe's latency measures).

Two more times overlap or follow these: ``publish`` (the push's ``publish`` call,
py-libp2p writing to its mesh peers; part of ``transit``) and ``apply`` (received ->
mirror updated: queue, decode, verify, apply, observers; after the latency, which ends
at receipt like a probe's).

Raw probes received by the same peer within :data:`NEAR_S` of a tail delivery show
whether the network itself was slow at that moment.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from typing import Any

from ._metrics import percentile

NEAR_S = 0.5
"""Raw probes received within this many seconds of a delivery count as "same moment"."""

STAGES = ("push_wait", "superseded", "transit")
"""The latency stages, in order (they add up to the latency)."""

EARLY_S = 5.0
"""Updates and probes sent before this many seconds into the run count as "early"."""

SAME_RECORD_S = 0.002
"""Stamp and push start closer than this are the same record (stamps are whole ms)."""

_PUSHES = ("PUSH", "KEEPALIVE")


def _mean_ms(vals: list[float]) -> float:
    return round(1000.0 * sum(vals) / len(vals), 3) if vals else 0.0


def _deliveries(logs: list[dict[str, Any]]) -> list[tuple[float, int, int, list[float]]]:
    """``(t0, receiver, owner, [received, stamp, applied, from the owner])`` per delivery,
    matched like :meth:`Recorder.on_clock` (mutations before discovery not expected)."""
    muts: dict[tuple[int, int], list[tuple[float, int]]] = defaultdict(list)
    disc: dict[tuple[int, int, int], float] = {}
    for lg in logs:
        for e in lg["events"]:
            if e[0] == "m":
                muts[(e[2], e[3])].append((e[1], e[4]))
            elif e[0] == "d":
                k = (e[2], e[3], e[4])
                disc[k] = min(disc.get(k, math.inf), e[1])
    for lst in muts.values():
        lst.sort()
    changes: dict[tuple[int, int, int], list[list[float]]] = defaultdict(list)
    for lg in logs:
        for s in lg.get("stages", ()):
            changes[(s[2], s[3], s[4])].append([s[1], s[5], s[6], s[7], s[8]])
    out: list[tuple[float, int, int, list[float]]] = []
    for (r, o, i), seen in changes.items():
        seen.sort()
        d = disc.get((r, o, i), math.inf)
        lst = [m for m in muts.get((o, i), []) if m[0] >= d]
        j = 0
        for at, total, stamp, applied, direct in seen:
            while j < len(lst) and lst[j][1] <= total:
                out.append((lst[j][0], r, o, [at, stamp, applied, direct]))
                j += 1
    return out


def _runs(logs: list[dict[str, Any]]) -> dict[int, list[list[Any]]]:
    """Each peer's work runs, by start time."""
    runs: dict[int, list[list[Any]]] = defaultdict(list)
    for lg in logs:
        for w in lg.get("work", ()):
            runs[w[0]].append(w)
    for lst in runs.values():
        lst.sort(key=lambda w: w[3])
    return runs


def _probes_near(logs: list[dict[str, Any]]) -> dict[int, tuple[list[float], list[float]]]:
    """Per receiving peer: raw probe receive times (sorted) and their latencies."""
    out: dict[int, tuple[list[float], list[float]]] = {}
    for lg in logs:
        for idx, at, lat in zip(lg["probe_peers"], lg["probe_at"], lg["probes"], strict=True):
            pairs = sorted(zip(at, lat, strict=True))
            out[idx] = ([p[0] for p in pairs], [p[1] for p in pairs])
    return out


def stage_breakdown(
    logs: list[dict[str, Any]], start: float, peers: int, tail: float = 0.02
) -> dict[str, Any]:
    """The ``stages`` report section: mean ms per stage over all deliveries and over
    the slowest ``tail`` share, how the tail's updates travelled, what their pushes
    waited behind, and raw probes at the same receivers and moments."""
    runs = _runs(logs)
    pushes = {p: [w for w in ws if w[1] in _PUSHES] for p, ws in runs.items()}
    starts = {p: [w[3] for w in ws] for p, ws in pushes.items()}
    rows: list[tuple[float, dict[str, float], int, float, bool]] = []
    behind: dict[int, dict[str, float]] = {}
    for t0, r, o, (at, stamp, applied, direct) in _deliveries(logs):
        k = bisect.bisect_left(starts.get(o, []), t0)
        if k == len(starts.get(o, [])):
            continue  # the push is not in the log (run stopped first)
        push = pushes[o][k]
        st = {
            "push_wait": push[3] - t0,
            "superseded": 0.0,
            "transit": at - push[3],
            "publish": push[4] - push[3],
            "apply": applied - at,
        }
        if stamp > push[3] + SAME_RECORD_S:
            st["superseded"] = stamp - push[3]
            st["transit"] = at - stamp
        rows.append((at - t0, st, r, at, bool(direct)))
        behind[len(rows) - 1] = _waited_behind(runs.get(o, []), t0, push[3])
    rows_sorted = sorted(range(len(rows)), key=lambda x: rows[x][0])
    n_tail = max(1, math.ceil(tail * len(rows))) if rows else 0
    tail_ix = rows_sorted[len(rows) - n_tail :]
    probes = _probes_near(logs)
    near: list[float] = []
    for x in tail_ix:
        _, _, r, at, _ = rows[x]
        times, lats = probes.get(r, ([], []))
        lo, hi = bisect.bisect_left(times, at - NEAR_S), bisect.bisect_right(times, at + NEAR_S)
        near.extend(lats[lo:hi])
    waited: dict[str, float] = defaultdict(float)
    for x in tail_ix:
        for kind, secs in behind[x].items():
            waited[kind] += secs
    all_probes = sorted(v for _, lats in probes.values() for v in lats)
    near.sort()
    sent = [
        (at - lat - start, lat)
        for times, lats in probes.values()
        for at, lat in zip(times, lats, strict=True)
    ]
    early = {
        "sync": _split([(rows[x][3] - rows[x][0] - start, rows[x][0]) for x in rows_sorted]),
        "raw": _split(sent),
    }
    return {
        "deliveries": len(rows),
        "tail_share": tail,
        "tail_count": n_tail,
        "tail_min_ms": round(1000.0 * rows[tail_ix[0]][0], 3) if tail_ix else 0.0,
        "all_mean_ms": _stage_means([rows[x][1] for x in rows_sorted]),
        "tail_mean_ms": _stage_means([rows[x][1] for x in tail_ix]),
        "tail_superseded": sum(1 for x in tail_ix if rows[x][1]["superseded"] > 0),
        "tail_relayed": sum(1 for x in tail_ix if not rows[x][4]),
        "all_relayed": sum(1 for r in rows if not r[4]),
        "tail_received_at_s": _spread_s([rows[x][3] - start for x in tail_ix]),
        "tail_waited_behind_ms": {
            k: round(1000.0 * v / max(1, n_tail), 3) for k, v in sorted(waited.items())
        },
        "probes_near_tail_ms": _summary(near),
        "probes_sent_near_tail": _sent_near(
            sent, [rows[x][3] - rows[x][0] - start for x in tail_ix], peers
        ),
        "probes_all_ms": _summary(all_probes),
        "early_s": EARLY_S,
        "early_ms": {k: v[0] for k, v in early.items()},
        "later_ms": {k: v[1] for k, v in early.items()},
    }


def _sent_near(sent: list[tuple[float, float]], moments: list[float], peers: int) -> dict[str, Any]:
    """Raw probes sent within :data:`NEAR_S` of the tail's mutations: their latencies
    and how many of their deliveries never happened (gossipsub does not repair a
    message lost before the mesh formed; an update is repaired and counts, late)."""
    marks = sorted(moments)
    near = [
        (t, lat)
        for t, lat in sent
        if (k := bisect.bisect_left(marks, t - NEAR_S)) < len(marks) and marks[k] <= t + NEAR_S
    ]
    probes = len({round(t, 5) for t, _ in near})  # one send time per probe, in every copy
    out: dict[str, Any] = _summary([lat for _, lat in near])
    out["probes"] = probes
    out["missing"] = probes * (peers - 1) - len(near)
    return out


def _summary(vals: list[float]) -> dict[str, float]:
    v = sorted(vals)
    return {
        "count": len(v),
        "p50": round(1000.0 * percentile(v, 50), 3),
        "p99": round(1000.0 * percentile(v, 99), 3),
    }


def _split(sent_lat: list[tuple[float, float]]) -> tuple[dict[str, float], dict[str, float]]:
    """Latency summaries of what was sent before :data:`EARLY_S` and after."""
    return (
        _summary([lat for t, lat in sent_lat if t < EARLY_S]),
        _summary([lat for t, lat in sent_lat if t >= EARLY_S]),
    )


def _waited_behind(runs: list[list[Any]], t0: float, started: float) -> dict[str, float]:
    """Seconds of the owner's other work that ran between the mutation and its push."""
    out: dict[str, float] = defaultdict(float)
    for w in runs:
        if w[3] >= started:
            break
        overlap = min(w[4], started) - max(w[3], t0)
        if overlap > 0:
            out[w[1]] += overlap
    return out


def _stage_means(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: _mean_ms([r[k] for r in rows]) for k in (*STAGES, "publish", "apply")}


def _spread_s(vals: list[float]) -> dict[str, float]:
    v = sorted(vals)
    return {q: round(percentile(v, p), 3) for q, p in (("p10", 10), ("p50", 50), ("p90", 90))}
