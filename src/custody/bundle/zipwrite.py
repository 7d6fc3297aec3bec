"""Writing the bag as a zip: payload members stored (not compressed), manifests and tag
manifests computed while writing, the two signatures over ``tagmanifest-sha256.txt``
outside it; written to a temporary name beside OUT and renamed at the end."""

from __future__ import annotations

import contextlib
import hashlib
import zipfile
from collections.abc import Iterator
from pathlib import Path

from custody import _fs, bagfiles, signing, sshsig
from custody.bundle import layout
from custody.bundle.payload import PayloadFile
from custody.errors import IntegrityError, StorageError


def _zinfo(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _put(zf: zipfile.ZipFile, name: str, chunks: Iterator[bytes], size: int) -> tuple[str, str]:
    sha256, sha512 = hashlib.sha256(), hashlib.sha512()
    with zf.open(_zinfo(name), "w", force_zip64=size >= 1 << 31) as fh:
        for chunk in chunks:
            sha256.update(chunk)
            sha512.update(chunk)
            fh.write(chunk)
    return sha256.hexdigest(), sha512.hexdigest()


def write_zip(
    out: Path, payload: list[PayloadFile], info: bytes, verify: bytes, signer: signing.Signer
) -> None:
    tmp = out.parent / _fs.temp_name()
    try:
        with (
            tmp.open("xb") as raw,
            zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED, allowZip64=True) as zf,
        ):
            m256, m512 = [], []
            for f in payload:
                if not bagfiles.is_safe_payload_path(f.path):
                    raise StorageError(f"internal: unsafe payload path {f.path!a}")
                sha256, sha512 = _put(zf, f.path, f.read(), f.size)
                if f.sha256 is not None and sha256 != f.sha256:
                    raise IntegrityError(
                        f"{f.path} changed while it was bundled (run custody verify)"
                    )
                m256.append((f.path, sha256))
                m512.append((f.path, sha512))
            tags = {
                "bagit.txt": bagfiles.DECLARATION,
                "bag-info.txt": info,
                "manifest-sha256.txt": bagfiles.manifest(m256),
                "manifest-sha512.txt": bagfiles.manifest(m512),
                layout.VERIFY_TXT: verify,
            }
            for name, data in tags.items():
                zf.writestr(_zinfo(name), data)
            t256 = bagfiles.manifest((n, hashlib.sha256(d).hexdigest()) for n, d in tags.items())
            t512 = bagfiles.manifest((n, hashlib.sha512(d).hexdigest()) for n, d in tags.items())
            zf.writestr(_zinfo("tagmanifest-sha256.txt"), t256)
            zf.writestr(_zinfo("tagmanifest-sha512.txt"), t512)
            zf.writestr(_zinfo(layout.SSHSIG), sshsig.sign(signer, t256, layout.NAMESPACE))
            zf.writestr(_zinfo(layout.RAWSIG), signer.sign(t256))
            raw.flush()
            _fs.fsync_fd(raw.fileno(), tmp)
        tmp.replace(out)
        _fs.fsync_dir(out.parent)
    except OSError as exc:
        raise StorageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
