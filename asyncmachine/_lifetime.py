"""``async with obj:`` for objects whose lifetime is an ``@asynccontextmanager``.

Machine, Node and MemoryNetwork each run a nursery for as long as they are
entered. Writing that as one generator (``try``/``finally`` around ``yield``)
keeps teardown correct whatever raises, which hand-written ``__aexit__`` methods
got wrong (a raising hook left the nursery open: "Nursery stack corrupted").
:class:`Lifetime` holds the entered generator so ``__aenter__``/``__aexit__``
stay one-line delegates.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class Lifetime(Generic[T]):
    """One ``async with`` at a time over a context manager made by ``factory``."""

    __slots__ = ("_cm", "_factory", "_what")

    def __init__(self, factory: Callable[[], AbstractAsyncContextManager[T]], what: str) -> None:
        self._factory = factory
        self._what = what
        self._cm: AbstractAsyncContextManager[T] | None = None

    @property
    def entered(self) -> bool:
        """Inside ``async with`` (also while entering and leaving)."""
        return self._cm is not None

    async def enter(self) -> T:
        """Enter a fresh context; entering twice is an error (it would leak the first)."""
        if self._cm is not None:
            raise RuntimeError(f"{self._what} is already running")
        cm = self._cm = self._factory()
        try:
            return await cm.__aenter__()
        except BaseException:
            self._cm = None
            raise

    async def exit(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        """Leave the context entered by :meth:`enter`."""
        cm, self._cm = self._cm, None
        if cm is None:
            raise RuntimeError(f"{self._what} is not running")
        return await cm.__aexit__(exc_type, exc, tb)
