"""Public keys in the encodings stock tools read: OpenSSH, allowed_signers, PEM, note."""

from __future__ import annotations

import base64
from enum import StrEnum
from typing import assert_never

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from custody import note, signing


class KeyFormat(StrEnum):
    """Export formats for ``custody keys export``."""

    OPENSSH = "openssh"
    ALLOWED_SIGNERS = "allowed-signers"
    PEM = "pem"
    NOTE = "note"


def openssh_line(public_key: bytes, comment: str = "") -> str:
    """``ssh-ed25519 AAAA… comment``."""
    b64 = base64.b64encode(signing.openssh_blob(public_key)).decode()
    return f"ssh-ed25519 {b64} {comment}".rstrip()


def pem(public_key: bytes) -> str:
    """SubjectPublicKeyInfo PEM, as ``openssl pkeyutl -pubin`` reads."""
    return (
        Ed25519PublicKey.from_public_bytes(public_key)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def signer_principal(name: str) -> str:
    """The ``allowed_signers`` principal of a name: ASCII letters, digits and ``._@-``
    only, so an ``ssh-keygen -I`` command line runs as written in any shell (a name like
    O'Brien would leave an open quote) and holds no OpenSSH pattern character."""
    safe = "".join(c if (c.isascii() and c.isalnum()) or c in "._@-" else "_" for c in name)
    return safe.lstrip("-") or "custody"


def export_public_key(
    public_key: bytes, fmt: KeyFormat, *, principal: str, origin: str | None = None
) -> str:
    """Render ``public_key`` in ``fmt``; ``origin`` names the log for the note format."""
    match fmt:
        case KeyFormat.OPENSSH:
            return openssh_line(public_key, principal) + "\n"
        case KeyFormat.ALLOWED_SIGNERS:
            safe = signer_principal(principal)
            return f'{safe} namespaces="custody-bundle" {openssh_line(public_key)}\n'
        case KeyFormat.PEM:
            return pem(public_key)
        case KeyFormat.NOTE:
            return note.verifier_key(origin or "custody", public_key) + "\n"
        case _:
            assert_never(fmt)


def fingerprint_groups(public_key: bytes) -> str:
    """A fingerprint to read aloud: the SHA-256 of the key in 8 groups of 4 hex digits."""
    hex_id = signing.key_id(public_key).split(":", 1)[1][:32]
    return " ".join(hex_id[i : i + 4] for i in range(0, 32, 4))
