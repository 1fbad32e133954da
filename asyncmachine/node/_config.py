"""Validated node options and the persistent identity key.

Everything a user can get wrong is checked here, up front, before any host
starts: multiaddrs, the topic name, intervals and the key file. Problems raise
:class:`ConfigError`, whose message is one line naming the problem (the CLI
prints it and exits with code 2).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from asyncmachine.telemetry import TelemetryError, TelemetryOptions

if TYPE_CHECKING:
    from libp2p.crypto.keys import KeyPair

log = logging.getLogger(__name__)

DEFAULT_LISTEN = ("/ip4/127.0.0.1/tcp/0",)
"""A free TCP port on the loopback interface."""
DEFAULT_TOPIC = "asyncmachine"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_STATUS_INTERVAL = 10.0
DEFAULT_DEMO_INTERVAL = 5.0


class ConfigError(ValueError):
    """Bad node input (options, files, entry points, keys); the message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Options of ``asyncmachine node`` (see :meth:`validate`).

    ``expose`` holds schema files (``.json`` / ``.toml``) and ``module:factory``
    entry points; ``demo`` adds the demo machine, changed by a driver every
    ``demo_interval`` seconds (0: never). ``status_interval`` is the period of
    the status summary (0: events only).
    """

    listen: tuple[str, ...] = DEFAULT_LISTEN
    bootstrap: tuple[str, ...] = ()
    topic: str = DEFAULT_TOPIC
    key_path: Path | None = None
    expose: tuple[str, ...] = ()
    demo: bool = True
    demo_interval: float = DEFAULT_DEMO_INTERVAL
    status_interval: float = DEFAULT_STATUS_INTERVAL
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    console: bool = False
    data_dir: Path | None = None
    connections: tuple[int, int] | None = None
    """``--connections LOW:HIGH``: the connection manager's watermarks (default 4:12)."""
    mdns: bool = False
    """``--mdns``: also find peers on the local network by multicast DNS."""
    telemetry: TelemetryOptions = field(default_factory=TelemetryOptions)
    """Metrics, traces, events and history (docs/telemetry.md)."""

    @property
    def state_dir(self) -> Path | None:
        """Where the node keeps its saved peers and session epoch: ``data_dir``, else the
        key file's directory; None without a key file (a new identity each run)."""
        if self.key_path is None:
            return None
        return self.data_dir if self.data_dir is not None else self.key_path.parent

    allow: tuple[str, ...] = ()
    """``PEER:State,...`` / ``*:State,...``: who may mutate exposed machines (default deny)."""
    workers: tuple[str, ...] = ()
    """``KIND=module:factory``: supervised worker pools (asyncmachine.rpc)."""
    pool: int = 2

    def validate(self) -> None:
        """Raise :class:`ConfigError` for the first bad option (no I/O besides stat)."""
        check_listen(self.listen)
        check_bootstrap(self.bootstrap)
        check_topic(self.topic)
        if not (math.isfinite(self.connect_timeout) and self.connect_timeout > 0):
            raise ConfigError(f"--connect-timeout must be > 0, got {self.connect_timeout}")
        for name, value in (
            ("--status-interval", self.status_interval),
            ("--demo-interval", self.demo_interval),
        ):
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be >= 0, got {value}")
        if self.key_path is not None:
            check_key_path(self.key_path)
        if self.data_dir is not None:
            check_data_dir(self.data_dir, has_key=self.key_path is not None)
        if self.connections is not None:
            low, high = self.connections
            if not 0 < low <= high:
                raise ConfigError(f"--connections needs 0 < LOW <= HIGH, got {low}:{high}")
        try:
            self.telemetry.validate()
        except TelemetryError as e:
            raise ConfigError(str(e)) from None
        check_remote(self.allow, self.workers, self.pool)


def check_remote(allow: tuple[str, ...], workers: tuple[str, ...], pool: int) -> None:
    """``--allow``, ``--workers`` and ``--pool`` (see :mod:`asyncmachine.rpc`)."""
    from asyncmachine.rpc import merge_allow, parse_workers

    try:
        merge_allow(allow)
        kinds = [parse_workers(w)[0] for w in workers]
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if len(set(kinds)) != len(kinds):
        raise ConfigError(f"--workers names a kind twice: {kinds}")
    if pool < 1:
        raise ConfigError(f"--pool must be >= 1, got {pool}")


