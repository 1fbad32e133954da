"""Liveness: keepalive and timeout grow with the network; links records are paced."""

from __future__ import annotations

import dataclasses
import random

from asyncmachine.pubsub import MemoryNetwork
from asyncmachine.pubsub._engine import Liveness

from .engine_kit import Owner, feed, registry
from .helpers import FAST


def test_periods_grow_with_known_peers() -> None:
    s = dataclasses.replace(FAST, keepalive=5.0, keepalive_per_peer=2.0, keepalive_max=7.0)
    reg = registry("me")
    lv = Liveness(s, reg)
    assert lv.periods() == (5.0, s.peer_timeout)
    net = MemoryNetwork()
    for i in range(4):
        feed(reg, Owner(net, f"peer-{i}"))
    assert lv.periods() == (7.0, max(s.peer_timeout, 21.0))  # capped by keepalive_max


def test_gossip_when_quiet_for_a_keepalive() -> None:
    reg = registry("me")
    lv = Liveness(FAST, reg)
    rng = random.Random(0)
    assert not lv.gossip_due(100.0, 0.0, 5.0, rng)  # nobody to gossip with
    feed(reg, Owner(MemoryNetwork(), "peer-a"))
    assert lv.gossip_due(100.0, 0.0, 5.0, rng)  # one peer: probability 1


def test_links_records_are_paced() -> None:
    s = dataclasses.replace(FAST, links_interval=30.0, links_refresh=120.0)
    lv = Liveness(s, registry("me"))
    a = (("x",), ("x",))
    assert lv.links_due(0.0, a)  # the first one at once
    assert not lv.links_due(1.0, a)  # unchanged: never again
    b = (("x", "y"), ("x",))
    assert not lv.links_due(10.0, b) and lv.links_due(30.0, b)  # connections changed
    mesh_only = (("x", "y"), ("y",))
    assert not lv.links_due(100.0, mesh_only) and lv.links_due(150.0, mesh_only)
    assert lv.links_refresh() == 120.0


def test_links_records_are_spaced_by_network_size() -> None:
    s = dataclasses.replace(FAST, links_interval=30.0, links_interval_per_peer=0.5)
    reg = registry("me")
    for i in range(100):
        feed(reg, Owner(MemoryNetwork(), f"peer-{i}"))
    lv = Liveness(s, reg)
    assert lv.links_due(0.0, (("x",), ("x",)))
    b = (("x", "y"), ("x",))
    assert not lv.links_due(30.0, b) and lv.links_due(50.0, b)  # 100 peers x 0.5 s
