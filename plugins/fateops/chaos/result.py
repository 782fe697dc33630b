"""What one drill observed, and the judgement: did the platform do what the seed promises?

Pure functions and plain dataclasses (no I/O): the runner fills a :class:`DrillResult`, :func:`judge`
decides pass/fail with a reason for every miss, and the scorecard renders the results. A drill that
could not be carried out is an ``error`` — never a pass.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["DrillResult", "JobSeen", "RerunSeen", "Status", "classify", "judge", "matches"]

Status = Literal["passed", "failed", "error", "skipped", "dry_run"]
_FAILURE_STATES = frozenset({"failed", "canceled", "timeout"})
#: Observed labels each expectation accepts.
_ACCEPTS: dict[str, frozenset[str]] = {
    "continues_to_success": frozenset({"continues_to_success", "no_impact"}),
    "no_impact": frozenset({"no_impact"}),
    "times_out": frozenset({"times_out"}),
    "fails_on_all_parties": frozenset({"fails_on_all_parties"}),
    "fails_then_resumes_with_rerun": frozenset({"fails_then_resumes_with_rerun"}),
}


@dataclass(frozen=True)
class JobSeen:
    """How the drill job's wait ended (from :class:`~fateops.fate.watch.JobOutcome`)."""

    status: str  # success | failed | timeout
    job_status: str
    party_statuses: dict[str, str]
    max_task_version: int = 0
    message: str = ""

    @property
    def failed_everywhere(self) -> bool:
        return bool(self.party_statuses) and all(s in _FAILURE_STATES for s in self.party_statuses.values())


@dataclass(frozen=True)
class RerunSeen:
    """The rerun of a failed job: its outcome and which tasks ran again."""

    status: str
    rerun_tasks: tuple[str, ...]  # task keys whose version went up
    kept_tasks: tuple[str, ...]  # succeeded before the failure and were not run again
    repeated_successes: tuple[str, ...] = ()  # succeeded before *and* ran again: the rerun did not resume


def classify(job: JobSeen | None, rerun: RerunSeen | None = None) -> str:
    """One label for what happened to the job (``not_run`` when the drill ran without one)."""
    if job is None:
        return "not_run"
    if job.status == "success":
        return "no_impact" if job.max_task_version == 0 else "continues_to_success"
    if job.status == "timeout" or job.job_status == "timeout":
        return "times_out"
    if not job.failed_everywhere:
        return "fails_on_some_parties"
    if rerun is not None and rerun.status == "success":
        return "fails_then_resumes_with_rerun"
    return "fails_on_all_parties"


def matches(expected: str, observed: str) -> bool:
    return observed in _ACCEPTS.get(expected, frozenset({expected}))


@dataclass
class DrillResult:
    """One row of the scorecard."""

    drill_id: str
    title: str
    table: str
    backend: str
    party_id: int
    action: str
    target: str
    expected: str
    recovery_slo_s: float
    relaunch_slo_s: float | None = None
    observed: str = "not_run"
    status: Status = "error"
    reasons: list[str] = field(default_factory=list)
    time_to_detect_s: float | None = None
    time_to_recover_s: float | None = None
    time_to_relaunch_s: float | None = None
    relaunch_measured: bool = False
    job_ids: list[str] = field(default_factory=list)
    timeline: dict[str, float] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    preserved: dict[str, dict[str, Any]] = field(default_factory=dict)
    plan: list[str] = field(default_factory=list)
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def slo_met(self) -> bool | None:
        if self.time_to_recover_s is None:
            return None if self.status in ("dry_run", "skipped") else False
        return self.time_to_recover_s <= self.recovery_slo_s

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["slo_met"] = self.slo_met
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DrillResult:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def judge(result: DrillResult, *, job: JobSeen | None, rerun: RerunSeen | None, resubmitted: str | None,
          job_expected: bool) -> DrillResult:
    """Fill ``observed``, ``status`` and ``reasons`` (every miss named) from what the runner saw."""
    reasons: list[str] = []
    result.observed = classify(job, rerun)
    if result.time_to_detect_s is None:
        reasons.append("the fault was never observed: the injection did not take effect (or the probe is blind)")
    if result.time_to_recover_s is None:
        reasons.append(f"no recovery within the recovery deadline (SLO {result.recovery_slo_s:g}s)")
    elif result.time_to_recover_s > result.recovery_slo_s:
        reasons.append(f"recovered in {result.time_to_recover_s:.1f}s, over the {result.recovery_slo_s:g}s SLO")
    if result.relaunch_slo_s is not None and result.relaunch_measured:
        if result.time_to_relaunch_s is None:
            reasons.append("the pods on the restarted VM never became Ready again")
        elif result.time_to_relaunch_s > result.relaunch_slo_s:
            reasons.append(f"pods relaunched {result.time_to_relaunch_s:.1f}s after the VM came back, over the "
                           f"{result.relaunch_slo_s:g}s SLO")
    if job_expected:
        if not matches(result.expected, result.observed):
            detail = f" ({job.message})" if job is not None and job.message else ""
            reasons.append(f"expected {result.expected}, observed {result.observed}{detail}")
        if rerun is not None and rerun.repeated_successes:
            reasons.append("the rerun re-ran tasks that had already succeeded: "
                           + ", ".join(rerun.repeated_successes))
        if rerun is not None and rerun.status == "success" and not rerun.rerun_tasks:
            reasons.append("the rerun succeeded without re-running any task version (nothing resumed)")
        if resubmitted is not None and resubmitted != "success":
            reasons.append(f"the resubmitted job ended {resubmitted}, but resubmitting must work after recovery")
    for name, check in result.preserved.items():
        if check.get("ok") is False:
            reasons.append(f"preserved state '{name}' lost: {check.get('detail', '')}")
    result.reasons = reasons
    result.status = "failed" if reasons else "passed"
    return result
