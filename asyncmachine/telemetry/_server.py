"""The ``/metrics`` HTTP endpoint (prometheus_client's threaded server).

The server answers in its own thread; a scrape hops onto the Trio thread
(``trio.from_thread.run_sync``) to read machines and the Topic, so it sees one
consistent snapshot and never races a transition.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from wsgiref.simple_server import WSGIServer

import trio
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from ._options import TelemetryError, parse_host_port

log = logging.getLogger(__name__)

Snapshot = Callable[[], Iterable[Metric]]


class TrioCollector(Collector):
    """A custom Collector whose families are built on the Trio thread at scrape time."""

    def __init__(self) -> None:
        self._source: tuple[Snapshot, trio.lowlevel.TrioToken] | None = None

    def attach(self, snapshot: Snapshot | None) -> None:
        """Serve ``snapshot()`` (called in the current Trio run); None: serve nothing."""
        self._source = None if snapshot is None else (snapshot, trio.lowlevel.current_trio_token())

    def collect(self) -> Iterator[Metric]:
        src = self._source
        if src is None:
            return
        fn, token = src
        try:
            families = trio.from_thread.run_sync(lambda: list(fn()), trio_token=token)
        except trio.RunFinishedError:
            return
        yield from families


class MetricsServer:
    """``http://HOST:PORT/metrics`` serving one :class:`TrioCollector`; binds at once, so
    a port in use is a :class:`TelemetryError` before the node starts."""

    def __init__(self, address: str) -> None:
        host, port = parse_host_port(address)
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = TrioCollector()
        self.registry.register(self.collector)
        try:
            server, thread = start_http_server(port, host, registry=self.registry)
        except OSError as e:
            raise TelemetryError(
                f"cannot serve --metrics on {address}: {e.strerror or e}"
            ) from None
        self._server: WSGIServer = server
        self._thread: threading.Thread = thread
        self.host = host
        self.port: int = server.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
