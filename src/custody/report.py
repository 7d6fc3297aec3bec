"""Findings are data: verifiers collect every one of them into a :class:`Report`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How much a finding matters: any ERROR means the evidence failed verification."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation of a verifier."""

    severity: Severity
    code: str
    message: str
    path: str | None = None
    offset: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
        }
        if self.path is not None:
            d["path"] = self.path
        if self.offset is not None:
            d["offset"] = self.offset
        return d


@dataclass
class Report:
    """Everything a verifier found, with counts of what it checked."""

    subject: str
    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    artifacts: list[dict[str, Any]] = field(default_factory=list)

    def add(self, severity: Severity, code: str, message: str, **where: Any) -> None:
        self.findings.append(Finding(severity, code, message, **where))

    def error(self, code: str, message: str, **where: Any) -> None:
        self.add(Severity.ERROR, code, message, **where)

    def count(self, what: str, n: int = 1) -> None:
        self.checked[what] = self.checked.get(what, 0) + n

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "verified": self.ok,
            "checked": dict(sorted(self.checked.items())),
            "findings": [f.to_dict() for f in self.findings],
            "artifacts": self.artifacts,
        }
