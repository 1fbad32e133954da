"""Logging set-up of the command line: our loggers at ``--log-level``, others at warning.

An idle node at ``--log-level debug`` printed 177 lines in 6 s, mostly multiaddr's
and py-libp2p's debug output. Third-party records below warning are therefore
dropped unless ``--log-all`` is given or a ``--log NAME=LEVEL`` names their logger.
The filter sits on the root handlers (not on loggers), so it also holds when a
command raises the root level later (``node --log-level``).
"""

from __future__ import annotations

import argparse
import logging

LOG_LEVELS = ("debug", "info", "warning", "error")
OWN_LOGGER = "asyncmachine"


def parse_log_spec(text: str) -> tuple[str, str]:
    """``NAME=LEVEL`` (the ``--log`` flag) -> (logger name, level)."""
    name, sep, level = text.partition("=")
    name, level = name.strip(), level.strip().lower()
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected LOGGER=LEVEL, got {text!r}")
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"unknown level {level!r} in {text!r} (choose from {', '.join(LOG_LEVELS)})"
        )
    return name, level


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


class ThirdPartyFilter(logging.Filter):
    """Passes records of ``allowed`` loggers (and their children) at any level, and other
    loggers' records from warning up."""

    def __init__(self) -> None:
        super().__init__()
        self.allowed: tuple[str, ...] = (OWN_LOGGER,)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return any(_under(record.name, p) for p in self.allowed)


_FILTER = ThirdPartyFilter()


def configure_logging(level: str, *, log_all: bool, loggers: list[tuple[str, str]]) -> None:
    """Root at ``level``; each ``--log`` logger at its own level; third-party loggers below
    warning filtered out unless ``log_all``."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(getattr(logging, level.upper()))
    for name, lvl in loggers:
        logging.getLogger(name).setLevel(getattr(logging, lvl.upper()))
    _FILTER.allowed = (OWN_LOGGER, *(name for name, _ in loggers))
    for h in root.handlers:
        if log_all:
            h.removeFilter(_FILTER)
        elif _FILTER not in h.filters:
            h.addFilter(_FILTER)


__all__ = ["LOG_LEVELS", "ThirdPartyFilter", "configure_logging", "parse_log_spec"]