def check_listen(addrs: tuple[str, ...] | list[str]) -> None:
    """Listen multiaddrs: TCP or QUIC on an IP, no ``/p2p`` part."""
    from asyncmachine.pubsub.libp2p import parse_listen_addrs

    try:
        parse_listen_addrs(list(addrs))
    except (ValueError, TypeError) as e:
        raise ConfigError(str(e)) from None


def check_bootstrap(addrs: tuple[str, ...] | list[str]) -> None:
    """Bootstrap multiaddrs: a transport part and ``/p2p/<peer id>``."""
    from asyncmachine.pubsub.libp2p import parse_bootstrap_addrs

    try:
        parse_bootstrap_addrs(list(addrs))
    except (ValueError, TypeError) as e:
        raise ConfigError(str(e)) from None


def check_topic(topic: str) -> None:
    """A non-empty topic name without whitespace."""
    if not topic or any(c.isspace() for c in topic):
        raise ConfigError(f"bad topic name {topic!r}: must be non-empty, without whitespace")


def check_key_path(path: Path) -> None:
    """The key file must be a readable file, or creatable in an existing directory."""
    if path.exists():
        if not path.is_file():
            raise ConfigError(f"identity key file {str(path)!r} is not a regular file")
        if not os.access(path, os.R_OK):
            raise ConfigError(f"cannot read identity key file {str(path)!r}: permission denied")
    elif path.parent.exists() and not path.parent.is_dir():
        raise ConfigError(
            f"cannot create identity key file {str(path)!r}: "
            f"{str(path.parent)!r} is not a directory"
        )


def check_data_dir(path: Path, *, has_key: bool) -> None:
    """``--data-dir`` needs ``--key`` (state is kept per identity) and must be a writable
    directory, or creatable (the node creates it when it starts)."""
    if not has_key:
        raise ConfigError("--data-dir needs --key: the saved state belongs to one identity")
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"--data-dir {str(path)!r}: {str(existing)!r} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"--data-dir {str(path)!r}: {str(existing)!r} is not writable")


def load_identity(path: Path | str | os.PathLike[str] | None) -> KeyPair:
    """The node's ed25519 identity: loaded from ``path``, created there (mode 0600) on the
    first run, or a fresh random one when ``path`` is None.

    Raises :class:`ConfigError` for an unreadable, uncreatable or malformed key file.
    """
    from libp2p.crypto.ed25519 import create_new_key_pair

    from asyncmachine.pubsub.libp2p import load_or_create_key

    if path is None:
        return create_new_key_pair()
    p = Path(path)
    check_key_path(p)
    host_log = logging.getLogger("asyncmachine.pubsub._libp2p_host")
    quiet = _DropRecords()
    host_log.addFilter(quiet)  # its permission warning would precede our one-line error
    try:
        key_pair = load_or_create_key(p)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    except OSError as e:
        reason = e.strerror or type(e).__name__
        if "identity key file" in reason:
            raise ConfigError(reason) from None
        raise ConfigError(f"cannot use identity key file {str(p)!r}: {reason}") from None
    finally:
        host_log.removeFilter(quiet)
    if p.stat().st_mode & 0o077:
        log.warning("identity key file %s is readable by other users (chmod 600 it)", p)
    return key_pair


class _DropRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def short_id(peer_id: str) -> str:
    """The last 6 characters of a peer id (its common prefix says nothing)."""
    return peer_id[-6:]


__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DEMO_INTERVAL",
    "DEFAULT_LISTEN",
    "DEFAULT_STATUS_INTERVAL",
    "DEFAULT_TOPIC",
    "ConfigError",
    "NodeConfig",
    "check_bootstrap",
    "check_data_dir",
    "check_key_path",
    "check_listen",
    "check_topic",
    "load_identity",
    "short_id",
]
