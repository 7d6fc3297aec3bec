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

import binascii
import hashlib
import os
import re
import secrets
from collections import deque
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
    salt = _next_salt()
    raw = _fresh_bytes(kind, salt, digests)
    return Disclosure(kind, salt, digests.sha256, digests.size, digests.sha512, raw)


def fresh_disclosure_bytes(kind: str, digests: Digests) -> bytes:
    """The bytes of :func:`make_disclosure`'s disclosure, without the parsed fields
    (for writers of many units that only store the bytes and their commitment)."""
    try:
        salt = _salts.popleft()
    except IndexError:
        salt = _next_salt()
    return _fresh_bytes(kind, salt, digests)


_SALT_POOL = 64  # salts drawn from the system CSPRNG at once
_SALT_CHARS = 43  # unpadded base64 of 32 bytes (the 44th character is "=")
_URL_SAFE = bytes.maketrans(b"+/", b"-_")  # as base64.urlsafe_b64encode translates
_salts: deque[str] = deque()
"""Unused salts (unpadded base64url), drawn in bulk: one ``secrets.token_bytes`` call of
2 KiB costs about two of 32 bytes (a system call each), and the pool stays under 6 KB
(memory must not grow with the units committed). ``popleft`` is atomic, so two threads
never get the same salt; a forked child starts with none of its parent's."""
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_salts.clear)


def _next_salt() -> str:
    """A fresh salt: 32 bytes of ``secrets.token_bytes``, unpadded base64url."""
    try:
        return _salts.popleft()
    except IndexError:
        pool = secrets.token_bytes(SALT_BYTES * _SALT_POOL)
        # each salt's base64 (44 characters, the last "="), then all made URL-safe at once
        coded = b"".join(
            binascii.b2a_base64(pool[i : i + SALT_BYTES], newline=False)
            for i in range(0, len(pool), SALT_BYTES)
        )
        text = coded.translate(_URL_SAFE).decode("ascii")
        _salts.extend(text[i : i + _SALT_CHARS] for i in range(0, len(text), _SALT_CHARS + 1))
        return _salts.popleft()


def _fresh_bytes(kind: str, salt: str, digests: Digests) -> bytes:
    """RFC 8785 bytes of ``{"kind", "salt", "sha256", "size", "v": 1}`` (+ ``sha512``).

    The general encoder costs ~45 µs a call, which dominated importing a million chat
    messages. When no string needs an escape (a kind token, base64url, hex digests) and
    the size is a safe integer, JCS is just the members in code-point order (kind, salt,
    sha256, sha512, size, v), without spaces: written directly, as the tests check
    against rfc8785 over random inputs. Anything else goes through the general encoder.
    """
    sha256, sha512, size = digests.sha256, digests.sha512, digests.size
    if (
        (kind in _plain_kinds or _plain_kind(kind))
        and type(size) is int
        and 0 <= size < 2**53
        and _hex(sha256, sha512 or "")
    ):
        head = f'{{"kind":"{kind}","salt":"{salt}","sha256":"{sha256}",'
        if sha512:
            return f'{head}"sha512":"{sha512}","size":{size},"v":1}}'.encode()
        return f'{head}"size":{size},"v":1}}'.encode()
    doc: dict[str, Any] = {"v": 1, "kind": kind, "salt": salt, "sha256": sha256, "size": size}
    if sha512:
        doc["sha512"] = sha512
    return canonical.dumps(doc)


_plain_kinds: set[str] = set()  # kinds seen to match _KIND (a handful in all)


def _plain_kind(kind: str) -> bool:
    if _KIND.fullmatch(kind) is None:
        return False
    _plain_kinds.add(kind)
    return True


def _hex(*texts: object) -> bool:
    """True if each is a str of hexadecimal digits (checked in C: faster than a pattern)."""
    try:
        for text in texts:
            if type(text) is not str:
                return False
            binascii.a2b_hex(text)
    except ValueError:  # binascii.Error (odd length, not hex) or not ASCII
        return False
    return True


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
