"""Hardened CBOR loading: plain data only, bounded nesting, typed errors.

Needs cbor2 >= 6.0: ``semantic_decoders`` and ``allow_indefinite`` are new in 6.0
(``max_depth`` in 5.9); older versions reject these keywords with ``TypeError``, which
is deliberately *not* caught here, so a too-old cbor2 fails loudly instead of turning
every message into a ``cbor`` rejection.
"""

from __future__ import annotations

from typing import Any, Final, NoReturn

import cbor2

from ._limits import Reason, fail

MAX_DEPTH: Final = 12
"""Deepest nesting of arrays/maps a message may have (an info body needs 6)."""

# the errors cbor2 raises for malformed input; anything else is a bug or a broken install
_MALFORMED: Final = (
    cbor2.CBORDecodeError,
    ValueError,  # includes UnicodeDecodeError (bad UTF-8 in a text string)
    RecursionError,
    OverflowError,
)


def _reject_tag(_decoder: Any, *_args: Any) -> NoReturn:
    raise cbor2.CBORDecodeError("CBOR tags are not allowed")


# cbor2's built-in semantic tags (datetime, bignum, regex, ...) are all refused
_SEMANTIC_TAGS: Final = (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256, 258)
_NO_SEMANTIC: Final = {t: _reject_tag for t in (*_SEMANTIC_TAGS, 260, 261, 1004, 55799)}


def loads(data: bytes, what: str) -> Any:
    """Decode CBOR without tags or indefinite lengths, nested at most :data:`MAX_DEPTH`;
    raises :class:`DecodeError` (reason ``cbor``) for malformed input."""
    try:
        return cbor2.loads(
            data,
            tag_hook=_reject_tag,
            semantic_decoders=_NO_SEMANTIC,
            max_depth=MAX_DEPTH,
            allow_indefinite=False,
        )
    except _MALFORMED as e:
        fail(Reason.CBOR, f"{what}: {type(e).__name__}: {e}")


def dumps(obj: Any) -> bytes:
    """Encode plain data as CBOR (cbor2's canonical-enough default: shortest lengths)."""
    return cbor2.dumps(obj)
