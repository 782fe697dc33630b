"""The audit's report: JSON (machines) and Markdown with one table per scope (people), and its verdict.

Files go to ``<reports>/sizing/<run id>/sizing-audit.{json,md}``; rerunning a run rewrites its own two
files and touches nothing else. The verdict is the ``fail_on`` policy applied to the findings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fateops.sizing_audit.findings import SEVERITIES, FailOn, Finding, SizingAuditFailed, failing

__all__ = ["AuditReport"]

_ICON = {"ok": "✅ ok", "warning": "⚠️ warning", "blocker": "⛔ BLOCKER"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


@dataclass(frozen=True)
class AuditReport:
    """Every finding of one run, the ``fail_on`` policy it is judged by, and what was not audited."""

    run_id: str
    federation: str
    fail_on: FailOn
    findings: tuple[Finding, ...]
    skipped: tuple[str, ...] = ()
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        failing((), self.fail_on)  # an unknown policy is refused here, not when the gate runs

    @property
    def failing(self) -> list[Finding]:
        return failing(self.findings, self.fail_on)

    @property
    def passed(self) -> bool:
        return not self.failing

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}

    def scopes(self) -> list[str]:
        return list(dict.fromkeys(f.scope for f in self.findings))

    # -- renderings ---------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "federation": self.federation, "created_at": self.created_at,
                "fail_on": self.fail_on, "passed": self.passed, "counts": self.counts(), "skipped": list(self.skipped),
                "findings": [f.as_dict() for f in self.findings], "failing": [f.as_dict() for f in self.failing]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditReport:
        return cls(run_id=data["run_id"], federation=data["federation"], fail_on=data["fail_on"],
                   findings=tuple(Finding.from_dict(f) for f in data["findings"]),
                   skipped=tuple(data.get("skipped") or ()), created_at=data["created_at"])

    def to_markdown(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items())
        lines = [f"# Sizing audit — federation `{self.federation}`", "",
                 f"Run `{self.run_id}` at {self.created_at}, against `include/configs/sizing.yaml` (the seed's "
                 "*Sizing Guidelines* and fateops' floor for the local engine).", "",
                 f"**Verdict: {'PASS' if self.passed else 'FAIL'}** under `fail_on={self.fail_on}` ({counts})"]
        for scope in self.scopes():
            lines += ["", f"## {scope}", "", "| Subject | Check | Result | Measured | Required | Fix / note |",
                      "|---|---|---|---|---|---|"]
            for f in self.findings:
                if f.scope == scope:
                    extra = "; ".join(x for x in (f.fix, f.note and f"note: {f.note}") if x)
                    lines.append(f"| {_cell(f.subject)} | {_cell(f.check)} | {_ICON[f.severity]} | "
                                 f"{_cell(f.measured)} | {_cell(f.required)} | {_cell(extra)} |")
        if self.skipped:
            lines += ["", "## Not audited", "", *(f"- {_cell(s)}" for s in self.skipped)]
        return "\n".join(lines) + "\n"

    # -- files --------------------------------------------------------------------------------------
    def directory(self, root: Path | None = None) -> Path:
        """``<reports>/sizing/<run id, made path-safe>``."""
        from fateops.paths import reports_dir
        from fateops.report import safe_name

        return (root or reports_dir() / "sizing") / safe_name(self.run_id)

    def write(self, root: Path | None = None) -> dict[str, Path]:
        """Write ``sizing-audit.json`` and ``sizing-audit.md``; returns their paths."""
        out = self.directory(root)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "sizing-audit.json", "markdown": out / "sizing-audit.md"}
        paths["json"].write_text(json.dumps(self.as_dict(), indent=1, ensure_ascii=False) + "\n")
        paths["markdown"].write_text(self.to_markdown())
        return paths

    @classmethod
    def read(cls, path: Path | str) -> AuditReport:
        return cls.from_dict(json.loads(Path(path).read_text()))

    # -- verdict ------------------------------------------------------------------------------------
    def enforce(self, report_path: Path | str | None = None) -> None:
        """Raise :class:`SizingAuditFailed` listing every finding the policy does not accept (blockers
        first), each with its fix."""
        rows = sorted(self.failing, key=lambda f: -SEVERITIES.index(f.severity))
        if not rows:
            return
        listed = "; ".join(f"[{f.severity}] {f.scope} / {f.subject} — {f.check}: {f.measured} (wants {f.required})"
                           + (f" → fix: {f.fix}" if f.fix else "") for f in rows)
        where = f"the report {report_path}" if report_path else "the report"
        raise SizingAuditFailed(f"sizing audit fails under fail_on={self.fail_on}, {len(rows)} finding(s): {listed}",
                                findings=rows, fix=f"apply the fixes listed, or relax fail_on; details in {where}")
