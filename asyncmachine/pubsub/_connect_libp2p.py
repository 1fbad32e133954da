"""The :class:`ConnectionManager` on a py-libp2p host: dialing, address sources, discovery.

Address sources (each a :class:`AddressSource`):

- **bootstrap** addresses given by the user;
- **identify**: the listen addresses a connected peer reported (libp2p peerstore), so a
  lost connection — inbound ones too — can be dialled again;
- **px**: gossipsub peer exchange. A PRUNE carries signed peer records of other topic
  peers; :class:`asyncmachine.pubsub._libp2p_host.CountingGossipSub` hands them here
  instead of letting py-libp2p 0.8.1 dial them itself (its ``_do_px`` connects directly,
  around any dial cap);
- **dht**: one-hop Kademlia ``FIND_NODE`` to a random connected peer for a random key,
  whenever the manager wants more peers than it knows. The host answers ``FIND_NODE``
  with py-libp2p's :class:`KadDHT` (server mode, not run as a service, so it never dials
  on its own: its iterative lookups and random-walk refresher would open connections
  around our caps); the client side is ``PeerRouting._query_peer_for_closest`` (private
  in libp2p==0.8.1, pinned);
- **record**: the owner's listen addresses from its signed topic records, fed by the
  pubsub engine through :meth:`Libp2pConnector.learn`;
- **mdns** (opt-in, LANs): py-libp2p's ``MDNSDiscovery`` (zeroconf), see
  :func:`mdns_discovery`.

Not used: ``KadDHT(enable_random_walk=True)`` run as a service. Its refresher runs
iterative lookups that open connections to every peer they query (up to 20 per lookup,
10 at a time), outside any dial cap, so a connection manager could not keep a node
between its watermarks; the one-hop walk above finds the same peers under our caps.
"""

from __future__ import annotations

import ipaddress
import logging
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress

import multiaddr
import trio
from libp2p.abc import IHost, INetConn, INetStream, INetwork, INotifee
from libp2p.kad_dht.kad_dht import KadDHT
from libp2p.network.swarm import Swarm
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo

from ._connect import ConnectionManager
from ._connect_book import AddressSource
from ._connect_policy import ConnectCounters, ConnectSettings, TrimScore, diversity_score
from ._libp2p_host import describe_error, transport_of

logger = logging.getLogger(__name__)

_DISCOVER_PEERS = 2
"""Connected peers asked per discovery round."""

_HARVEST_INTERVAL = 0.5


class DialError(ConnectionError):
    """A peer address could not be dialled; ``addr`` and ``reason`` say which and why."""

    def __init__(self, addr: str, reason: str) -> None:
        super().__init__(f"cannot connect to {addr}: {reason}")
        self.addr = addr
        self.reason = reason


class BootstrapError(ConnectionError):
    """Every bootstrap address failed; ``failures`` maps each address to its reason."""

    def __init__(self, failures: dict[str, str]) -> None:
        listing = "; ".join(f"{addr} ({reason})" for addr, reason in failures.items())
        super().__init__(f"could not reach any bootstrap peer: {listing}")
        self.failures = failures


class AddrValidator:
    """Accepts a remote peer's multiaddr only if this host can dial it usefully.

    Rejects: unparsable strings; a ``/p2p/`` part naming another peer; transports we do
    not listen on (py-libp2p builds its dialers from the listen addresses);
    unspecified/multicast IPs; loopback unless this host itself listens on loopback
    only (a remote peer's 127.0.0.1 is our own machine); our own listen addresses.
    Returns the address without its ``/p2p/`` part.
    """

    def __init__(self, host: IHost, transports: set[str]) -> None:
        self._host = host
        self._transports = transports
        self._loopback_ok = all(_is_loopback(a) for a in host.get_transport_addrs())

    def __call__(self, peer_id: str, addr: str) -> str:
        try:
            maddr = multiaddr.Multiaddr(addr)
            names = [p.name for p in maddr.protocols()]
            if "p2p" in names:
                named = maddr.value_for_protocol("p2p")
                if named != peer_id:
                    raise ValueError(f"names peer {named}, not {peer_id}")
                maddr = maddr.decapsulate(multiaddr.Multiaddr(f"/p2p/{named}"))
                names = [p.name for p in maddr.protocols()]
            if names[:1] not in (["ip4"], ["ip6"]) or transport_of(maddr) not in self._transports:
                raise ValueError("not a transport this host dials")
            ip = ipaddress.ip_address(maddr.value_for_protocol(names[0]))
        except Exception as e:
            raise ValueError(f"bad address {addr!r}: {e}") from None
        if ip.is_unspecified or ip.is_multicast:
            raise ValueError(f"bad address {addr!r}: not a unicast IP")
        if ip.is_loopback and not self._loopback_ok:
            raise ValueError(f"bad address {addr!r}: a remote peer's loopback")
        if any(str(maddr) == str(a) for a in self._host.get_transport_addrs()):
            raise ValueError(f"bad address {addr!r}: our own")
        return str(maddr)


