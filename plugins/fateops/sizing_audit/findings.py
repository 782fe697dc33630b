"""A finding — one thing checked, its verdict and the fix — and the ``fail_on`` policy over findings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from fateops.exceptions import ConfigError, FateopsError

if TYPE_CHECKING:
    from fateops.federation import Party

Severity = Literal["ok", "warning", "blocker"]
FailOn = Literal["never", "blocker", "warning"]
FAIL_ON: tuple[FailOn, ...] = ("never", "blocker", "warning")
SEVERITIES: tuple[Severity, ...] = ("ok", "warning", "blocker")
_RANK = {s: n for n, s in enumerate(SEVERITIES)}
_THRESHOLD = {"never": len(SEVERITIES), "warning": _RANK["warning"], "blocker": _RANK["blocker"]}


class SizingAuditFailed(FateopsError):
    """The audit found what its ``fail_on`` policy does not accept; ``findings`` are those rows."""

    default_fix = "read the sizing report and apply the fixes it lists"

    def __init__(self, message: str, *, findings: Sequence[Finding], fix: str | None = None) -> None:
        self.findings = list(findings)
        super().__init__(message, fix=fix)


@dataclass(frozen=True)
class Finding:
    """One thing checked: where (scope), what (subject, check), the verdict, the numbers and the fix.

    ``note`` says what could not be checked or how a value was inferred, so an ``ok`` never claims more
    than was looked at. Plain strings throughout: findings travel through XCom as dicts.
    """

    scope: str
    subject: str
    check: str
    severity: Severity
    measured: str
    required: str
    fix: str = ""
    note: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        severity = str(data.get("severity"))
        if severity not in _RANK:
            raise ConfigError("is not a finding severity", field="severity", value=severity)
        return cls(**{k: str(data.get(k) or "") for k in cls.__dataclass_fields__})  # type: ignore[arg-type]

    def with_note(self, note: str) -> Finding:
        return Finding(**{**self.as_dict(), "note": note})  # type: ignore[arg-type]

    def line(self) -> str:
        """One log line: ``WARNING party 9999 / node w1 — node allocatable: 2 CPU/4Gi (wants ≥ 4 CPU/8Gi) → fix``."""
        text = f"{self.severity.upper()} {self.scope} / {self.subject} — {self.check}: {self.measured} " \
               f"(wants {self.required})"
        return text + (f" → {self.fix}" if self.fix else "")


def finding(scope: str, subject: str, check: str, short: Severity | None, measured: str, required: str,
            fix: str, note: str = "") -> Finding:
    """``short`` when the check fell short (then with ``fix``), else an ``ok`` finding without a fix."""
    return Finding(scope, subject, check, short or "ok", measured, required, fix if short else "", note)




def party_scope(party: Party) -> str:
    return f"party {party.label}"


def failing(findings: Iterable[Finding], fail_on: str) -> list[Finding]:
    """The findings ``fail_on`` does not accept: ``never`` none, ``blocker`` blockers, ``warning`` both."""
    if fail_on not in _THRESHOLD:
        raise ConfigError("is not a fail_on policy", field="fail_on", value=fail_on, fix=f"use one of {FAIL_ON}")
    return [f for f in findings if _RANK[f.severity] >= _THRESHOLD[fail_on]]
