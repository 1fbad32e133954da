"""Decoded wire data: message types, records, record bodies and messages.

All immutable, so decoded objects can be shared by every Topic of a process.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar, Final, NamedTuple, TypeAlias


class MsgType(enum.IntEnum):
    """The one table of message types: the wire value, and :attr:`label` (Go's ``Type``
    string, also the key of per-type metrics and rate limits)."""

    INFO = 1  # Go "info": machine records (+ their clocks); optionally a hello
    UPDATES = 2  # Go "updates": clock records
    GOSSIP = 3  # Go "gossip": version digests
    REQINFO = 4  # Go "reqinfo": ask for machine records of peers
    REQUPDATES = 5  # Go "requpdates": ask for clocks of peers
    BYE = 6  # Go "bye": clean leave
    LINKS = 7  # new: owner-signed lists of a peer's connections and mesh peers

    @property
    def label(self) -> str:
        """Go's ``Type`` string: ``info``, ``updates``, ..., ``links``."""
        return _LABELS[self]


_LABELS: dict[MsgType, str] = {t: t.name.lower() for t in MsgType}
"""The labels, computed once (an enum's ``name`` is a descriptor call)."""


class RecordKind(enum.IntEnum):
    """First element of a record body: which body it is (a signature covers it)."""

    INFO = 1
    CLOCKS = 2
    LINKS = 3


class Record(NamedTuple):
    """An owner-signed record as carried on the wire (Go: none, new).

    A tuple (not a dataclass): tens of thousands are built per second.
    """

    owner: str
    epoch: int
    seq: int
    body: bytes
    sig: bytes

    def to_wire(self) -> list[Any]:
        return [self.owner, self.epoch, self.seq, self.body, self.sig]

    @property
    def version(self) -> tuple[int, int]:
        """What orders copies of one owner's records: newer epoch, then newer seq."""
        return (self.epoch, self.seq)


@dataclass(frozen=True, slots=True)
class WireState:
    """One state's properties on the wire (Go: am.State)."""

    auto: bool
    multi: bool
    require: tuple[str, ...]
    add: tuple[str, ...]
    remove: tuple[str, ...]
    after: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WireSchema:
    """State names in time-vector order, and one WireState per name."""

    names: tuple[str, ...]
    states: tuple[WireState, ...]


@dataclass(frozen=True, slots=True)
class MachineInfo:
    """One exposed machine (Go: Info, minus MTime which lives in clock records)."""

    id: str
    schema: WireSchema
    tags: tuple[str, ...]
    parent: str


@dataclass(frozen=True, slots=True)
class InfoBody:
    """The signed body of an info record: all machines a peer exposes."""

    owner: str
    epoch: int
    seq: int
    machines: tuple[MachineInfo, ...]
    time: int = 0
    """The owner's wall clock when it signed the record, in milliseconds since the Unix
    epoch: records expire, and a peer's timeout counts from its owner's last stamp."""
    addrs: tuple[str, ...] = ()
    """The owner's listen addresses (multiaddr strings): signed, so relays can't forge them."""


@dataclass(frozen=True, slots=True)
class ClocksBody:
    """The signed body of a clocks record: full time vectors of every machine.

    ``info_seq`` names the info record whose machine list the vectors follow.
    """

    owner: str
    epoch: int
    seq: int
    info_seq: int
    clocks: tuple[tuple[int, ...], ...]
    time: int = 0
    """The owner's wall clock when it signed the record (ms since the Unix epoch)."""


@dataclass(frozen=True, slots=True)
class LinksBody:
    """The signed body of a links record: the owner's topic connections and mesh peers."""

    owner: str
    epoch: int
    seq: int
    connected: tuple[str, ...]
    mesh: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """Versions of one peer's records (Go: PeerGossips, with seqs not sums)."""

    peer: str
    epoch: int
    info_seq: int
    clock_seq: int

    def to_wire(self) -> list[Any]:
        return [self.peer, self.epoch, self.info_seq, self.clock_seq]


@dataclass(frozen=True, slots=True)
class InfoMsg:
    """Go: MsgInfo. ``hello`` (a nonce) asks a chosen peer for what the author misses;
    ``known`` lists the author's known peers (8-byte ring keys, see ``pack_keys``).

    ``sent``: the author's wall clock (ms) when it published the message, i.e. when the
    entries were broadcast; ``since`` (hellos only): the author's wall clock (ms) from
    which it has been listening on the topic, so records broadcast after it reached it
    (or are on their way) and need no answer. 0 = unknown (no such claim)."""

    TYPE: ClassVar[MsgType] = MsgType.INFO
    entries: tuple[tuple[Record, Record | None], ...]
    hello: int | None = None
    known: bytes | None = None
    since: int = 0
    sent: int = 0


@dataclass(frozen=True, slots=True)
class UpdatesMsg:
    """Go: MsgUpdates."""

    TYPE: ClassVar[MsgType] = MsgType.UPDATES
    records: tuple[Record, ...]


@dataclass(frozen=True, slots=True)
class GossipMsg:
    """Go: MsgGossip. ``view`` = (count, xor of ring keys) of the author's known peers
    (itself included): receivers with a different view pull what they miss."""

    TYPE: ClassVar[MsgType] = MsgType.GOSSIP
    digest: tuple[DigestEntry, ...]
    view: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class ReqInfoMsg:
    """Go: MsgReqInfo."""

    TYPE: ClassVar[MsgType] = MsgType.REQINFO
    nonce: int
    peers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReqUpdatesMsg:
    """Go: MsgReqUpdates."""

    TYPE: ClassVar[MsgType] = MsgType.REQUPDATES
    nonce: int
    peers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ByeMsg:
    """Go: MsgBye (never sent in Go); the author leaves the topic."""

    TYPE: ClassVar[MsgType] = MsgType.BYE
    epoch: int


@dataclass(frozen=True, slots=True)
class LinksMsg:
    """Links records (new): who each owner is connected to, for peer graphs."""

    TYPE: ClassVar[MsgType] = MsgType.LINKS
    records: tuple[Record, ...]


Message: TypeAlias = (
    InfoMsg | UpdatesMsg | GossipMsg | ReqInfoMsg | ReqUpdatesMsg | ByeMsg | LinksMsg
)

MESSAGE_CLASSES: Final[tuple[type[Message], ...]] = (
    InfoMsg,
    UpdatesMsg,
    GossipMsg,
    ReqInfoMsg,
    ReqUpdatesMsg,
    ByeMsg,
    LinksMsg,
)