def _is_loopback(maddr: multiaddr.Multiaddr) -> bool:
    for name in ("ip4", "ip6"):
        try:
            return ipaddress.ip_address(maddr.value_for_protocol(name)).is_loopback
        except Exception:
            continue
    return False


class _Notifee(INotifee):
    """Pokes the manager when a connection opens or closes (no polling)."""

    def __init__(self, connector: Libp2pConnector) -> None:
        self._connector = connector

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        self._connector.manager.poke()

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        self._connector.manager.poke()

    async def listen(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        pass

    async def listen_close(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        pass


class Libp2pConnector:
    """A :class:`ConnectionManager` dialing through a py-libp2p host (the ``Dialer``)."""

    def __init__(
        self,
        host: IHost,
        dht: KadDHT,
        transports: set[str],
        settings: ConnectSettings,
        *,
        dial_timeout: float,
        max_concurrent_dials: int,
        favoured: Callable[[str], bool],
        score: TrimScore = diversity_score,
    ) -> None:
        self._host = host
        self._dht = dht
        self._dial_timeout = dial_timeout
        self._dial_limit = trio.Semaphore(max_concurrent_dials)
        self.manager = ConnectionManager(
            self,
            host.get_id().to_base58(),
            settings,
            validate=AddrValidator(host, transports),
            score=score,
            favoured=favoured,
            discover=self.discover,
        )
        host.get_network().register_notifee(_Notifee(self))

    # ------------------------------------------------------------------ inputs

    def learn(self, peer_id: str, addrs: Sequence[str], source: AddressSource) -> bool:
        """Validate and remember ``addrs`` of ``peer_id`` (see ConnectionManager.learn)."""
        return self.manager.learn(peer_id, addrs, source)

    def learn_from_peerstore(self, peers: Sequence[ID], source: AddressSource) -> None:
        store = self._host.get_peerstore()
        for pid in peers:
            try:
                addrs = [str(a) for a in store.addrs(pid)]
            except Exception:
                continue  # unknown or expired in the peerstore
            self.manager.learn(pid.to_base58(), addrs, source)

    def on_px(self, peer_id: ID, addrs: Sequence[multiaddr.Multiaddr]) -> None:
        """A signed peer record from gossipsub PX (already verified by the router)."""
        self.manager.learn(peer_id.to_base58(), [str(a) for a in addrs], AddressSource.PX)

    @property
    def counters(self) -> ConnectCounters:
        return self.manager.counters

    def known_peers(self) -> dict[str, list[str]]:
        """The book as full multiaddrs (``…/p2p/<id>``), newest first per peer."""
        return {
            pid: [f"{a}/p2p/{pid}" for a in reversed(entry.addrs)]
            for pid, entry in self.manager.book.peers.items()
        }

    async def bootstrap(self, peers: Sequence[tuple[str, PeerInfo]]) -> None:
        """Dial the bootstrap peers concurrently; BootstrapError if none answers. The
        manager keeps retrying the others with backoff (pinned in its address book)."""
        own = self._host.get_id()
        targets = [(addr, info) for addr, info in peers if info.peer_id != own]
        failures: dict[str, str] = {}
        for addr, info in targets:
            self.learn(info.peer_id.to_base58(), [addr], AddressSource.BOOTSTRAP)

        async def dial_one(addr: str, info: PeerInfo) -> None:
            try:
                await self.dial_info(addr, info)
            except DialError as e:
                failures[addr] = e.reason
                self.manager.hold_off(info.peer_id.to_base58())

        async with trio.open_nursery() as nursery:
            for addr, info in targets:
                nursery.start_soon(dial_one, addr, info)
        if targets and len(failures) == len(targets):
            raise BootstrapError(failures)
        for addr, reason in failures.items():
            logger.warning(
                "bootstrap peer %s unreachable (%s); retrying in the background", addr, reason
            )

    # ------------------------------------------------------------------ Dialer

    def connected(self) -> set[str]:
        return {pid.to_base58() for pid in self._host.get_connected_peers()}

    async def dial(self, peer_id: str, addrs: Sequence[str]) -> None:
        info = PeerInfo(ID.from_base58(peer_id), [multiaddr.Multiaddr(a) for a in addrs])
        await self.dial_info(f"{addrs[0]}/p2p/{peer_id}", info)

    async def close(self, peer_id: str) -> None:
        await self._host.disconnect(ID.from_base58(peer_id))

    async def dial_info(self, addr: str, info: PeerInfo) -> None:
        """Dial ``info`` within ``dial_timeout``; DialError names ``addr`` and the reason."""
        async with self._dial_limit:
            # libp2p blocks a peer for 60 s after a failed dial; our backoff decides instead
            network = self._host.get_network()
            if isinstance(network, Swarm):
                network.unblock_peer(info.peer_id)
            try:
                with trio.fail_after(self._dial_timeout):
                    await self._host.connect(info)
            except trio.TooSlowError:
                raise DialError(addr, f"timed out after {self._dial_timeout:g} s") from None
            except Exception as e:
                raise DialError(addr, describe_error(e)) from e

    # ------------------------------------------------------------------ discovery

    async def discover(self) -> None:
        """Ask up to ``_DISCOVER_PEERS`` random connected peers for the peers closest
        to a random key (one Kademlia hop), and learn what they and the connected
        peers' identify reported."""
        connected = self._host.get_connected_peers()
        self.learn_from_peerstore(connected, AddressSource.IDENTIFY)
        for pid in random.sample(connected, min(_DISCOVER_PEERS, len(connected))):
            key = b"\x12\x20" + random.randbytes(32)  # a sha2-256 multihash, like a peer id
            found = await self._dht.peer_routing._query_peer_for_closest(pid, key)
            self.learn_from_peerstore(found, AddressSource.DHT)

    async def run(self) -> None:
        """The manager's loop, and a look at the peerstore every ``_HARVEST_INTERVAL`` for
        the identify addresses of connected peers (inbound ones included) so that a
        lost connection can be dialled again from either side."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.manager.run)
            while True:
                book = self.manager.book
                new = [p for p in self._host.get_connected_peers() if not book.get(p.to_base58())]
                self.learn_from_peerstore(new, AddressSource.IDENTIFY)
                await trio.sleep(_HARVEST_INTERVAL)


@contextmanager
def mdns_discovery(host: IHost, connector: Libp2pConnector) -> Iterator[None]:
    """Announce this host on the LAN by multicast DNS and learn the peers announcing
    themselves (py-libp2p's ``MDNSDiscovery``; works in 0.8.1 where multicast does).

    Its listener calls back from zeroconf's own thread, through a process-wide
    ``peerDiscovery`` emitter: addresses are handed to Trio with the run's token.
    """
    from libp2p.discovery.events.peerDiscovery import peerDiscovery
    from libp2p.discovery.mdns.mdns import MDNSDiscovery

    token = trio.lowlevel.current_trio_token()
    own = host.get_id()

    def found(info: PeerInfo) -> None:
        if info.peer_id == own:
            return
        addrs = [str(a) for a in info.addrs]
        with suppress(trio.RunFinishedError):
            token.run_sync_soon(connector.learn, info.peer_id.to_base58(), addrs, _MDNS)

    listen = host.get_transport_addrs()
    mdns = MDNSDiscovery(
        host.get_network(),
        port=_first_port(listen),
        listen_addrs=[str(a) for a in listen],
        host=host,
    )
    peerDiscovery.register_peer_discovered_handler(found)
    try:
        mdns.start()
        yield
    finally:
        peerDiscovery.unregister_peer_discovered_handler(found)
        mdns.stop()


_MDNS = AddressSource.MDNS  # (bound early: called from zeroconf's thread)


def _first_port(addrs: Sequence[multiaddr.Multiaddr]) -> int:
    for addr in addrs:
        for name in ("tcp", "udp"):
            try:
                return int(addr.value_for_protocol(name))
            except Exception:
                continue
    return 0
