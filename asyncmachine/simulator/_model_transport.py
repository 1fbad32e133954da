"""One peer of the model network: a ``GossipTransport`` that is also ``SelfOrganizing``
(its connection manager learns the addresses the Topic engine hands it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import trio

from ..pubsub import AddressSource, ConnectionManager, InboxTransport

if TYPE_CHECKING:
    from ._model_net import ModelNetwork


class ModelTransport(InboxTransport):
    """One peer of a :class:`ModelNetwork` (implements ``GossipTransport``)."""

    def __init__(self, network: ModelNetwork, idx: int, peer_id: str) -> None:
        super().__init__(peer_id, network.buffer)
        self.network = network
        self.idx = idx
        self.killed = False
        """Set by :meth:`ModelNetwork.kill`: publishing silently goes nowhere."""
        self.manager: ConnectionManager | None = None
        """This peer's connection manager (None on a static topology)."""

    @property
    def topic(self) -> str:
        return self.network.topic

    async def publish(self, data: bytes) -> None:
        if self.killed:
            await trio.lowlevel.checkpoint()
            return
        if self.closed:
            raise trio.ClosedResourceError("transport closed")
        self.network.publish(self.idx, data)
        await trio.lowlevel.checkpoint()

    def sign(self, data: bytes) -> bytes:
        return self.network.sign_as(self.idx, data)

    def verify(self, peer_id: str, data: bytes, signature: bytes) -> bool:
        return self.network.verify(peer_id, data, signature)

    def _ids(self, idxs: list[int]) -> set[str]:
        peers = self.network.peers
        return {t.peer_id for q in idxs if (t := peers[q]) is not None}

    def topic_peers(self) -> set[str]:
        return self._ids(self.network.adj[self.idx])

    def connected_peers(self) -> set[str]:
        return self.topic_peers()

    def mesh_peers(self) -> set[str]:
        return self._ids(self.network.mesh[self.idx])

    async def connect(self, addr: str) -> None:
        await trio.lowlevel.checkpoint()

    # --- SelfOrganizing: what the Topic engine feeds the connection manager ----

    def learn_addresses(
        self, peer_id: str, addrs: Sequence[str], source: AddressSource = AddressSource.RECORD
    ) -> bool:
        """Remember where ``peer_id`` listens (see ``SelfOrganizing``); False on a
        static topology (no manager) or when nothing was kept."""
        if self.manager is None or not isinstance(peer_id, str) or isinstance(addrs, str):
            return False
        return self.manager.learn(peer_id, addrs, source)

    def note_links(self, peer_id: str, connected: Sequence[str]) -> None:
        """``peer_id``'s own connections, for the manager's trimming."""
        if self.manager is not None:
            self.manager.note_links(peer_id, connected)

    def note_separated(self, peer_id: str, separated: bool) -> None:
        """See ``SelfOrganizing.note_separated``."""
        if self.manager is not None:
            self.manager.note_separated(peer_id, separated)

    def known_peers(self) -> dict[str, list[str]]:
        """The address book, newest address first per peer."""
        if self.manager is None:
            return {}
        return {p: list(reversed(e.addrs)) for p, e in self.manager.book.peers.items()}
