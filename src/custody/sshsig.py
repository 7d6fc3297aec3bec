"""OpenSSH signatures (SSHSIG, PROTOCOL.sshsig) made and checked with an Ed25519 key.

``ssh-keygen -Y verify`` (OpenSSH 8.1 and later) checks what :func:`sign` makes. The
signed blob is ``"SSHSIG" || string(namespace) || string("") || string("sha512") ||
string(SHA-512(message))``; the armoured signature holds the public key, the namespace,
the hash algorithm and the Ed25519 signature (``string("ssh-ed25519") || string(sig)``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from custody import signing

MAGIC = b"SSHSIG"
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
HASH = b"sha512"


class SshsigError(ValueError):
    """The bytes are not a well-formed SSHSIG signature custody can check."""


def _string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def signed_blob(namespace: str, message_digest: bytes) -> bytes:
    """The bytes an SSHSIG signature is over, given SHA-512 of the message."""
    return (
        MAGIC + _string(namespace.encode()) + _string(b"") + _string(HASH) + _string(message_digest)
    )


def sign(signer: signing.Signer, message: bytes, namespace: str) -> str:
    """An armoured SSHSIG signature of ``message`` (as ``ssh-keygen -Y sign`` writes)."""
    sig = signer.sign(signed_blob(namespace, hashlib.sha512(message).digest()))
    blob = (
        MAGIC
        + (1).to_bytes(4, "big")
        + _string(signing.openssh_blob(signer.public_key))
        + _string(namespace.encode())
        + _string(b"")
        + _string(HASH)
        + _string(_string(b"ssh-ed25519") + _string(sig))
    )
    b64 = base64.b64encode(blob).decode()
    lines = [b64[i : i + 70] for i in range(0, len(b64), 70)]
    return "\n".join([BEGIN, *lines, END]) + "\n"


@dataclass(frozen=True, slots=True)
class Sshsig:
    """A parsed SSHSIG signature (not yet checked)."""

    public_key: bytes
    namespace: str
    hash_algorithm: str
    signature: bytes

    def verify(self, message: bytes, namespace: str, keys: Iterable[bytes]) -> bytes | None:
        """The one of ``keys`` that made this signature over ``message``, or None."""
        if self.namespace != namespace or self.hash_algorithm not in ("sha512", "sha256"):
            return None
        digest = hashlib.new(self.hash_algorithm, message).digest()
        blob = (
            MAGIC
            + _string(namespace.encode())
            + _string(b"")
            + _string(self.hash_algorithm.encode())
            + _string(digest)
        )
        for key in keys:
            if key == self.public_key and signing.verify_strict(key, blob, self.signature):
                return key
        return None


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise SshsigError("SSHSIG signature is truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def string(self) -> bytes:
        return self.take(int.from_bytes(self.take(4), "big"))


def parse(armoured: bytes) -> Sshsig:
    """Parse an armoured SSHSIG signature holding an Ed25519 key.

    Raises:
        SshsigError: it is malformed, or not an Ed25519 signature.
    """
    try:
        text = armoured.decode("ascii").strip()
    except UnicodeDecodeError:
        raise SshsigError("SSHSIG signature is not ASCII") from None
    lines = text.splitlines()
    if len(lines) < 3 or lines[0] != BEGIN or lines[-1] != END:
        raise SshsigError("SSHSIG signature lacks its armour lines")
    try:
        blob = base64.b64decode("".join(lines[1:-1]), validate=True)
    except binascii.Error:
        raise SshsigError("SSHSIG signature is not base64") from None
    r = _Reader(blob)
    if r.take(6) != MAGIC or int.from_bytes(r.take(4), "big") != 1:
        raise SshsigError("not an SSHSIG version 1 signature")
    key_blob, namespace, _reserved, hash_alg, sig_blob = (r.string() for _ in range(5))
    if r.pos != len(blob):
        raise SshsigError("SSHSIG signature has trailing bytes")
    k = _Reader(key_blob)
    if k.string() != b"ssh-ed25519":
        raise SshsigError("SSHSIG signature is not made with an Ed25519 key")
    public_key = k.string()
    s = _Reader(sig_blob)
    if s.string() != b"ssh-ed25519":
        raise SshsigError("SSHSIG signature is not an Ed25519 signature")
    signature = s.string()
    if len(public_key) != 32 or len(signature) != 64 or k.pos != len(key_blob):
        raise SshsigError("SSHSIG key or signature has the wrong length")
    try:
        return Sshsig(public_key, namespace.decode(), hash_alg.decode(), signature)
    except UnicodeDecodeError:
        raise SshsigError("SSHSIG namespace is not text") from None
