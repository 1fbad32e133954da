"""Validated node options and the persistent identity key.

Everything a user can get wrong is checked here, up front, before any host
starts: multiaddrs, the topic name, intervals and the key file. Problems raise
:class:`ConfigError`, whose message is one line naming the problem (the CLI
prints it and exits with code 2).
"""

from __future__ import annotations

import errno
import logging
import math
import os
import re
import socket
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
DATA_ENV = "ASYNCMACHINE_DATA"
"""Environment variable overriding :func:`default_data_dir` (tests, several setups)."""
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def default_data_dir() -> Path:
    """Where named identities (``--name``) and their state live: ``$ASYNCMACHINE_DATA``,
    else the platform's user data directory, ``$XDG_DATA_HOME/asyncmachine`` or
    ``~/.local/share/asyncmachine`` (XDG base directory spec: relative values are ignored).
    Keeps key files out of the working directory (and out of ``git status``)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "asyncmachine"


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
    the status summary (0: events only). ``name`` is a persistent identity kept in the
    data directory (``<data_dir or default_data_dir()>/<name>.key``); ``key_path`` an
    explicit key file; neither: a new identity each run.
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
    name: str | None = None
    allow: tuple[str, ...] = ()
    """``PEER:State,...`` / ``*:State,...``: who may mutate exposed machines (default deny)."""
    workers: tuple[str, ...] = ()
    """``KIND=module:factory``: supervised worker pools (asyncmachine.rpc)."""
    pool: int = 2

    @property
    def key_file(self) -> Path | None:
        """The identity key file: ``key_path``, else ``<name>.key`` in the data directory;
        None for a new identity each run."""
        if self.key_path is not None or self.name is None:
            return self.key_path
        root = self.data_dir if self.data_dir is not None else default_data_dir()
        return root / f"{self.name}.key"

    @property
    def state_dir(self) -> Path | None:
        """Where the node keeps its saved peers and session epoch (files named by peer id):
        ``data_dir``, else the key file's directory; None without a key file."""
        key = self.key_file
        if key is None:
            return None
        return self.data_dir if self.data_dir is not None else key.parent

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
        if self.name is not None:
            check_name(self.name, has_key=self.key_path is not None)
        key = self.key_file
        if key is not None:
            check_key_path(key)
        if self.data_dir is not None:
            check_data_dir(self.data_dir, has_key=key is not None)
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


def check_listen_free(addrs: tuple[str, ...] | list[str]) -> None:
    """Each fixed listen port must be free. py-libp2p binds with SO_REUSEPORT (for hole
    punching), so a second node on a port another process holds starts without error and
    the kernel splits incoming connections between the two; a probe bind without
    SO_REUSEPORT fails on a held port. Port 0 (any free port) is not probed."""
    from asyncmachine.pubsub.libp2p import parse_listen_addrs

    for addr, maddr in zip(addrs, parse_listen_addrs(list(addrs)), strict=True):
        names = [p.name for p in maddr.protocols()]
        port = int(maddr.value_for_protocol(names[1]))
        if port == 0:
            continue
        family = socket.AF_INET6 if names[0] == "ip6" else socket.AF_INET
        kind = socket.SOCK_STREAM if names[1] == "tcp" else socket.SOCK_DGRAM
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
            try:
                probe.bind((maddr.value_for_protocol(names[0]), port))
            except OSError as e:
                if e.errno == errno.EADDRINUSE:
                    raise ConfigError(
                        f"--listen {addr}: {names[1]} port {port} is in use by another process"
                    ) from None
                raise ConfigError(f"--listen {addr}: {e.strerror or e}") from None


def check_not_self(bootstrap: tuple[str, ...] | list[str], peer_id: str) -> None:
    """No bootstrap address may carry this node's own peer id: libp2p never dials itself,
    so such a node ran alone with 0 peers and no warning (two nodes with one key file)."""
    from asyncmachine.pubsub.libp2p import parse_bootstrap_addrs

    for addr, info in parse_bootstrap_addrs(list(bootstrap)):
        if info.peer_id.to_base58() == peer_id:
            raise ConfigError(
                f"--bootstrap {addr}: that is this node's own peer id (is another node "
                "running with the same key file? give each node its own --name or --key)"
            )


def check_name(name: str, *, has_key: bool) -> None:
    """``--name``: a file name (letters, digits, ``._-``), not with ``--key``."""
    if has_key:
        raise ConfigError("--name and --key exclude each other (--key is an explicit path)")
    if not _NAME.fullmatch(name):
        raise ConfigError(f"bad --name {name!r}: use letters, digits, '.', '_' and '-'")


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
    """``--data-dir`` needs a key (``--name`` or ``--key``: state is kept per identity)
    and must be a writable directory, or creatable (the node creates it when it starts)."""
    if not has_key:
        raise ConfigError(
            "--data-dir needs --name or --key: the saved state belongs to one identity"
        )
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
    host_log = logging.getLogger("asyncmachine.pubsub._libp2p_keys")
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
    "DATA_ENV",
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
    "check_listen_free",
    "check_name",
    "check_not_self",
    "check_topic",
    "default_data_dir",
    "load_identity",
    "short_id",
]
