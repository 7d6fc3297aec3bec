"""Salted commitments: one scheme for every unit a bundle may disclose or withhold.

A *unit* is any byte string we may later show or hide: a file, a details record, a chat
message, an attachment, a WARC record. Its *disclosure* is the RFC 8785 canonical JSON

    {"kind": K, "salt": S, "sha256": H, "size": N, "v": 1}   (+ "sha512" when known)

where ``S`` is 32 random bytes in unpadded base64url and ``H`` the SHA-256 of the unit's
bytes. The *commitment* is ``sha256:`` + hex SHA-256 of the disclosure bytes. Log entries
hold only commitments; disclosures stay in the case (``disclosures/``) until a bundle
reveals them. Without the salt, a withheld unit cannot be confirmed by guessing.

Many units are committed at once as the RFC 6962 root over the raw 32-byte commitments
(leaf = SHA-256(0x00 || commitment)) with their count; see docs/formats/commitments.md.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from custody import canonical, merkle, strictjson
from custody.errors import CustodyError, IntegrityError
from custody.hashing import Digests

SALT_BYTES = 32
_COMMITMENT = re.compile(r"sha256:[0-9a-f]{64}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")
_SALT = re.compile(r"[A-Za-z0-9_-]{22,}")
_KIND = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_PLAIN = re.compile(r"[A-Za-z0-9_-]*")  # strings JCS writes as they are, without escapes
_FIELDS = frozenset({"v", "kind", "salt", "sha256", "size", "sha512"})


@dataclass(frozen=True, slots=True)
class Disclosure:
    """A parsed disclosure together with its exact bytes."""

    kind: str
    salt: str
    sha256: str
    size: int
    sha512: str | None
    raw: bytes

    @property
    def commitment(self) -> str:
        return commitment_of(self.raw)


def commitment_of(disclosure: bytes) -> str:
    """The commitment to a disclosure's exact bytes."""
    return "sha256:" + hashlib.sha256(disclosure).hexdigest()


def is_commitment(value: object) -> bool:
    """True if ``value`` is a well-formed commitment string."""
    return isinstance(value, str) and _COMMITMENT.fullmatch(value) is not None


def make_disclosure(kind: str, digests: Digests) -> Disclosure:
    """A fresh disclosure (new random salt) for a unit with ``digests``."""
    salt = base64.urlsafe_b64encode(secrets.token_bytes(SALT_BYTES)).decode().rstrip("=")
    doc: dict[str, Any] = {
        "v": 1,
        "kind": kind,
        "salt": salt,
        "sha256": digests.sha256,
        "size": digests.size,
    }
    if digests.sha512:
        doc["sha512"] = digests.sha512
    fast = _KIND.fullmatch(kind) and 0 <= digests.size < 2**53
    raw = _disclosure_bytes(doc) if fast else canonical.dumps(doc)
    return Disclosure(kind, salt, digests.sha256, digests.size, digests.sha512, raw)


def _disclosure_bytes(doc: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of a disclosure whose strings are plain ASCII tokens.

    The general encoder costs ~45 µs a call, which dominates importing a million chat
    messages. For this fixed shape (ASCII keys; values that are base64url, hex, a kind
    token, or integers) JCS is just keys in code-point order, no spaces, no escapes; the
    tests compare it with rfc8785 on every shape.
    """
    return (
        "{"
        + ",".join(
            f'"{k}":{doc[k]}' if isinstance(doc[k], int) else f'"{k}":"{doc[k]}"'
            for k in sorted(doc)
        )
        + "}"
    ).encode("ascii")


def _canonical(doc: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of a parsed disclosure: the fast encoder when its shape allows."""
    plain = all(
        (isinstance(v, str) and _PLAIN.fullmatch(v)) or (type(v) is int and 0 <= v < 2**53)
        for v in doc.values()
    )
    if plain and set(doc) <= _FIELDS:
        return _disclosure_bytes(doc)
    return canonical.dumps(doc)


def parse_disclosure(raw: bytes) -> Disclosure:
    """Parse and check a disclosure's exact bytes (canonical form, fields, types).

    Raises:
        IntegrityError: the bytes are not a well-formed canonical disclosure.
    """
    try:
        doc = strictjson.loads_strict(raw)
    except CustodyError as exc:
        raise IntegrityError(f"disclosure does not parse: {exc.message}") from None
    if not isinstance(doc, dict) or _canonical(doc) != raw:
        raise IntegrityError("disclosure is not canonical JSON")
    keys = set(doc)
    if (
        type(doc.get("v")) is not int
        or doc["v"] != 1
        or not {"v", "kind", "salt", "sha256", "size"} <= keys
    ):
        raise IntegrityError("disclosure lacks required fields")
    if keys - {"v", "kind", "salt", "sha256", "size", "sha512"}:
        raise IntegrityError("disclosure has unknown fields")
    sha512 = doc.get("sha512")
    if (
        not isinstance(doc["kind"], str)
        or not isinstance(doc["salt"], str)
        or not _SALT.fullmatch(doc["salt"])
        or not isinstance(doc["sha256"], str)
        or not _HEX64.fullmatch(doc["sha256"])
        or not isinstance(doc["size"], int)
        or isinstance(doc["size"], bool)
        or doc["size"] < 0
        or (sha512 is not None and not (isinstance(sha512, str) and _HEX128.fullmatch(sha512)))
    ):
        raise IntegrityError("disclosure has a malformed field")
    return Disclosure(doc["kind"], doc["salt"], doc["sha256"], doc["size"], sha512, raw)


class CommitmentsRoot:
    """The RFC 6962 root over commitments given one at a time, in O(log n) memory.

    Leaf *i* is ``SHA-256(0x00 || raw 32 bytes of commitment i)``, as in
    :func:`commitments_root`; nothing but :class:`custody.merkle.RootBuilder`'s subtree
    hashes is kept, so committing to a million units needs no list of them.
    """

    __slots__ = ("_builder",)

    def __init__(self, keep_level: int | None = None) -> None:
        self._builder = merkle.RootBuilder(keep_level)

    @property
    def builder(self) -> merkle.RootBuilder:
        """The root builder (its ``kept`` subtree hashes, with ``keep_level``)."""
        return self._builder

    @property
    def count(self) -> int:
        """The number of commitments added."""
        return self._builder.size

    def add(self, commitment: str) -> None:
        """Add the next commitment (``sha256:<hex>``).

        Raises:
            ValueError: what follows the colon is not hex.
            IndexError: there is no colon.
        """
        self._builder.add(merkle.leaf_hash(bytes.fromhex(commitment.split(":", 1)[1])))

    def root(self) -> str:
        """The root (hex) over the commitments added so far."""
        return self._builder.root().hex()


def commitments_root(commitments: Iterable[str]) -> str:
    """RFC 6962 root (hex) over many commitments, for an entry committing to a list.

    Raises:
        ValueError: what follows a commitment's colon is not hex.
        IndexError: a commitment has no colon.
    """
    builder = CommitmentsRoot()
    for commitment in commitments:
        builder.add(commitment)
    return builder.root()
