"""Waiting on a FATE job: the judgement shared by the deferrable trigger, the sync sensor and the CLI.

A :class:`JobWatch` is fed one :class:`JobSnapshot` per poll and answers with log lines (progress and
task-state changes) and, once the job is over or the deadline has passed, a :class:`JobOutcome`. The
poll loops themselves (async in the triggerer, sync elsewhere) are a few lines each around it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from fateops.exceptions import FateFlowUnavailable, FateJobFailed, FateJobTimeout
from fateops.fate.models import JobSnapshot, JobStatus, TaskInfo
from fateops.fate.sitewatch import disagreement

OutcomeStatus = Literal["success", "failed", "timeout"]
Log = Callable[[str], None]


@dataclass(frozen=True)
class JobOutcome:
    """How a wait ended; travels as a TriggerEvent payload, so only plain values."""

    status: OutcomeStatus
    job_id: str
    job_status: str
    message: str
    progress: int = 0
    failed_tasks: list[str] = field(default_factory=list)
    party_statuses: dict[str, str] = field(default_factory=dict)
    model_id: str = ""
    model_version: str = ""
    log_excerpt: str = ""
    waited_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobOutcome:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def raise_for_status(self) -> JobOutcome:
        """Turn a failed/timeout outcome into the typed error the task fails with."""
        if self.status == "success":
            return self
        detail = self.message + (f"\n--- log excerpt ---\n{self.log_excerpt}" if self.log_excerpt else "")
        kind = FateJobTimeout if self.status == "timeout" else FateJobFailed
        raise kind(detail, job_id=self.job_id, status=self.job_status, failed_tasks=self.failed_tasks)


@dataclass
class JobWatch:
    """Tracks one job between polls; ``deadline`` is absolute (epoch seconds) so it survives deferral."""

    job_id: str
    deadline: float
    started: float = field(default_factory=time.time)
    _progress: int | None = None
    _tasks: dict[str, JobStatus] = field(default_factory=dict)
    _notes: set[str] = field(default_factory=set)

    def changes(self, snapshot: JobSnapshot) -> list[str]:
        """Log lines for what moved since the previous poll: progress % and each task state change."""
        lines = []
        if snapshot.progress != self._progress:
            self._progress = snapshot.progress
            lines.append(snapshot.describe())
        for task in snapshot.tasks:
            if self._tasks.get(task.key) != task.status:
                self._tasks[task.key] = task.status
                lines.append(f"  task {task.key} v{task.task_version}: {task.status.value}")
        for note in snapshot.notes:  # several sites asked: a party missing the job or not answering
            if note not in self._notes:
                self._notes.add(note)
                lines.append(f"  {note}")
        return lines

    def outcome(self, snapshot: JobSnapshot, now: float | None = None) -> JobOutcome | None:
        """The end of the wait, or None to keep polling. Deadline passes only while the job still runs."""
        now = time.time() if now is None else now
        waited = round(now - self.started, 1)
        common = dict(job_id=self.job_id, progress=snapshot.progress, waited_s=waited,
                      party_statuses={k: v.value for k, v in snapshot.statuses.items()},
                      model_id=snapshot.model_id, model_version=snapshot.model_version)
        if snapshot.is_terminal:
            status = snapshot.overall_status
            if status.is_success:
                return JobOutcome("success", job_status=status.value,
                                  message=f"job {self.job_id} succeeded on every party after {waited:.0f}s", **common)
            failed = snapshot.failed_task_names()
            causes = "; ".join(f"{t.key}: {t.error_summary}" for t in snapshot.failed_tasks() if t.error_summary)
            message = (f"job {self.job_id} ended {status.value} "
                       f"({', '.join(f'{k}={v}' for k, v in common['party_statuses'].items())}); "
                       f"failing tasks: {', '.join(failed) or 'none reported'}" + (f" — {causes}" if causes else ""))
            return JobOutcome("failed", job_status=status.value, message=message, failed_tasks=failed, **common)
        if now >= self.deadline:
            return self.timed_out(snapshot.overall_status.value, now, snapshot)
        return None

    def observe(self, snapshot: JobSnapshot, log: Log) -> JobOutcome | None:
        """Log what changed, then judge: the per-poll step both poll loops share."""
        for line in self.changes(snapshot):
            log(line)
        return self.outcome(snapshot)

    def unreachable(self, err: FateFlowUnavailable, last: JobSnapshot | None, log: Log) -> JobOutcome | None:
        """FATE Flow did not answer (restart, crash): keep waiting until our own deadline, then time out."""
        log(f"FATE Flow unreachable while waiting for job {self.job_id}: {err.message}")
        now = time.time()
        return self.timed_out("unknown", now, last) if now >= self.deadline else None

    def timed_out(self, job_status: str, now: float, snapshot: JobSnapshot | None = None) -> JobOutcome:
        waited = round(now - self.started, 1)
        running = [t.key for t in (snapshot.tasks if snapshot else ()) if not t.status.is_terminal]
        split = disagreement(snapshot) if snapshot else ""
        notes = list(snapshot.notes) if snapshot else []
        message = (f"job {self.job_id} still {job_status} after fateops waited {waited:.0f}s (deadline passed)"
                   + (f"; {split}" if split else "")
                   + (f"; unfinished tasks: {', '.join(running)}" if running else "")
                   + "".join(f"; {note}" for note in notes))
        return JobOutcome("timeout", job_id=self.job_id, job_status=job_status, message=message,
                          progress=snapshot.progress if snapshot else 0, waited_s=waited,
                          party_statuses={k: v.value for k, v in snapshot.statuses.items()} if snapshot else {})


EXCERPT_LINES = 30


class SyncJobClient(Protocol):
    """What waiting needs of :class:`~fateops.fate.client.FateFlowClient`."""

    def query_job(self, job_id: str) -> JobSnapshot: ...
    def stop_job(self, job_id: str) -> object: ...
    def task_error_excerpt(self, job_id: str, role: str, party_id: str, task_name: str, *,
                           max_lines: int = ...) -> str: ...


class AsyncJobClient(Protocol):
    """What waiting needs of :class:`~fateops.fate.aclient.AsyncFateFlowClient`."""

    def query_job(self, job_id: str) -> Awaitable[JobSnapshot]: ...
    def stop_job(self, job_id: str) -> Awaitable[object]: ...
    def task_error_excerpt(self, job_id: str, role: str, party_id: str, task_name: str, *,
                           max_lines: int = ...) -> Awaitable[str]: ...


def _first_failure(snapshot: JobSnapshot | None) -> TaskInfo | None:
    failed = snapshot.failed_tasks() if snapshot else []
    return failed[0] if failed else None


def _with_excerpt(outcome: JobOutcome, excerpt: str) -> JobOutcome:
    return JobOutcome.from_dict({**outcome.as_dict(), "log_excerpt": excerpt})


def _with_stop(outcome: JobOutcome, *, asked: bool, error: Exception | None) -> JobOutcome:
    """Say what became of a timed-out job: an operator must know whether it still holds the engine."""
    if not asked:
        note = "the job was left running (stop_on_timeout is off)"
    elif error is None:
        note = "the job was stopped"
    else:
        note = (f"stopping it failed ({error}) — the job may still run: stop it from FATE Flow "
                f"(flow job stop -j {outcome.job_id})")
    return JobOutcome.from_dict({**outcome.as_dict(), "message": f"{outcome.message}; {note}"})


def wait_for_job(client: SyncJobClient, job_id: str, *, timeout_s: float, poll_s: float = 3.0,
                 log: Log = print, stop_on_timeout: bool = True) -> JobOutcome:
    """Poll until the job ends or ``timeout_s`` passes (then stop it); never raises for a failed job."""
    watch = JobWatch(job_id, deadline=time.time() + timeout_s)
    last: JobSnapshot | None = None
    while True:
        try:
            last = client.query_job(job_id)
            outcome = watch.observe(last, log)
        except FateFlowUnavailable as err:  # an engine restart: keep waiting until our own deadline
            outcome = watch.unreachable(err, last, log)
        if outcome is not None:
            break
        time.sleep(poll_s)
    if outcome.status == "timeout":
        stop_error: Exception | None = None
        if stop_on_timeout:
            try:
                client.stop_job(job_id)
            except Exception as err:  # cleanup must not hide the timeout itself
                stop_error = err
        outcome = _with_stop(outcome, asked=stop_on_timeout, error=stop_error)
    failure = _first_failure(last) if outcome.status == "failed" else None
    if failure:
        try:
            outcome = _with_excerpt(outcome, client.task_error_excerpt(
                job_id, failure.role, failure.party_id, failure.task_name, max_lines=EXCERPT_LINES))
        except Exception as err:
            log(f"could not fetch the log of {failure.key}: {err}")
    log(outcome.message)
    return outcome


async def await_job(client: AsyncJobClient, watch: JobWatch, *, poll_s: float = 3.0, log: Log = print,
                    stop_on_timeout: bool = True) -> JobOutcome:
    """The async twin of :func:`wait_for_job`, for the triggerer (one event loop, many jobs)."""
    import asyncio

    last: JobSnapshot | None = None
    while True:
        try:
            last = await client.query_job(watch.job_id)
            outcome = watch.observe(last, log)
        except FateFlowUnavailable as err:
            outcome = watch.unreachable(err, last, log)
        if outcome is not None:
            break
        await asyncio.sleep(poll_s)
    if outcome.status == "timeout":
        stop_error: Exception | None = None
        if stop_on_timeout:
            try:
                await client.stop_job(watch.job_id)
            except Exception as err:
                stop_error = err
        outcome = _with_stop(outcome, asked=stop_on_timeout, error=stop_error)
    failure = _first_failure(last) if outcome.status == "failed" else None
    if failure:
        try:
            outcome = _with_excerpt(outcome, await client.task_error_excerpt(
                watch.job_id, failure.role, failure.party_id, failure.task_name, max_lines=EXCERPT_LINES))
        except Exception as err:
            log(f"could not fetch the log of {failure.key}: {err}")
    log(outcome.message)
    return outcome
