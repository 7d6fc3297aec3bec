"""C2SP signed notes and tlog checkpoints (c2sp.org/signed-note, c2sp.org/tlog-checkpoint).

A checkpoint is the note text ``<origin>\\n<size>\\n<base64 root>\\n``, a blank line, and
signature lines ``— <key name> <base64(key id (4 bytes) || Ed25519 signature)>\\n``.
The key name is the origin; the 4-byte key id is SHA-256(name || 0x0A || 0x01 || key)[:4].
The Ed25519 signature is over the note text exactly, so ``openssl pkeyutl -verify -rawin``
checks it against the signer's PEM public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from custody import signing

SIG_PREFIX = "\u2014 "  # em dash and space
ED25519_TYPE = b"\x01"


def note_key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte signed-note key id of an Ed25519 key."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The C2SP verifier key string ``<name>+<hex key id>+<base64(0x01 || key)>``."""
    kid = note_key_id(name, public_key).hex()
    return f"{name}+{kid}+{base64.b64encode(ED25519_TYPE + public_key).decode()}"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A parsed, not yet trusted, checkpoint."""

    origin: str
    size: int
    root: bytes
    body: bytes  # the exact signed note text
    signatures: tuple[tuple[str, bytes, bytes], ...]  # (name, key id, signature)

    def signed_by(self, public_keys: Iterable[bytes]) -> bytes | None:
        """The first of ``public_keys`` with a valid signature line for the origin, or None."""
        for key in public_keys:
            kid = note_key_id(self.origin, key)
            for name, line_kid, sig in self.signatures:
                if (
                    name == self.origin
                    and line_kid == kid
                    and signing.verify_strict(key, self.body, sig)
                ):
                    return key
        return None


def checkpoint_body(origin: str, size: int, root: bytes) -> bytes:
    """The note text of a checkpoint."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n".encode()


def sign_checkpoint(origin: str, size: int, root: bytes, signer: signing.Signer) -> bytes:
    """A complete signed checkpoint note."""
    body = checkpoint_body(origin, size, root)
    sig = signer.sign(body)
    line = base64.b64encode(note_key_id(origin, signer.public_key) + sig).decode()
    return body + b"\n" + f"{SIG_PREFIX}{origin} {line}\n".encode()


class NoteFormatError(ValueError):
    """The bytes are not a well-formed checkpoint note."""


def parse_checkpoint(data: bytes) -> Checkpoint:
    """Parse a checkpoint note strictly (signatures are checked by :meth:`Checkpoint.signed_by`).

    Raises:
        NoteFormatError: the note is malformed.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteFormatError("checkpoint is not UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteFormatError("checkpoint holds control characters")
    body, sep, sigs = text.partition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise NoteFormatError("checkpoint has no signature block")
    lines = body.split("\n")
    if len(lines) < 3:
        raise NoteFormatError("checkpoint body needs origin, size and root lines")
    origin, size_s, root_s = lines[0], lines[1], lines[2]
    if not origin or " " in origin or "+" in origin:
        raise NoteFormatError("bad origin line")
    if not (size_s.isascii() and size_s.isdigit()) or (size_s != "0" and size_s.startswith("0")):
        raise NoteFormatError("bad tree size line")
    try:
        root = base64.b64decode(root_s, validate=True)
    except binascii.Error:
        raise NoteFormatError("root is not base64") from None
    if len(root) != 32:
        raise NoteFormatError("root is not 32 bytes")
    signatures: list[tuple[str, bytes, bytes]] = []
    for line in sigs[:-1].split("\n"):
        if not line.startswith(SIG_PREFIX):
            raise NoteFormatError("malformed signature line")
        name, _, b64 = line[len(SIG_PREFIX) :].rpartition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error:
            raise NoteFormatError("signature is not base64") from None
        if len(raw) < 5:
            raise NoteFormatError("signature too short")
        signatures.append((name, raw[:4], raw[4:]))
    return Checkpoint(
        origin=origin,
        size=int(size_s),
        root=root,
        body=(body + "\n").encode(),
        signatures=tuple(signatures),
    )
