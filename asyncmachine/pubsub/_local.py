"""Own exposed machines and their owner-signed records (Go: ExposedMachs, the dirty tracer).

Go's tracer marks a machine dirty on *every* finished transition, canceled
ones included (defect 8); here only accepted transitions that changed the
clock mark it, and a push is scheduled right away (coalesced by the sender).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..machine import Machine, TracerBase
from ._schemas import check_wire_schema, wire_schema
from ._wallclock import wall_ms
from ._wire import (
    MachineInfo,
    Record,
    WireLimits,
    encode_clocks_body,
    encode_info_body,
    encode_links_body,
    signed_payload,
)

log = logging.getLogger(__name__)


class DirtyTracer(TracerBase):
    """A machine tracer calling ``on_dirty(index)`` after clock-changing transitions."""

    __slots__ = ("index", "on_dirty")

    def __init__(self, index: int, on_dirty: Callable[[int], None]) -> None:
        self.index = index
        self.on_dirty = on_dirty

    def transition_end(self, tx: Any) -> None:
        if tx.is_accepted and tx.time_after is not None and tx.time_after != tx.time_before:
            self.on_dirty(self.index)


@dataclass(slots=True)
class LocalMachine:
    mach: Machine
    info: MachineInfo
    tracer: DirtyTracer


class LocalRecords:
    """Builds and caches this peer's signed info and clocks records."""

    def __init__(
        self,
        peer_id: str,
        topic: str,
        epoch: int,
        sign: Callable[[bytes], bytes],
        limits: WireLimits,
        *,
        addrs: Sequence[str] = (),
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.peer_id = peer_id
        self.addrs = tuple(a for a in addrs if 0 < len(a) <= limits.max_addr_len)[
            : limits.max_addrs
        ]
        """Own listen addresses put into the info record (the first ``max_addrs``)."""
        self.clock = clock
        """Wall-clock ms for the records' ``time`` stamps."""
        self.info_time = 0
        self.clock_time = 0
        self.topic = topic
        self.epoch = epoch
        self.sign = sign
        self.limits = limits
        self.machines: list[LocalMachine] = []
        self.info_seq = 0
        self.clock_seq = 0
        self._info_rec: Record | None = None
        self._clock_rec: Record | None = None
        self._times: tuple[tuple[int, ...], ...] | None = None
        self.links_seq = 0
        self._links_rec: Record | None = None
        self._links: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    @staticmethod
    def describe(mach: Machine, limits: WireLimits) -> MachineInfo:
        """The wire description of a local machine; ValueError if over the limits."""
        ws = wire_schema(mach.schema(), mach.state_names())
        check_wire_schema(ws, limits, f"machine {mach.id}")
        if not mach.id or len(mach.id) > limits.max_id_len:
            raise ValueError(f"machine id {mach.id!r}: length must be 1..{limits.max_id_len}")
        if len(mach.parent_id) > limits.max_id_len:
            raise ValueError(f"machine {mach.id}: parent id too long")
        tags = tuple(mach.tags)
        if len(tags) > limits.max_tags or any(not t or len(t) > limits.max_name_len for t in tags):
            raise ValueError(f"machine {mach.id}: too many or bad tags")
        return MachineInfo(mach.id, ws, tags, mach.parent_id)

    def add(self, mach: Machine, on_dirty: Callable[[int], None]) -> LocalMachine:
        if any(lm.mach is mach for lm in self.machines):
            raise ValueError(f"machine {mach.id} is already exposed")
        if len(self.machines) >= self.limits.max_machines:
            raise ValueError(f"at most {self.limits.max_machines} machines can be exposed")
        info = self.describe(mach, self.limits)
        lm = LocalMachine(mach, info, DirtyTracer(len(self.machines), on_dirty))
        self.machines.append(lm)
        mach.add_tracer(lm.tracer)
        self._info_rec = None
        return lm

    def detach(self) -> None:
        """Remove the tracers from all exposed machines."""
        for lm in self.machines:
            with contextlib.suppress(ValueError):
                lm.mach.remove_tracer(lm.tracer)

    def _signed(self, seq: int, body: bytes) -> Record:
        sig = self.sign(signed_payload(self.topic, body))
        return Record(self.peer_id, self.epoch, seq, body, sig)

    def refresh_info(self) -> None:
        """Re-sign the info record at the next use (a new seq and stamp): records expire
        after ``record_max_age``, so an idle owner refreshes them well before."""
        self._info_rec = None

    def info_record(self) -> Record:
        """The current info record (a new seq after every exposure change or refresh)."""
        if self._info_rec is None:
            self.info_seq += 1
            self.info_time = self.clock()
            body = encode_info_body(
                self.peer_id,
                self.epoch,
                self.info_seq,
                [lm.info for lm in self.machines],
                time=self.info_time,
                addrs=self.addrs,
            )
            self._info_rec = self._signed(self.info_seq, body)
            self._clock_rec = None  # clocks name the info seq
        return self._info_rec

    def times(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(lm.mach.time()) for lm in self.machines)

    def clock_record(self, *, refresh: bool = False) -> tuple[Record, bool]:
        """The current clocks record; a new one (seq + 1) when any clock moved, or with
        ``refresh`` (a signed, stamped sign of life: the keepalive). Returns (record, is_new)."""
        self.info_record()
        times = self.times()
        if self._clock_rec is not None and times == self._times and not refresh:
            return self._clock_rec, False
        self.clock_seq += 1
        self.clock_time = self.clock()
        body = encode_clocks_body(
            self.peer_id, self.epoch, self.clock_seq, self.info_seq, times, time=self.clock_time
        )
        self._clock_rec = self._signed(self.clock_seq, body)
        self._times = times
        return self._clock_rec, True

    def links_record(
        self, connected: tuple[str, ...], mesh: tuple[str, ...]
    ) -> tuple[Record, bool]:
        """The links record for these (sorted, capped) lists; (record, is_new)."""
        links = (connected, mesh)
        if self._links_rec is not None and links == self._links:
            return self._links_rec, False
        self.links_seq += 1
        body = encode_links_body(self.peer_id, self.epoch, self.links_seq, connected, mesh)
        self._links_rec = self._signed(self.links_seq, body)
        self._links = links
        return self._links_rec, True

    @property
    def last_links(self) -> Record | None:
        return self._links_rec

    def current_versions(self) -> tuple[int, int, int]:
        """(epoch, info_seq, clock_seq) of the records last built."""
        return self.epoch, self.info_seq, self.clock_seq
