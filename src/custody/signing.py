"""Ed25519 signing and the one verification policy custody promises.

Policy ("strict", the rule of ed25519-dalek ``verify_strict`` and libsodium's encoding
checks, with OpenSSL's cofactorless equation):

1. a public key is exactly 32 bytes and a signature exactly 64 bytes;
2. ``S`` (the last 32 bytes of the signature) is canonical: ``S < L``;
3. the public key ``A`` and the commitment ``R`` are canonical encodings: the
   y-coordinate is below ``p = 2^255 - 19`` and x = 0 is never encoded with the sign bit;
4. neither ``A`` nor ``R`` is one of the eight small-order points;
5. the cofactorless equation ``[S]B = R + [k]A`` holds (checked by OpenSSL through
   ``cryptography``).

Rules 1-4 are checked here before OpenSSL is asked; the accepted set of the C2SP CCTV
edge vectors is pinned in the tests.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_Y_MASK = (1 << 255) - 1
# y-coordinates of the eight small-order points (identity, order 2, order 4 and order 8).
_Y8 = int.from_bytes(
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), "little"
)
_SMALL_ORDER_Y = frozenset({1, _P - 1, 0, _Y8 & _Y_MASK, _P - (_Y8 & _Y_MASK)})


def _point_is_acceptable(encoding: bytes) -> bool:
    value = int.from_bytes(encoding, "little")
    y = value & _Y_MASK
    if y >= _P:
        return False  # non-canonical y
    return y not in _SMALL_ORDER_Y  # small order (this also covers x = 0 "negative zero")


def public_key_is_acceptable(public_key: bytes) -> bool:
    """True if ``public_key`` is a canonical, non-small-order Ed25519 encoding."""
    return len(public_key) == 32 and _point_is_acceptable(public_key)


def verify_strict(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Verify an Ed25519 signature under the strict policy in this module's docstring."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    if int.from_bytes(signature[32:], "little") >= _L:
        return False
    if not _point_is_acceptable(public_key) or not _point_is_acceptable(signature[:32]):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def key_id(public_key: bytes) -> str:
    """The key id used in log entries: ``ed25519:`` and the hex SHA-256 of the raw key."""
    return "ed25519:" + hashlib.sha256(public_key).hexdigest()


def ssh_fingerprint(public_key: bytes) -> str:
    """The fingerprint ``ssh-keygen -lf`` prints: ``SHA256:`` + unpadded base64."""
    blob = openssh_blob(public_key)
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def openssh_blob(public_key: bytes) -> bytes:
    """The SSH wire encoding of an Ed25519 public key."""
    name = b"ssh-ed25519"
    return len(name).to_bytes(4, "big") + name + len(public_key).to_bytes(4, "big") + public_key


class Signer(Protocol):
    """Something that signs bytes with an Ed25519 key (a key file today; a token later)."""

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Return a 64-byte Ed25519 signature of ``message``."""
        ...


@dataclass(frozen=True)
class KeySigner:
    """A :class:`Signer` over an in-memory private key (unlocked from a key file)."""

    private: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)
