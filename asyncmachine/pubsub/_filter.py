"""One filter for remote machines (Go: ListMachines' ``ListFilters``).

Every listing and waiting call (``Topic.list_machines``, ``Topic.remote_machines``,
``Topic.wait_machines``, ``Node.remote_machines`` ...) takes the same six
filters, either as keywords (``topic.list_machines(peer_id=p, tags=["x"])``)
or as a ready :class:`MachineFilter` (``topic.list_machines(flt)``). Arguments
are checked once, here, with errors naming the bad filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Protocol, TypedDict

from ._wire import MachineInfo


class FilterArgs(TypedDict, total=False):
    """The keyword form of :class:`MachineFilter` (for ``**filters: Unpack[FilterArgs]``)."""

    id: str
    id_partial: str
    id_regex: str | re.Pattern[str]
    peer_id: str
    parent: str
    tags: Iterable[str]


class Listed(Protocol):
    """What a filter looks at: the owner peer and the *source* machine's info
    (:class:`~asyncmachine.pubsub.RemoteMachine` is one)."""

    @property
    def peer_id(self) -> str: ...

    @property
    def info(self) -> MachineInfo: ...


@dataclass(frozen=True, slots=True)
class MachineFilter:
    """Remote machines matching *every* given field (None: any).

    - ``id``: the exact machine id; ``id_partial``: a substring of it;
      ``id_regex``: a regex searched in it (a str is compiled here: a bad one
      raises ``ValueError`` naming it);
    - ``peer_id``: the owning peer; ``parent``: the source machine's parent id;
    - ``tags``: tags the machine must all carry (stored as a frozenset; a
      plain ``str`` is refused, it would mean its characters).
    """

    id: str | None = None
    id_partial: str | None = None
    id_regex: re.Pattern[str] | str | None = None
    peer_id: str | None = None
    parent: str | None = None
    tags: Iterable[str] | None = None

    def __post_init__(self) -> None:
        for name in ("id", "id_partial", "peer_id", "parent"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, str):
                raise TypeError(f"machine filter {name!r} must be a str, got {type(v).__name__}")
        rx = self.id_regex
        if isinstance(rx, str):
            try:
                object.__setattr__(self, "id_regex", re.compile(rx))
            except re.error as e:
                raise ValueError(f"machine filter 'id_regex': bad regex {rx!r}: {e}") from None
        elif rx is not None and not isinstance(rx, re.Pattern):
            raise TypeError(
                f"machine filter 'id_regex' must be a str or re.Pattern, got {type(rx).__name__}"
            )
        tags = self.tags
        if tags is not None:
            if isinstance(tags, str | bytes):
                raise TypeError(f"machine filter 'tags' must be an iterable of str, not {tags!r}")
            frozen = frozenset(tags)
            bad = [t for t in frozen if not isinstance(t, str)]
            if bad:
                raise TypeError(f"machine filter 'tags' must hold str, got {bad[0]!r}")
            object.__setattr__(self, "tags", frozen)

    @classmethod
    def of(cls, where: MachineFilter | None, filters: Mapping[str, object]) -> MachineFilter:
        """The filter of a call: ``where`` or the keyword ``filters`` (not both);
        unknown keywords raise ``TypeError`` naming them."""
        if where is not None:
            if not isinstance(where, MachineFilter):
                raise TypeError(f"expected a MachineFilter, got {type(where).__name__}")
            if filters:
                raise TypeError("pass either a MachineFilter or filter keywords, not both")
            return where
        unknown = sorted(set(filters) - FILTER_FIELDS)
        if unknown:
            raise TypeError(
                f"unknown machine filter {', '.join(unknown)} "
                f"(expected some of {', '.join(sorted(FILTER_FIELDS))})"
            )
        return cls(**filters)  # type: ignore[arg-type]

    def matches(self, rm: Listed) -> bool:
        """True when ``rm`` (its owner and source machine info) passes every filter."""
        m = rm.info
        if self.peer_id is not None and rm.peer_id != self.peer_id:
            return False
        if self.id is not None and m.id != self.id:
            return False
        if self.id_partial is not None and self.id_partial not in m.id:
            return False
        if isinstance(self.id_regex, re.Pattern) and self.id_regex.search(m.id) is None:
            return False
        if self.parent is not None and m.parent != self.parent:
            return False
        return self.tags is None or set(m.tags).issuperset(self.tags)

    def __str__(self) -> str:
        """The set fields, e.g. ``id='w1', tags=['a']`` (for error messages)."""
        parts = []
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            if isinstance(v, re.Pattern):
                v = v.pattern
            elif isinstance(v, frozenset):
                v = sorted(v)
            parts.append(f"{f.name}={v!r}")
        return ", ".join(parts) or "any"


FILTER_FIELDS: frozenset[str] = frozenset(f.name for f in fields(MachineFilter))
"""The six filter names (the keys of :class:`FilterArgs`)."""


__all__ = ["FILTER_FIELDS", "FilterArgs", "Listed", "MachineFilter"]
