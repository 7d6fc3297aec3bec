"""Operator identities and their Ed25519 keys, kept outside any case.

Private keys live in the custody home (``CUSTODY_HOME``, else the user's config dir),
never in a case. The 32-byte seed is sealed with AES-256-GCM under a key derived from
the passphrase by scrypt (memory-hard; N=2^17, r=8, p=1, 128 MiB by default), with the
key id as associated data. Files are created 0600 in a 0700 directory, and a key file
readable by group or others is refused, as OpenSSH does.
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from custody import _fs, canonical, signing, strictjson
from custody.errors import CustodyError, KeyMaterialError, StorageError

FORMAT_VERSION = 1
SCRYPT_N = 2**17
SCRYPT_N_UNSAFE_FAST = 2**12  # CUSTODY_UNSAFE_FAST_KDF=1, for test suites only
SCRYPT_R = 8
SCRYPT_P = 1


def custody_home() -> Path:
    """The folder holding identities, keys and remembered checkpoints."""
    env = os.environ.get("CUSTODY_HOME")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("custody", appauthor=False))


@dataclass(frozen=True, slots=True)
class Operator:
    """Who acts: shown in log entries beside the key that signs."""

    name: str
    org: str | None = None
    role: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("name", self.name), ("org", self.org), ("role", self.role)) if v}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Operator:
        return cls(name=str(data["name"]), org=data.get("org"), role=data.get("role"))


@dataclass(frozen=True, slots=True)
class Identity:
    """The current operator of this machine and the id of their active key."""

    operator: Operator
    key_id: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _kdf(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _key_path(home: Path, key_id: str) -> Path:
    return home / "keys" / (key_id.split(":", 1)[1] + ".key")


def _ensure_home(home: Path) -> None:
    _fs.make_dirs(home / "keys", mode=0o700)
    home.chmod(0o700)
    (home / "keys").chmod(0o700)


def generate_key(home: Path, passphrase: str) -> signing.KeySigner:
    """Create a new Ed25519 key pair, sealed with ``passphrase``, in ``home``.

    Raises:
        KeyMaterialError: the passphrase is empty.
        StorageError: the key file cannot be written.
    """
    if not passphrase:
        raise KeyMaterialError("refusing an empty passphrase")
    _ensure_home(home)
    private = Ed25519PrivateKey.generate()
    signer = signing.KeySigner(private)
    seed = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    n = SCRYPT_N_UNSAFE_FAST if os.environ.get("CUSTODY_UNSAFE_FAST_KDF") == "1" else SCRYPT_N
    salt = secrets.token_bytes(16)
    nonce = secrets.token_bytes(12)
    kid = signer.key_id
    sealed = AESGCM(_kdf(passphrase, salt, n, SCRYPT_R, SCRYPT_P)).encrypt(
        nonce, seed, kid.encode()
    )
    doc = {
        "format_version": FORMAT_VERSION,
        "type": "custody-private-key",
        "key_id": kid,
        "public_key": _b64(signer.public_key),
        "created": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "kdf": {"name": "scrypt", "n": n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "cipher": {"name": "aes-256-gcm", "nonce": _b64(nonce)},
        "ciphertext": _b64(sealed),
    }
    _fs.write_once(_key_path(home, kid), canonical.dumps(doc) + b"\n", mode=0o600)
    return signer


def load_key(home: Path, key_id: str, passphrase: str) -> signing.KeySigner:
    """Unlock the private key ``key_id`` from ``home``.

    Raises:
        KeyMaterialError: the key is missing, unreadable by policy, or the passphrase is wrong.
    """
    path = _key_path(home, key_id)
    try:
        st = path.stat()
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KeyMaterialError(
            f"missing private key {key_id} in {home / 'keys'}",
            hint="set CUSTODY_HOME to the folder that holds your keys",
        ) from None
    except OSError as exc:
        raise KeyMaterialError(f"cannot read key file {path}: {exc.strerror}") from exc
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyMaterialError(f"key file {path} is readable by others; run chmod 600 on it")
    try:
        doc = strictjson.loads_strict(raw)
        kdf, cipher = doc["kdf"], doc["cipher"]
        if kdf["name"] != "scrypt" or cipher["name"] != "aes-256-gcm":
            raise KeyMaterialError(f"unsupported key protection in {path}")
        key = _kdf(
            passphrase, base64.b64decode(kdf["salt"]), int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        )
        seed = AESGCM(key).decrypt(
            base64.b64decode(cipher["nonce"]), base64.b64decode(doc["ciphertext"]), key_id.encode()
        )
    except InvalidTag:
        raise KeyMaterialError("wrong passphrase for key " + key_id) from None
    except CustodyError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyMaterialError(f"damaged key file {path}: {exc}") from exc
    signer = signing.KeySigner(Ed25519PrivateKey.from_private_bytes(seed))
    if signer.key_id != key_id:
        raise KeyMaterialError(f"key file {path} holds a different key than its name says")
    return signer


def read_identity(home: Path) -> Identity | None:
    """The machine's current identity, or None before first use.

    Raises:
        KeyMaterialError: the identity file is damaged.
    """
    path = home / "identity.json"
    if not path.exists():
        return None
    try:
        doc = strictjson.loads_strict(path.read_bytes())
        return Identity(Operator.from_dict(doc["operator"]), str(doc["key_id"]))
    except (CustodyError, KeyError, TypeError, OSError) as exc:
        raise KeyMaterialError(f"damaged identity file {path}") from exc


def write_identity(home: Path, identity: Identity) -> None:
    """Record ``identity`` as this machine's current one (atomic replace).

    Raises:
        StorageError: the file cannot be written.
    """
    _ensure_home(home)
    doc = {
        "format_version": FORMAT_VERSION,
        "operator": identity.operator.to_dict(),
        "key_id": identity.key_id,
    }
    _fs.atomic_write(home / "identity.json", canonical.dumps(doc) + b"\n", mode=0o600)


def public_key_of(home: Path, key_id: str) -> bytes:
    """Public key bytes of a key in ``home`` (no passphrase needed).

    Raises:
        KeyMaterialError: the key file is missing or damaged.
    """
    path = _key_path(home, key_id)
    try:
        doc = strictjson.loads_strict(path.read_bytes())
        return base64.b64decode(doc["public_key"])
    except FileNotFoundError:
        raise KeyMaterialError(f"missing key {key_id} in {home / 'keys'}") from None
    except (CustodyError, KeyError, ValueError, OSError) as exc:
        raise KeyMaterialError(f"damaged key file {path}") from exc


__all__ = [
    "Identity",
    "Operator",
    "StorageError",
    "custody_home",
    "generate_key",
    "load_key",
    "public_key_of",
    "read_identity",
    "write_identity",
]
