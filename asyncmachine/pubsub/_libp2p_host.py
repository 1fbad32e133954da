"""Building blocks for the py-libp2p transport: addresses, logs, a tuned host.

Tuned for libp2p==0.8.1 (the version pinned in pyproject.toml): ed25519 identity,
noise only, one connection per peer (no 250 ms dial stall), GossipSub meshsub 1.1/1.0
(no IDONTWANT), 1 s heartbeat, spam/adaptive/eclipse heuristics off, strict signing,
peer exchange on, own messages sent past an empty mesh (:mod:`._libp2p_flood`),
libp2p's own AutoConnector off (our connection manager dials), the
signed peer record of every RPC handled cheaply (:mod:`._libp2p_records`), the topic's
pubsub service amended (:mod:`._libp2p_pubsub`: buffered reads, coalesced writes, true
subscriptions), yamux receive credit returned once half the window is consumed
(:data:`YAMUX_RELEASE_ON_READ`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import multiaddr
import trio
from libp2p import new_swarm
from libp2p.abc import IHost
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as create_new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.kad_dht.kad_dht import DHTMode, KadDHT
from libp2p.network.config import ConnectionConfig
from libp2p.network.swarm import Swarm
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr
from libp2p.pubsub.gossipsub import PROTOCOL_ID, PROTOCOL_ID_V11
from libp2p.pubsub.pb import rpc_pb2
from libp2p.rcmgr import new_resource_manager
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport

from ._connect_gossip import NoAutoConnector, PeerExchangeGossipSub
from ._gossip_counters import GossipCountersMixin
from ._libp2p_flood import FloodPublishMixin
from ._libp2p_keys import check_ed25519
from ._libp2p_pubsub import TopicPubsub
from ._libp2p_records import AddrsCachingHost, RecordKeepingPeerStore
from ._libp2p_score import AppScore, Excuse, ExcusingScorer, NoValidationCache, score_params

logger = logging.getLogger(__name__)

YAMUX_RELEASE_ON_READ = "PY_YAMUX_RELEASE_ON_READ"
"""py-libp2p 0.8.1's yamux returns receive credit with a WINDOW_UPDATE frame after every
read by default: one frame back per pubsub RPC, which the sender must decrypt and parse
too. Hosts built here set it to ``0`` unless it is set already, for go-yamux's rule: an
update once half the window is consumed. About a fifth less CPU per received copy in a
50-host simulation (README, "CPU per received update"). py-libp2p reads the variable at
every read, so it applies process-wide."""

_LISTEN_HELP = "expected /ip4|ip6/<ip>/tcp/<port> or /ip4|ip6/<ip>/udp/<port>/quic-v1"


# --------------------------------------------------------------------------- addresses


def _parse_multiaddr(addr: object, what: str) -> multiaddr.Multiaddr:
    if not isinstance(addr, str) or not addr.strip():
        raise ValueError(f"bad {what} address {addr!r}: expected a multiaddr string")
    try:
        return multiaddr.Multiaddr(addr)
    except Exception as e:  # multiaddr raises several ValueError/TypeError flavours
        raise ValueError(f"bad {what} address {addr!r}: {e}") from None


def _check_sequence(addrs: Sequence[str], what: str) -> None:
    if isinstance(addrs, str | bytes):
        raise TypeError(f"{what} must be a sequence of multiaddr strings, not a single string")


def transport_of(maddr: multiaddr.Multiaddr) -> Literal["tcp", "quic"] | None:
    """Which of our transports ``maddr`` needs (None: one we do not support)."""
    names = {p.name for p in maddr.protocols()}
    if names & {"quic-v1", "quic"}:
        return "quic"
    if "tcp" in names and not names & {"ws", "wss"}:
        return "tcp"
    return None


def check_dialable(addr: str, info: PeerInfo, transports: set[str], what: str = "peer") -> None:
    """ValueError unless ``addr`` uses a transport we listen on (py-libp2p builds its
    transports from the listen addresses and can only dial over those)."""
    needed = transport_of(info.addrs[0])
    if needed not in transports:
        have = " and ".join(sorted(transports))
        raise ValueError(
            f"bad {what} address {addr!r}: needs {needed or 'an unsupported'} "
            f"transport, this host listens on {have} only"
        )


def parse_listen_addrs(listen: Sequence[str]) -> list[multiaddr.Multiaddr]:
    """Validate listen multiaddrs (TCP or QUIC, no ``/p2p``); ValueError names the bad one."""
    _check_sequence(listen, "listen")
    if not listen:
        raise ValueError("at least one listen address is required")
    out: list[multiaddr.Multiaddr] = []
    for addr in listen:
        maddr = _parse_multiaddr(addr, "listen")
        names = [p.name for p in maddr.protocols()]
        tcp = len(names) == 2 and names[1] == "tcp"
        quic = len(names) == 3 and names[1] == "udp" and names[2] in ("quic-v1", "quic")
        if names[:1] not in (["ip4"], ["ip6"]) or not (tcp or quic):
            raise ValueError(f"bad listen address {addr!r}: {_LISTEN_HELP}")
        out.append(maddr)
    return out


def parse_peer_addr(addr: str, what: str = "peer") -> PeerInfo:
    """Parse a full ``<transport>/p2p/<peer id>`` multiaddr; ValueError names the bad one."""
    maddr = _parse_multiaddr(addr, what)
    try:
        info = info_from_p2p_addr(maddr)
    except Exception as e:
        raise ValueError(f"bad {what} address {addr!r}: needs /p2p/<peer id> ({e})") from None
    if not info.addrs or not str(info.addrs[0]):
        raise ValueError(f"bad {what} address {addr!r}: no transport part before /p2p")
    return info


def parse_bootstrap_addrs(bootstrap: Sequence[str]) -> list[tuple[str, PeerInfo]]:
    """Validate bootstrap multiaddrs; returns ``(address, PeerInfo)`` pairs."""
    _check_sequence(bootstrap, "bootstrap")
    return [(addr, parse_peer_addr(addr, "bootstrap")) for addr in bootstrap]


# --------------------------------------------------------------------------- logging


class _RouteLibp2pLogs(logging.Handler):
    """Re-emits libp2p records at DEBUG on ``asyncmachine.libp2p`` (never on stderr)."""

    target = logging.getLogger("asyncmachine.libp2p")

    def emit(self, record: logging.LogRecord) -> None:
        if self.target.isEnabledFor(logging.DEBUG):
            try:
                msg = record.getMessage()
            except Exception:
                msg = str(record.msg)
            self.target.debug(
                "[%s %s] %s", record.levelname, record.name, msg, exc_info=record.exc_info
            )


def route_libp2p_logs() -> None:
    """Attach the libp2p → ``asyncmachine.libp2p`` log router once per process."""
    lib = logging.getLogger("libp2p")
    if not any(isinstance(h, _RouteLibp2pLogs) for h in lib.handlers):
        lib.addHandler(_RouteLibp2pLogs(logging.DEBUG))


# --------------------------------------------------------------------------- errors


def describe_error(exc: BaseException) -> str:
    """A short reason from the innermost cause / single group member of ``exc``."""
    while True:
        if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]
        elif exc.__cause__ is not None:
            exc = exc.__cause__
        else:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _is_harmless_teardown_error(exc: BaseException) -> bool:
    """libp2p 0.8.1's teardown race (notes §5 item 7): a stream reader spawning into a
    pubsub nursery that has already closed."""
    return isinstance(exc, RuntimeError) and "Nursery is closed to new arrivals" in str(exc)


def without_harmless_teardown_errors(
    group: BaseExceptionGroup[BaseException],
) -> BaseException | None:
    """``group`` minus harmless teardown errors; a lone remaining error is unwrapped."""
    harmless, rest = group.split(_is_harmless_teardown_error)
    if harmless is not None:
        logger.debug("ignored libp2p teardown errors: %r", harmless)
    if rest is None:
        return None
    leaves: list[BaseException] = []
    stack: list[BaseException] = [rest]
    while stack:
        exc = stack.pop()
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(exc.exceptions)
        else:
            leaves.append(exc)
    if len(leaves) == 1 or all(isinstance(e, trio.Cancelled) for e in leaves):
        return leaves[0]
    return rest


# --------------------------------------------------------------------------- host


def check_listening(host: IHost, listen_addrs: Sequence[multiaddr.Multiaddr]) -> None:
    """Raise OSError naming each listen address the host failed to bind (libp2p only logs)."""
    listening = host.get_network().listeners
    failed = [str(a) for a in listen_addrs if str(a) not in listening]
    if failed:
        raise OSError(f"cannot listen on {', '.join(failed)} (address in use or unavailable)")


class CountingGossipSub(GossipCountersMixin, FloodPublishMixin, PeerExchangeGossipSub):
    """GossipSub that counts outbound RPCs dropped on a full per-peer queue (32 deep),
    and sends own messages past an empty mesh (:class:`FloodPublishMixin`)."""

    dropped_rpcs = 0

    def _handle_dropped_rpc(self, peer_id: ID, rpc: rpc_pb2.RPC, reason: str) -> None:
        self.dropped_rpcs += 1
        super()._handle_dropped_rpc(peer_id, rpc, reason)


@dataclass(frozen=True, slots=True)
class HostParts:
    """A built, not yet started, host with its router, pubsub and DHT (FIND_NODE
    answers only; see :mod:`asyncmachine.pubsub._connect_libp2p`)."""

    host: IHost
    router: CountingGossipSub
    pubsub: TopicPubsub
    dht: KadDHT
    excuse: Excuse
    app_score: AppScore


def build_host(
    key_pair: KeyPair,
    topic: str,
    listen_addrs: Sequence[multiaddr.Multiaddr],
    *,
    heartbeat_interval: float,
    degree: int,
    degree_low: int,
    degree_high: int,
    muxer: Literal["yamux", "mplex"],
) -> HostParts:
    """Create the tuned host, GossipSub router and pubsub (see module docstring)."""
    check_ed25519(key_pair)
    if not 0 < degree_low <= degree <= degree_high:
        raise ValueError(
            f"need 0 < degree_low <= degree <= degree_high, got "
            f"{degree_low}, {degree}, {degree_high}"
        )
    if heartbeat_interval <= 0:
        raise ValueError(f"heartbeat_interval must be > 0, got {heartbeat_interval}")
    if muxer == "yamux":
        os.environ.setdefault(YAMUX_RELEASE_ON_READ, "0")
    noise = NoiseTransport(key_pair, noise_privkey=create_new_x25519_key_pair().private_key)
    resources = new_resource_manager()  # what new_host() would give the host and swarm
    swarm = new_swarm(
        key_pair=key_pair,
        listen_addrs=listen_addrs,
        sec_opt={NOISE_PROTOCOL_ID: noise},  # the default also offers plaintext
        muxer_preference="MPLEX" if muxer == "mplex" else "YAMUX",
        enable_quic=any(transport_of(a) == "quic" for a in listen_addrs),
        connection_config=ConnectionConfig(max_connections_per_peer=1),
        peerstore_opt=RecordKeepingPeerStore(),
        resource_manager=resources,
    )
    host = AddrsCachingHost(swarm, resources)
    router = CountingGossipSub(
        protocols=[TProtocol(PROTOCOL_ID_V11), TProtocol(PROTOCOL_ID)],
        degree=degree,
        degree_low=degree_low,
        degree_high=degree_high,
        heartbeat_interval=heartbeat_interval,  # type: ignore[arg-type]  # annotated int
        spam_protection_enabled=False,
        adaptive_gossip_enabled=False,
        eclipse_protection_enabled=False,
        do_px=True,  # PRUNEs carry other topic peers' signed records (CountingGossipSub)
    )
    excuse = Excuse()  # IGNORE verdicts: dropped without penalty (see _libp2p_score)
    app_score = AppScore()  # the engine's score of a peer, once the transport has one
    router.scorer = ExcusingScorer(score_params(app_score), excuse)
    network = host.get_network()
    if isinstance(network, Swarm):
        network.auto_connector = NoAutoConnector(network)
    dht = KadDHT(host, DHTMode.SERVER)  # registers the FIND_NODE handler; never run()
    pubsub = TopicPubsub(host, router, topic)
    pubsub.validation_cache = NoValidationCache()
    return HostParts(host, router, pubsub, dht, excuse, app_score)
