"""The gossip transport interface the Topic talks to (no libp2p types here).

Two implementations: :mod:`asyncmachine.pubsub.libp2p` (py-libp2p
GossipSub on real hosts) and :mod:`asyncmachine.pubsub._memory_transport`
(an in-memory network, also used by the simulator's model backend).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import trio

from ._connect_book import AddressSource


@dataclass(frozen=True, slots=True)
class GossipMessage:
    """One message received on the topic.

    ``author`` is the base58 peer id of the message's original author, as
    authenticated by the transport (for libp2p: the signed ``from`` field),
    never the forwarding neighbour. ``received_at`` is ``trio.current_time()``
    when the transport got the message (before any queueing in ``messages``).
    """

    author: str
    data: bytes
    received_at: float


class PeerEventKind(enum.Enum):
    JOINED = "joined"  # a remote peer subscribed to our topic (libp2p: a direct neighbour)
    LEFT = "left"  # a remote peer unsubscribed or disconnected


@dataclass(frozen=True, slots=True)
class PeerEvent:
    kind: PeerEventKind
    peer_id: str


class GossipTransport(Protocol):
    """What the Topic needs from a gossip network (publish, receive, peers, keys).

    Own messages are never delivered back to ``messages``. Receive channels
    are bounded; a full channel drops the message and counts it in
    ``dropped``.
    """

    @property
    def peer_id(self) -> str:
        """This peer's base58 id."""
        ...

    @property
    def topic(self) -> str: ...

    def addrs(self) -> list[str]:
        """Full multiaddrs (with ``/p2p/<id>``) other peers can dial."""
        ...

    @property
    def messages(self) -> trio.MemoryReceiveChannel[GossipMessage]: ...

    @property
    def peer_events(self) -> trio.MemoryReceiveChannel[PeerEvent]: ...

    @property
    def dropped(self) -> int:
        """Received messages dropped because ``messages`` was full."""
        ...

    async def publish(self, data: bytes) -> None:
        """Publish ``data`` to the topic (best effort)."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` with this peer's private key."""
        ...

    def verify(self, peer_id: str, data: bytes, signature: bytes) -> bool:
        """Check that ``signature`` over ``data`` was made by ``peer_id``'s key."""
        ...

    def topic_peers(self) -> set[str]:
        """Peers currently known to be subscribed to the topic.

        With libp2p these are only directly connected peers: authors of relayed
        messages need not be in this set.
        """
        ...

    def connected_peers(self) -> set[str]:
        """Peers with an open connection (for the graph's connected_to edges)."""
        ...

    def mesh_peers(self) -> set[str]:
        """Peers in this peer's gossip mesh for the topic."""
        ...

    async def connect(self, addr: str) -> None:
        """Dial a peer by full multiaddr; raises ValueError on a bad multiaddr,
        OSError/ConnectionError-like errors when unreachable."""
        ...


@runtime_checkable
class AuthorSigned(Protocol):
    """Optional member of a :class:`GossipTransport` whose deliveries carry their
    author's signature over the whole payload, checked before delivery (py-libp2p's
    strict signing; check with ``isinstance(t, AuthorSigned) and t.author_signed``).

    A record in a message its owner published itself is then authentic without its
    own signature, so the engine checks that signature only when it relays the record
    to others (see :class:`Intake`): one ed25519 check less per received update.
    """

    @property
    def author_signed(self) -> bool:
        """True while every delivered message was signed by its ``author``."""
        ...


def author_signed(transport: object) -> bool:
    """``transport`` is :class:`AuthorSigned` and says its deliveries are signed."""
    return isinstance(transport, AuthorSigned) and transport.author_signed


@runtime_checkable
class SelfOrganizing(Protocol):
    """Optional members of a :class:`GossipTransport` that keeps its own connections
    (the libp2p transport; check with ``isinstance(t, SelfOrganizing)``).

    The pubsub engine feeds it what only the topic knows: owners' listen addresses
    from their signed records, and peers' reports of their own connections.
    """

    def learn_addresses(
        self, peer_id: str, addrs: Sequence[str], source: AddressSource = AddressSource.RECORD
    ) -> bool:
        """Remember where ``peer_id`` listens (addresses from a record it signed);
        bad or excess addresses are dropped and counted, never raised."""
        ...

    def note_links(self, peer_id: str, connected: Sequence[str]) -> None:
        """``peer_id``'s own connections, so trimming keeps a diverse set of peers."""
        ...

    def note_separated(self, peer_id: str, separated: bool) -> None:
        """The topic lost touch with ``peer_id`` (judged unreachable, or dropped as
        silent) or found it again: a connection manager dials such peers to join the
        halves of a partition, and no others once it has enough connections."""
        ...

    def known_peers(self) -> dict[str, list[str]]:
        """The address book as full multiaddrs, for persisting between runs."""
        ...
