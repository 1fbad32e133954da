"""What a node keeps between runs, and how it uses it: the session epoch and the peers
it has seen (files in :mod:`asyncmachine.node._persist`, :mod:`asyncmachine.node._peers`).

:meth:`NodeState.join` starts the node through its configured bootstrap peers and, when
none answers, through the peers saved by earlier runs; a node started without bootstrap
peers dials its saved peers in the background (:meth:`NodeState.keep`), which also keeps
the peers file up to date while the node runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import trio

from asyncmachine.pubsub import AddressSource, SelfOrganizing, TopicSettings

from ._node import Node
from ._peers import PeerBook, transport_peer_addrs
from ._persist import Clock, EpochFile, wall_clock_us

log = logging.getLogger(__name__)

SAVE_INTERVAL = 5.0
"""Seconds between looks at the connected peers (the file is written when they change)."""
REFRESH_INTERVAL = 60.0
"""Rewrite the file at least this often while peers are connected (their ``seen`` times)."""

MakeNode = Callable[[Sequence[str]], Node]
"""A node (not started yet) with these bootstrap addresses."""


@dataclass(slots=True)
class RejoinResult:
    """Saved-peer dials of one rejoin: peers reached and failed dials."""

    reached: int = 0
    failed: int = 0


class NodeState:
    """The persistent state of one identity in ``data_dir``, or nothing (``data_dir``
    None: a node without a key file keeps no state, its identity is new each run)."""

    def __init__(
        self,
        data_dir: Path | None,
        peer_id: str,
        *,
        clock: Clock = wall_clock_us,
        save_interval: float = SAVE_INTERVAL,
    ) -> None:
        self.peer_id = peer_id
        self.book: PeerBook | None = None
        self.epoch_file: EpochFile | None = None
        self.save_interval = save_interval
        self.rejoin = RejoinResult()
        if data_dir is not None:
            try:
                data_dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                log.warning("cannot create data directory %s: %s", data_dir, e.strerror or e)
            self.book = PeerBook(data_dir / f"{peer_id}.peers.json", peer_id)
            self.book.load()
            self.epoch_file = EpochFile(data_dir / f"{peer_id}.epoch", clock)

    def settings(self, base: TopicSettings | None = None) -> TopicSettings | None:
        """``base`` (or the defaults) with a session epoch newer than the last run's."""
        if self.epoch_file is None:
            return base
        epoch = self.epoch_file.claim()
        return TopicSettings(epoch=epoch) if base is None else replace(base, epoch=epoch)

    def saved_addrs(self) -> list[str]:
        """Dialable addresses of the saved peers, most recently seen first."""
        return self.book.candidates() if self.book is not None else []

    @asynccontextmanager
    async def join(
        self, make: MakeNode, bootstrap: Sequence[str], timeout: float
    ) -> AsyncIterator[Node]:
        """Run ``make(bootstrap)``; when none of ``bootstrap`` answers (BootstrapError)
        and peers were saved, run ``make(())`` and require one saved peer to answer
        within ``timeout`` instead (else the original BootstrapError)."""
        from asyncmachine.pubsub.libp2p import BootstrapError

        saved = self.saved_addrs()
        async with AsyncExitStack() as stack:
            try:
                node = await stack.enter_async_context(make(tuple(bootstrap)))
            except BootstrapError as e:
                if not saved:
                    raise
                log.warning("no bootstrap peer answered; trying %d saved addresses", len(saved))
                node = await stack.enter_async_context(make(()))
                with trio.move_on_after(timeout):
                    await self.dial_saved(node, saved)
                if not self.rejoin.reached:
                    raise e from None
            yield node

    async def dial_saved(self, node: Node, addrs: Sequence[str]) -> None:
        """Dial ``addrs`` concurrently (the node's dial limit applies); counts in
        :attr:`rejoin`. Returns when every dial ended."""
        connected = node.connected_peers()
        transport = node.topic.transport
        if transport is None:
            return

        async def dial(addr: str) -> None:
            if addr.rsplit("/p2p/", 1)[-1] in connected:
                return
            try:
                await transport.connect(addr)
            except (ConnectionError, OSError, ValueError) as e:
                self.rejoin.failed += 1
                log.debug("saved peer %s: %s", addr, e)
            else:
                self.rejoin.reached += 1

        async with trio.open_nursery() as nursery:
            for addr in addrs:
                nursery.start_soon(dial, addr)

    async def keep(self, node: Node, *, rejoin: bool, now: Callable[[], float] = time.time) -> None:
        """While the node runs: with ``rejoin``, dial the saved peers once; then save the
        connected topic peers every ``save_interval`` s when they changed (and at least
        every :data:`REFRESH_INTERVAL` s), and once more when cancelled."""
        book = self.book
        if book is None:
            return
        transport = node.topic.transport
        if isinstance(transport, SelfOrganizing):
            # the connection manager keeps re-dialling them (with backoff) when the
            # configured bootstrap peers are gone
            for sp in book.peers.values():
                transport.learn_addresses(sp.peer_id, sp.dial_addrs(), AddressSource.SAVED)
        if rejoin and (saved := self.saved_addrs()):
            await self.dial_saved(node, saved)
            log.info(
                "rejoin: %d saved peers reached, %d dials failed",
                self.rejoin.reached,
                self.rejoin.failed,
            )
        last_write = trio.current_time()
        try:
            while True:
                self._snapshot(node, now())
                if book.changed() or trio.current_time() - last_write >= REFRESH_INTERVAL:
                    book.save()
                    last_write = trio.current_time()
                await trio.sleep(self.save_interval)
        finally:
            if node.running:
                self._snapshot(node, now())
                book.save()

    def _snapshot(self, node: Node, now: float) -> None:
        assert self.book is not None
        transport = node.topic.transport
        if transport is None:
            return
        live = transport.topic_peers() & node.connected_peers()
        addrs = transport_peer_addrs(transport)
        self.book.update({pid: addrs.get(pid, []) for pid in live}, now)


__all__ = ["MakeNode", "NodeState", "RejoinResult"]
