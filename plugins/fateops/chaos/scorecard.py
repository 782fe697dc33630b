"""The scorecard of a drill run: JSON (machines), Markdown (people) and a PNG timeline, in the reports dir.

One row per drill — expected vs observed outcome, pass/fail, time to detect, time to recover against
its SLO, and the evidence (job ids, platform events, what was done). Files go to
``<reports>/chaos/<run_id>/scorecard.{json,md,png}``; a run fails as soon as one drill did not pass
(``error`` and ``failed`` both count — a drill that could not be carried out proved nothing).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fateops.chaos.result import DrillResult
from fateops.paths import reports_dir

__all__ = ["Scorecard"]

_MARKERS = ("submitted", "injected", "detected", "lifted", "recovered", "relaunched", "job_ended", "rerun_started",
            "rerun_ended", "resubmitted", "resubmit_ended")
_ICON = {"passed": "✅ pass", "failed": "❌ FAIL", "error": "⚠️ ERROR", "skipped": "⏭ skipped", "dry_run": "📝 dry run"}


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}s"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


@dataclass
class Scorecard:
    """Results of one run of drills against one backend/party."""

    run_id: str
    backend: str
    party_id: int
    results: list[DrillResult] = field(default_factory=list)
    dry_run: bool = False
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    @classmethod
    def of(cls, run_id: str, backend: str, party_id: int, results: Iterable[DrillResult | dict[str, Any]], *,
           dry_run: bool = False) -> Scorecard:
        rows = [r if isinstance(r, DrillResult) else DrillResult.from_dict(r) for r in results]
        return cls(run_id=run_id, backend=backend, party_id=party_id, results=rows, dry_run=dry_run)

    # -- verdict ------------------------------------------------------------------------------------
    @property
    def failures(self) -> list[DrillResult]:
        """Drills that missed their expectation or could not be carried out."""
        return [r for r in self.results if r.status in ("failed", "error")]

    @property
    def not_ready(self) -> list[DrillResult]:
        """Planned drills whose live run would be refused (or could not be checked): a dry run that found
        the target down proved nothing, so it must not read as a pass."""
        return [r for r in self.results
                if r.reasons and (r.status == "dry_run" or (self.dry_run and r.status == "skipped"))]

    @property
    def blocking(self) -> list[DrillResult]:
        """Every drill that keeps the run from passing: failures first, then plans that are not ready."""
        return [*self.failures, *self.not_ready]

    @property
    def passed(self) -> bool:
        return not self.blocking

    @property
    def verdict(self) -> str:
        """``PASS``/``FAIL`` for a live run; ``READY``/``NOT READY`` for a dry run (nothing was tested)."""
        if self.dry_run:
            return "READY" if self.passed else "NOT READY"
        return "PASS" if self.passed else "FAIL"

    def reasons(self) -> list[str]:
        """One line per blocking drill: its id, status and why — what the CLI prints and the DAG raises."""
        return [f"{r.drill_id} ({'not ready' if r in self.not_ready else r.status}): {'; '.join(r.reasons)}"
                for r in self.blocking]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    # -- renderings ---------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "backend": self.backend, "party_id": self.party_id, "dry_run": self.dry_run,
                "created_at": self.created_at, "passed": self.passed, "verdict": self.verdict.lower(),
                "reasons": self.reasons(), "counts": self.counts(),
                "drills": [r.as_dict() for r in self.results]}

    def to_markdown(self) -> str:
        lines = [f"# Resilience drills — {self.backend}, party {self.party_id}", "",
                 f"Run `{self.run_id}` at {self.created_at}"
                 + (" — **dry run: nothing was changed**" if self.dry_run else ""), ""]
        counts = ", ".join(f"{n} {k}" for k, n in sorted(self.counts().items()))
        lines += [f"**Verdict: {self.verdict}** ({counts})", ""]
        lines += [f"- {_cell(reason)}" for reason in self.reasons()] + ([""] if self.reasons() else [])
        lines += ["| Drill | Table | Fault | Expected | Observed | Detect | Recover (SLO) | Result |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in self.results:
            recover = f"{_s(r.time_to_recover_s)} (≤ {r.recovery_slo_s:g}s)"
            if r.relaunch_slo_s is not None and r.relaunch_measured:
                recover += f"; pods {_s(r.time_to_relaunch_s)} (≤ {r.relaunch_slo_s:g}s)"
            lines.append(f"| `{r.drill_id}` | {r.table} | {_cell(r.action)} | {r.expected} | {r.observed} | "
                         f"{_s(r.time_to_detect_s)} | {recover} | {_ICON.get(r.status, r.status)} |")
        for r in self.results:
            lines += ["", f"## `{r.drill_id}` — {_cell(r.title)}", "",
                      f"- target: {r.target} (party {r.party_id}, {r.backend}: `{r.action}`)",
                      f"- result: **{r.status}**" + (f" — {'; '.join(r.reasons)}" if r.reasons else "")]
            if r.job_ids:
                lines.append(f"- jobs: {', '.join(f'`{j}`' for j in r.job_ids)}")
            if r.timeline:
                marks = ", ".join(f"{k} +{v:.1f}s" for k, v in sorted(r.timeline.items(), key=lambda kv: kv[1]))
                lines.append(f"- timeline: {marks}")
            for name, check in r.preserved.items():
                ok = {True: "kept", False: "LOST", None: "not checked"}[check.get("ok")]
                lines.append(f"- preserved `{name}`: {ok} — {_cell(check.get('detail', ''))}")
            for event in r.events[:10]:
                lines.append(f"- event: {_cell(event.get('kind'))} {_cell(event.get('message') or event)}")
            for step in r.plan:
                lines.append(f"- plan: {_cell(step)}")
            for line in r.evidence:
                lines.append(f"- evidence: {_cell(line)}")
        return "\n".join(lines) + "\n"

    @staticmethod
    def directory(run_id: str, root: Path | None = None) -> Path:
        """Where the files of run ``run_id`` go (Airflow run ids hold ':' and '+': made path-safe)."""
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_") or "run"
        return (root or reports_dir() / "chaos") / safe

    def write(self, root: Path | None = None) -> dict[str, Path]:
        """Write JSON, Markdown and the PNG timeline; returns their paths."""
        out = self.directory(self.run_id, root)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "scorecard.json", "markdown": out / "scorecard.md", "png": out / "timeline.png"}
        paths["json"].write_text(json.dumps(self.as_dict(), indent=1, default=str))
        paths["markdown"].write_text(self.to_markdown())
        from fateops.chaos.timeline import draw_timeline

        draw_timeline(self, paths["png"])
        return paths
