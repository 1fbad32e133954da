"""Opening the libp2p transport: build a tuned host, listen, dial the bootstrap peers,
subscribe, and shut it all down gracefully even when the caller is cancelled."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Literal

import multiaddr
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.keys import KeyPair
from libp2p.peer.peerinfo import PeerInfo
from libp2p.tools.anyio_service import background_trio_service

from ._connect_libp2p import mdns_discovery
from ._connect_policy import ConnectSettings
from ._libp2p_host import (
    HostParts,
    build_host,
    check_dialable,
    check_listening,
    parse_bootstrap_addrs,
    parse_listen_addrs,
    route_libp2p_logs,
    transport_of,
    without_harmless_teardown_errors,
)
from ._libp2p_transport import Libp2pTransport, _Settings

logger = logging.getLogger(__name__)


async def _forward_cancellation(scope: trio.CancelScope) -> None:
    """Cancel ``scope`` when the caller is cancelled (or when this task is ended)."""
    try:
        await trio.sleep_forever()
    finally:
        scope.cancel()


@asynccontextmanager
async def _running(
    parts: HostParts,
    topic: str,
    listen_addrs: list[multiaddr.Multiaddr],
    peers: list[tuple[str, PeerInfo]],
    settings: _Settings,
    buffers: tuple[int, int],
) -> AsyncIterator[Libp2pTransport]:
    """Run the host inside a shield, so that a cancelled caller still gets a graceful
    shutdown (libp2p sends and closes from its own, otherwise cancelled, tasks). The
    caller's cancellation reaches the body through a watcher task outside the shield.
    """
    await trio.lowlevel.checkpoint_if_cancelled()  # the shield would hide it until later
    async with trio.open_nursery() as watcher:
        with trio.CancelScope(shield=True) as shield:
            async with (
                parts.host.run(listen_addrs=listen_addrs),
                background_trio_service(parts.pubsub),
                background_trio_service(parts.router),
            ):
                check_listening(parts.host, listen_addrs)
                await parts.pubsub.wait_until_ready()
                transport = Libp2pTransport(parts, topic, settings, *buffers)
                try:
                    async with trio.open_nursery() as transport._tasks:
                        with trio.CancelScope() as body:
                            watcher.start_soon(_forward_cancellation, body)
                            await parts.pubsub.subscribe(topic)
                            await transport._connector.bootstrap(peers)
                            transport._tasks.start_soon(transport._maintain)
                            transport._tasks.start_soon(transport._connector.run)
                            with contextlib.ExitStack() as lan:
                                if settings.mdns:
                                    lan.enter_context(
                                        mdns_discovery(parts.host, transport._connector)
                                    )
                                yield transport
                        transport._tasks.cancel_scope.cancel()
                finally:
                    shield.deadline = trio.current_time() + 2 * settings.shutdown_timeout
                    await transport._shutdown()
        if shield.cancelled_caught:
            logger.warning("libp2p host %s: teardown timed out", transport.peer_id)
        await trio.lowlevel.checkpoint_if_cancelled()  # re-raise the caller's cancellation
        watcher.cancel_scope.cancel()


@asynccontextmanager
async def open_libp2p_transport(
    topic: str,
    *,
    listen: Sequence[str] = ("/ip4/127.0.0.1/tcp/0",),
    bootstrap: Sequence[str] = (),
    key_pair: KeyPair | None = None,
    heartbeat_interval: float = 1.0,
    degree: int = 6,
    degree_low: int = 4,
    degree_high: int = 12,
    muxer: Literal["yamux", "mplex"] = "yamux",
    message_buffer: int = 1024,
    peer_event_buffer: int = 1024,
    dial_timeout: float = 10.0,
    max_concurrent_dials: int = 10,
    redial_initial: float = 1.0,
    redial_max: float = 10.0,
    connections: ConnectSettings | None = None,
    mdns: bool = False,
    shutdown_grace: float = 0.2,
    shutdown_timeout: float = 5.0,
    graylist_backoff: float = 60.0,
) -> AsyncIterator[Libp2pTransport]:
    """Run a tuned libp2p host subscribed to ``topic`` and yield its transport.

    ``listen``: TCP (``/ip4/…/tcp/N``) and/or QUIC (``/ip4/…/udp/N/quic-v1``) addresses.
    ``bootstrap``: full multiaddrs (``…/p2p/<id>``), dialled concurrently
    (``max_concurrent_dials`` at once); if all fail, BootstrapError; failed ones are
    otherwise retried in the background with exponential backoff (``redial_initial`` …
    ``redial_max`` seconds). Malformed addresses raise ValueError before any host starts.
    ``connections``: the connection manager's watermarks and rates; by default ``low`` /
    ``high`` are ``degree_low`` / ``degree_high`` and its backoff is ``redial_initial`` …
    ``redial_max`` (when given, those two are ignored). ``mdns``: also find peers on
    the LAN by multicast DNS (opt-in: it announces this host to the whole segment).
    ``key_pair``: ed25519 identity (see :func:`load_or_create_key`); random if None.
    GossipSub: ``heartbeat_interval`` seconds, mesh ``degree``/``degree_low``/
    ``degree_high``. Channel sizes: ``message_buffer``, ``peer_event_buffer``.
    On exit (also when cancelled) the host unsubscribes, waits ``shutdown_grace`` and
    stops, within ``shutdown_timeout``. A forwarder whose messages keep failing the
    topic validator is disconnected and refused for ``graylist_backoff`` seconds.
    """
    if not isinstance(topic, str) or not topic:
        raise ValueError(f"topic must be a non-empty string, got {topic!r}")
    listen_addrs = parse_listen_addrs(listen)
    peers = parse_bootstrap_addrs(bootstrap)
    for name, value in (
        ("message_buffer", message_buffer),
        ("peer_event_buffer", peer_event_buffer),
        ("max_concurrent_dials", max_concurrent_dials),
    ):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    for name, seconds in (
        ("dial_timeout", dial_timeout),
        ("redial_initial", redial_initial),
        ("redial_max", redial_max),
        ("shutdown_timeout", shutdown_timeout),
        ("graylist_backoff", graylist_backoff),
    ):
        if seconds <= 0:
            raise ValueError(f"{name} must be > 0, got {seconds}")
    if connections is None:
        connections = ConnectSettings(
            low=degree_low,
            high=max(degree_low, degree_high),
            backoff_initial=redial_initial,
            backoff_max=max(redial_initial, redial_max),
        )
    settings = _Settings(
        dial_timeout,
        max_concurrent_dials,
        connections,
        mdns,
        max(0.0, shutdown_grace),
        shutdown_timeout,
        graylist_backoff,
    )
    transports = {str(transport_of(a)) for a in listen_addrs}
    for addr, info in peers:
        check_dialable(addr, info, transports, "bootstrap")
    route_libp2p_logs()
    parts = build_host(
        key_pair or create_new_key_pair(),
        topic,
        listen_addrs,
        heartbeat_interval=heartbeat_interval,
        degree=degree,
        degree_low=degree_low,
        degree_high=degree_high,
        muxer=muxer,
    )
    remaining: BaseException | None = None
    try:
        async with _running(
            parts, topic, listen_addrs, peers, settings, (message_buffer, peer_event_buffer)
        ) as transport:
            yield transport
    except BaseExceptionGroup as group:  # nurseries wrap even the body's own errors
        remaining = without_harmless_teardown_errors(group)
    finally:
        parts.pubsub.seen_messages.stop()
    if remaining is not None:
        raise remaining  # outside the except: no self-referencing __context__
