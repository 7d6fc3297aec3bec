"""Options, passphrases and output helpers shared by the command modules."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from custody import keys, signing
from custody.case import Case, find_case_root, open_case
from custody.errors import KeyMaterialError, UsageError

CaseOpt = Annotated[
    Path | None,
    typer.Option("--case", help="Case folder (default: $CUSTODY_CASE, else the current folder)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
PassFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="Read the key passphrase from this file (else $CUSTODY_PASSPHRASE, else a prompt).",
    ),
]


def out_console() -> Console:
    return Console(soft_wrap=True)


def err_console() -> Console:
    return Console(stderr=True, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def safe_text(text: str) -> str:
    """Escape control and bidi characters and Rich markup before text reaches a terminal."""
    return escape(
        "".join(
            c
            if c.isprintable() and not 0x202A <= ord(c) <= 0x202E and not 0x2066 <= ord(c) <= 0x2069
            else f"\\u{ord(c):04x}"
            for c in text
        )
    )


def open_current_case(path: Path | None) -> Case:
    return open_case(find_case_root(path))


def read_passphrase(file: Path | None, *, confirm: bool = False) -> str:
    """The passphrase from a file, ``CUSTODY_PASSPHRASE`` or a prompt (never waits blind).

    Raises:
        KeyMaterialError: no passphrase source and no terminal to ask on.
        UsageError: the passphrase file cannot be read.
    """
    if file is not None:
        try:
            return file.read_text(encoding="utf-8").splitlines()[0] if file.stat().st_size else ""
        except OSError as exc:
            raise UsageError(f"cannot read passphrase file {file}: {exc.strerror}") from exc
    env = os.environ.get("CUSTODY_PASSPHRASE")
    if env is not None:
        return env
    if not sys.stdin.isatty():
        raise KeyMaterialError(
            "no passphrase given and no terminal to ask on",
            hint="set CUSTODY_PASSPHRASE or use --passphrase-file",
        )
    first = getpass.getpass("Key passphrase: ")
    if confirm and getpass.getpass("Repeat passphrase: ") != first:
        raise KeyMaterialError("the two passphrases differ")
    return first


def current_identity(home: Path) -> keys.Identity:
    identity = keys.read_identity(home)
    if identity is None:
        raise KeyMaterialError(
            f"no key on this machine (looked in {home})",
            hint="run custody init, or set CUSTODY_HOME to the folder holding your keys",
        )
    return identity


def unlock(home: Path, identity: keys.Identity, file: Path | None) -> signing.KeySigner:
    return keys.load_key(home, identity.key_id, read_passphrase(file))
