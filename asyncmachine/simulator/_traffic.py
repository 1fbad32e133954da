"""Traffic sections of the report: bandwidth per peer, gossipsub control traffic and the
mesh over time, the cost of churn and loss, and the libp2p shards' traffic samples.

What each backend sees:

- model: every hop on a link (sent by a peer: its own messages, forwards and gossip
  repairs; received: every copy, duplicates too), losses and repairs (an IHAVE/IWANT
  exchange that sent the message);
- libp2p: what the Topics published and received, per peer; the control messages
  (IHAVE/IWANT/GRAFT/PRUNE) each peer's router sent and the other authors' messages it
  forwarded (``asyncmachine.pubsub._gossip_counters``, in the shards' ``counters``); the
  mesh size of every peer is sampled every half second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ._metrics import percentile


class LinkTraffic(Protocol):
    """One model peer's link counters (``_model_net.PeerTraffic``)."""

    sent: int
    bytes_sent: int
    received: int
    duplicates: int
    lost: int
    repaired: int


def spread(vals: Sequence[float]) -> dict[str, float]:
    """mean / p50 / p99 / max of per-peer values (0 for none)."""
    v = sorted(float(x) for x in vals)
    if not v:
        return {"mean": 0.0, "p50": 0.0, "p99": 0.0, "max": 0.0}
    return {
        "mean": round(sum(v) / len(v), 3),
        "p50": percentile(v, 50),
        "p99": percentile(v, 99),
        "max": v[-1],
    }


def bandwidth(
    topic_metrics: Sequence[dict[str, Any]],
    link: Sequence[LinkTraffic] | None,
    counters: Sequence[Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """Per-peer spreads: ``published`` and ``received`` (Topic messages, both backends);
    ``link_sent`` (own + forwarded + repair hops) and ``link_received`` (every copy) on the
    model, null on libp2p; ``forwarded`` (copies of other authors' messages sent on, from
    the libp2p peers' transport ``counters``) on libp2p, null on the model."""

    def pair(msgs: list[int], nbytes: list[int] | None) -> dict[str, Any]:
        return {"messages": spread(msgs), "bytes": None if nbytes is None else spread(nbytes)}

    out: dict[str, Any] = {
        "peers": len(topic_metrics),
        "published": pair(
            [int(m["msgs_sent"]) for m in topic_metrics],
            [int(m["bytes_sent"]) for m in topic_metrics],
        ),
        "received": pair(
            [int(m["msgs_received"]) for m in topic_metrics],
            [int(m.get("bytes_received", 0)) for m in topic_metrics],
        ),
        "forwarded": None,
        "link_sent": None,
        "link_received": None,
    }
    if link is not None:
        out["link_sent"] = pair([t.sent for t in link], [t.bytes_sent for t in link])
        out["link_received"] = pair([t.received for t in link], None)
    if counters is not None:
        out["forwarded"] = pair(
            [c["forwarded"] for c in counters], [c["bytes_forwarded"] for c in counters]
        )
    return out


def control(
    link: Sequence[LinkTraffic] | None, counters: Sequence[Mapping[str, int]] | None = None
) -> dict[str, Any]:
    """Gossipsub control traffic where the backend sees it: the model's gossip repairs
    (IHAVE answered by IWANT, then the message); on libp2p the IHAVE/IWANT/GRAFT/PRUNE
    entries all peers' routers sent (from their transport ``counters``), and the RPCs
    py-libp2p dropped because a neighbour's 32-deep send queue was full
    (``outbound_dropped``: on CPU-bound hosts, message copies lost silently); null where
    nothing counts it."""

    def sent(kind: str) -> int | None:
        return None if counters is None else sum(c[f"{kind}_sent"] for c in counters)

    return {
        "repairs": None if link is None else sum(t.repaired for t in link),
        "ihave": sent("ihave"),
        "iwant": sent("iwant"),
        "graft": sent("graft"),
        "prune": sent("prune"),
        "outbound_dropped": (
            None if counters is None else sum(c["outbound_dropped"] for c in counters)
        ),
    }


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 6) if whole > 0 else None


def costs(traffic: dict[str, Any]) -> dict[str, Any]:
    """The price of churn and loss, per delivery: duplicate records per record delivered
    (Topic level, both backends: churn re-sends what peers already hold), and on the
    model duplicate copies per first copy, lost hops per hop and the repair share (gossip
    repairs per first copy: what loss costs in IHAVE/IWANT round trips)."""
    out: dict[str, Any] = {
        "duplicates_per_delivery": _share(traffic["duplicates"], traffic.get("deliveries", 0)),
        "link_duplicates_per_delivery": None,
        "lost_share": None,
        "repair_share": None,
    }
    link = traffic.get("link")
    if link:
        firsts = link["received"] - link["duplicates"]
        out["link_duplicates_per_delivery"] = _share(link["duplicates"], firsts)
        out["lost_share"] = _share(link["lost"], link["hops"])
        out["repair_share"] = _share(link["repaired"], firsts)
    return out


class ShardTraffic:
    """The libp2p shards' ``traffic`` samples (``[t, sent, bytes, received, [mesh]]``),
    summed over shards at increasing times: the report's time series and mesh sizes."""

    def __init__(self, logs: Sequence[dict[str, Any]]) -> None:
        self._series = [lg.get("traffic", []) for lg in logs]
        self._pos = [-1] * len(self._series)
        self.mesh: list[list[float]] = []
        """``[t, min, p50, max]`` of the peers' mesh sizes at every :meth:`at` call."""

    def at(self, t: float, start: float) -> tuple[int, int, int]:
        """(sent, bytes, received) totals at ``t`` (each shard's last sample up to ``t``);
        records the mesh sizes of that instant (``t - start`` seconds into the run)."""
        sent = nbytes = received = 0
        meshes: list[float] = []
        for k, series in enumerate(self._series):
            p = self._pos[k]
            while p + 1 < len(series) and series[p + 1][0] <= t:
                p += 1
            self._pos[k] = p
            if p >= 0:
                _, s, b, r, mesh = series[p]
                sent, nbytes, received = sent + s, nbytes + b, received + r
                meshes += mesh
        if meshes:
            m = sorted(meshes)
            self.mesh.append([round(t - start, 3), m[0], percentile(m, 50), m[-1]])
        return sent, nbytes, received


__all__ = ["LinkTraffic", "ShardTraffic", "bandwidth", "control", "costs", "spread"]


def _trio(s: dict[str, float] | None, scale: float = 1.0, fmt: str = "{:.0f}") -> str:
    if s is None:
        return "-"
    return " / ".join(fmt.format(s[k] / scale) for k in ("p50", "p99", "max"))


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.2f} %"


