"""The ``asyncmachine`` command line: one sub-command per module in this package.

Every command behaves the same way on bad input: one line on stderr,
``asyncmachine <command>: error: <message>``, and exit status 2 (see
:class:`OneLineParser`); Ctrl-C exits 130 (``node`` handles it itself: bye, exit 0).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from ._logging import LOG_LEVELS, configure_logging, parse_log_spec

# sub-command -> module in this package; each module has add_parser(subparsers)
COMMANDS = {
    "node": "node",
    "sim": "sim",
    "bench": "bench",
    "graph": "graph",
    "dbg": "dbg",
    "history": "history",
    "submit": "submit",
    "demo": "demo",
}

EXIT_USAGE = 2
"""Bad flags or input (argparse's own code, kept for errors found after parsing)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), as shells report it."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``<prog>: error: <message>``, exit 2.

    argparse prints the whole usage before a type or choice error (6-11 lines for
    ``sim``); the README promises one line, which names the flag and the value.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class SubcommandParser(OneLineParser):
    """A sub-command's parser: reports unknown flags itself (with its own prog), where
    argparse would hand them back to the top-level parser and print the top usage."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        ns, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return ns, extras


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="asyncmachine",
        description="Clock-based Trio state machines gossiping over libp2p.",
    )
    p.add_argument(
        "--log-level",
        default="warning",
        choices=LOG_LEVELS,
        help="level of asyncmachine's own loggers (default: warning); other libraries' "
        "loggers stay at warning unless --log-all",
    )
    p.add_argument(
        "--log-all",
        action="store_true",
        help="apply --log-level to every library's loggers (py-libp2p, multiaddr, ...)",
    )
    p.add_argument(
        "--log",
        action="append",
        type=parse_log_spec,
        default=[],
        metavar="LOGGER=LEVEL",
        help="level of one logger and its children, e.g. asyncmachine.pubsub=debug or "
        "libp2p.pubsub=info; repeatable",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=SubcommandParser)
    for module in COMMANDS.values():
        importlib.import_module(f"{__name__}._{module}").add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``asyncmachine`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    configure_logging(args.log_level, log_all=args.log_all, loggers=args.log)
    try:
        rc: int = args.run(args)
    except KeyboardInterrupt:
        return _interrupted(args.command)
    except BaseExceptionGroup as eg:  # Trio delivers a second Ctrl-C inside a task group
        if eg.split(KeyboardInterrupt)[1] is not None:
            raise
        return _interrupted(args.command)
    return rc


def _interrupted(command: str) -> int:
    print(f"asyncmachine {command}: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
