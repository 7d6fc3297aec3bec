"""Errors raised by the core, each carrying the exit code the CLI maps it to.

The core never prints or exits; ``custody.cli`` catches :class:`CustodyError`,
prints its message (and hint) as one line on stderr, and exits with ``exit_code``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """Process exit codes, as documented in README.md and DESIGN section 3."""

    OK = 0
    ERROR = 1  # a bug: an unexpected exception
    USAGE = 2  # wrong command-line use (Click's convention)
    NOT_VERIFIED = 3  # evidence failed an integrity check
    INVALID_INPUT = 4  # not a case/bundle/export at all, or refused as hostile
    IO = 5  # disk full, permissions, fsync failure
    NETWORK = 6
    PARTIAL = 7  # capture finished PARTIAL, or a batch had failures
    KEY = 8  # wrong passphrase or missing key
    INTERRUPTED = 130


class CustodyError(Exception):
    """Base of every error the core raises on purpose."""

    exit_code: ClassVar[ExitCode] = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(CustodyError):
    """The user asked for something that cannot be done as asked."""

    exit_code = ExitCode.USAGE


class IntegrityError(CustodyError):
    """Evidence failed an integrity check (altered, missing, bad signature)."""

    exit_code = ExitCode.NOT_VERIFIED


class LogCorruptError(IntegrityError):
    """The custody log does not parse or its chain is broken."""


class TornTailError(LogCorruptError):
    """The custody log ends in a partial record (a crash mid-append)."""

    def __init__(self, message: str, *, offset: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.offset = offset


class InputError(CustodyError):
    """Input that cannot be opened as a case, bundle or export, or is refused as hostile."""

    exit_code = ExitCode.INVALID_INPUT


class NotACaseError(InputError):
    """The folder is not a custody case."""


class UnsafeArchiveError(InputError):
    """An archive was refused before extraction (hostile names, links, bombs)."""


class StrictJSONError(InputError):
    """JSON that the strict evidence parser refuses."""


class StorageError(CustodyError):
    """An I/O failure: disk full, permissions, a failed fsync."""

    exit_code = ExitCode.IO


class NetworkError(CustodyError):
    """A network failure."""

    exit_code = ExitCode.NETWORK


class KeyMaterialError(CustodyError):
    """A wrong passphrase, or a key that is missing or unusable."""

    exit_code = ExitCode.KEY