def traffic_rows(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Console-table rows of the bandwidth spread, the costs and the control traffic."""
    bw, cost, ctl = doc["bandwidth"], doc["cost"], doc["traffic"]["control"]
    rows = [
        (
            "per peer published msgs p50/p99/max",
            _trio(bw["published"]["messages"]),
        ),
        (
            "per peer received msgs / KiB p50/p99/max",
            f"{_trio(bw['received']['messages'])}  |  "
            f"{_trio(bw['received']['bytes'], 1024, '{:.1f}')}",
        ),
    ]
    if bw["link_sent"] is not None:
        rows.append(
            (
                "per peer link sent msgs / KiB p50/p99/max",
                f"{_trio(bw['link_sent']['messages'])}  |  "
                f"{_trio(bw['link_sent']['bytes'], 1024, '{:.1f}')} (own + forwarded + repairs)",
            )
        )
    if bw["forwarded"] is not None:
        rows.append(
            (
                "per peer forwarded msgs / KiB p50/p99/max",
                f"{_trio(bw['forwarded']['messages'])}  |  "
                f"{_trio(bw['forwarded']['bytes'], 1024, '{:.1f}')}",
            )
        )
    dup = cost["duplicates_per_delivery"]
    rows.append(("duplicate records per delivery", "-" if dup is None else f"{dup:.3f}"))
    if cost["link_duplicates_per_delivery"] is not None:
        rows.append(
            (
                "link dup copies per delivery / lost / repair share",
                f"{cost['link_duplicates_per_delivery']:.3f} / {_pct(cost['lost_share'])} / "
                f"{_pct(cost['repair_share'])}",
            )
        )
    if ctl["repairs"] is not None:
        rows.append(("gossip repairs (IHAVE/IWANT)", str(ctl["repairs"])))
    if ctl["ihave"] is not None:
        rows.append(
            (
                "control sent IHAVE / IWANT / GRAFT / PRUNE",
                " / ".join(str(ctl[k]) for k in ("ihave", "iwant", "graft", "prune")),
            )
        )
    if ctl.get("outbound_dropped") is not None:
        rows.append(("RPCs dropped at full neighbour queues", str(ctl["outbound_dropped"])))
    return rows


__all__ += ["traffic_rows"]
