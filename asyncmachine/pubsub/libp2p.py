"""The py-libp2p gossip transport and its helpers: hosts, keys, multiaddrs.

A separate public module (like :mod:`trio.testing`) because importing py-libp2p
costs about half a second, which users of the in-memory transport and the
model simulator should not pay. See docs/pubsub.md for the settings it overrides.
"""

from ._connect_libp2p import BootstrapError, DialError
from ._connect_policy import ConnectSettings
from ._libp2p_counters import TransportCounters
from ._libp2p_host import parse_bootstrap_addrs, parse_listen_addrs, parse_peer_addr
from ._libp2p_keys import load_or_create_key, peer_id_of
from ._libp2p_open import open_libp2p_transport
from ._libp2p_transport import MAX_PAYLOAD_BYTES, Libp2pTransport

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "BootstrapError",
    "ConnectSettings",
    "DialError",
    "Libp2pTransport",
    "TransportCounters",
    "load_or_create_key",
    "open_libp2p_transport",
    "parse_bootstrap_addrs",
    "parse_listen_addrs",
    "parse_peer_addr",
    "peer_id_of",
]
