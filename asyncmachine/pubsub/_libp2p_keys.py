"""Ed25519 identities for the py-libp2p transport: key files, peer ids, verify keys.

The peer id of an ed25519 key embeds the public key (an identity multihash), so a
signature can be checked against a peer id alone (:func:`verify_key_of`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import secrets
from pathlib import Path

import base58
from libp2p.crypto.ed25519 import Ed25519PrivateKey, create_new_key_pair
from libp2p.crypto.keys import KeyPair, KeyType
from libp2p.peer.id import ID
from nacl.signing import VerifyKey

logger = logging.getLogger(__name__)

# ed25519 PrivateKey protobuf: field 1 (type) = 1, field 2 (data) = 32-byte seed (py)
# or 64-byte seed+public key (go); ed25519 peer id: identity multihash of the
# 36-byte PublicKey protobuf.
_PRIV_PB_PREFIX_32 = b"\x08\x01\x12\x20"
_PRIV_PB_PREFIX_64 = b"\x08\x01\x12\x40"
_PEER_ID_PREFIX = b"\x00\x24\x08\x01\x12\x20"
_PEER_ID_LEN = len(_PEER_ID_PREFIX) + 32


def peer_id_of(key_pair: KeyPair) -> str:
    """The base58 peer id of ``key_pair``."""
    return ID.from_pubkey(key_pair.public_key).to_base58()


def _key_pair_from_seed(seed: bytes) -> KeyPair:
    private = Ed25519PrivateKey.from_bytes(seed)
    return KeyPair(private, private.get_public_key())


def _decode_key_file(data: bytes, path: Path) -> KeyPair:
    if len(data) == 32:
        return _key_pair_from_seed(data)
    if len(data) == 36 and data.startswith(_PRIV_PB_PREFIX_32):
        return _key_pair_from_seed(data[4:])
    if len(data) == 68 and data.startswith(_PRIV_PB_PREFIX_64):
        kp = _key_pair_from_seed(data[4:36])
        if kp.public_key.to_bytes() == data[36:]:
            return kp
    raise ValueError(
        f"identity key file {str(path)!r} is not an ed25519 libp2p private key "
        f"(expected a 36/68-byte protobuf or a 32-byte seed, got {len(data)} bytes)"
    )


def _write_new_key(path: Path) -> None:
    """Write a fresh key atomically with mode 0600; never overwrites an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            os.fchmod(f.fileno(), 0o600)  # whatever the umask
            f.write(create_new_key_pair().private_key.serialize())
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # lost a creation race: keep theirs
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_or_create_key(path: str | os.PathLike[str]) -> KeyPair:
    """Load the ed25519 identity at ``path``, creating it (mode 0600) if missing.

    The file holds the libp2p protobuf serialization of the private key (go-libp2p's
    64-byte form and a raw 32-byte seed are read too). A file that is not such a key
    raises ValueError, an unreadable one OSError; both name the path.
    """
    p = Path(path)
    if not p.exists():
        _write_new_key(p)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise OSError(e.errno, f"cannot read identity key file {str(p)!r}: {e.strerror}") from e
    if p.stat().st_mode & 0o077:
        logger.warning("identity key file %s is readable by other users", p)
    return _decode_key_file(data, p)


def check_ed25519(key_pair: KeyPair) -> None:
    """Reject non-ed25519 keys (verify derives the public key from the peer id)."""
    if key_pair.private_key.get_type() != KeyType.Ed25519:
        raise ValueError(f"identity key must be ed25519, not {key_pair.private_key.get_type()}")


@functools.lru_cache(maxsize=4096)
def verify_key_of(peer_id: str) -> VerifyKey | None:
    """The ed25519 public key embedded in a base58 peer id, or None if it has none."""
    try:
        raw = base58.b58decode(peer_id)
    except Exception:
        return None
    if len(raw) != _PEER_ID_LEN or not raw.startswith(_PEER_ID_PREFIX):
        return None
    return VerifyKey(raw[len(_PEER_ID_PREFIX) :])
