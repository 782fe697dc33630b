"""Typed, immutable views of what FATE Flow 2.2 answers.

FATE Flow returns loose JSON rows (one per role/party for a job, one per role/party/task for tasks).
The sensor, the DAGs and the CLI all need the same few judgements on them — is the job over, did
every party succeed, which tasks failed and why — so they live here once, on frozen dataclasses
built by ``from_api`` constructors that tolerate extra or missing fields from the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "JobSnapshot",
    "JobStatus",
    "PartyJob",
    "ProviderComponents",
    "ServerInfo",
    "SubmitResult",
    "TableInfo",
    "TaskInfo",
    "UploadResult",
]


class JobStatus(StrEnum):
    """Every status FATE Flow 2.2 reports for jobs and tasks (``fate_flow.entity.types.StatusSet``)."""

    READY = "ready"
    WAITING = "waiting"
    RUNNING = "running"
    PASS = "pass"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMEOUT = "timeout"
    FINISHED = "finished"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: object) -> JobStatus:
        """Map a server string to a status; anything new or missing becomes ``UNKNOWN`` (never terminal)."""
        try:
            return cls(str(value).lower())
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        """The party/task will not change by itself any more."""
        return self in _TERMINAL

    @property
    def is_success(self) -> bool:
        """``pass`` is FATE's "skipped, counts as success" task state."""
        return self in (JobStatus.SUCCESS, JobStatus.PASS)

    @property
    def is_failure(self) -> bool:
        return self in _FAILURES


_FAILURES = (JobStatus.FAILED, JobStatus.TIMEOUT, JobStatus.CANCELED)
_TERMINAL = frozenset((JobStatus.SUCCESS, JobStatus.PASS, JobStatus.FINISHED, *_FAILURES))
# When parties disagree, the most telling failure wins: a real failure explains more than a timeout,
# which explains more than a cancel (FATE cancels the other parties after one fails).
_FAILURE_RANK = {JobStatus.FAILED: 0, JobStatus.TIMEOUT: 1, JobStatus.CANCELED: 2}


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _opt_int(value: Any) -> int | None:
    return None if value is None else _int(value)


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What ``/job/submit`` hands back: the job to poll and the model it will produce."""

    job_id: str
    model_id: str
    model_version: str


@dataclass(frozen=True, slots=True)
class UploadResult:
    """An accepted upload: FATE converts the file in a background job that must be awaited."""

    job_id: str
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """One FATE Flow instance as registered in its own service registry."""

    instance_id: str
    host: str
    http_port: int
    grpc_port: int
    version: str

    @classmethod
    def from_api(cls, instance_id: str, row: Mapping[str, Any]) -> ServerInfo:
        return cls(
            instance_id=str(row.get("instance_id") or instance_id),
            host=str(row.get("host", "")),
            http_port=_int(row.get("http_port")),
            grpc_port=_int(row.get("grpc_port")),
            version=str(row.get("version", "")),
        )


@dataclass(frozen=True, slots=True)
class ProviderComponents:
    """A registered component provider and the component names the server knows.

    FATE Flow 2.2 keeps components per provider but exposes no read-only listing; ``components`` is the
    server-wide set (see :meth:`FateFlowClient.provider_components`). ``missing`` tells a health check
    which of the components it needs are absent.
    """

    name: str
    version: str
    provider_name: str
    device: str
    components: frozenset[str]

    def missing(self, required: Iterable[str]) -> list[str]:
        return sorted(set(required) - self.components)


@dataclass(frozen=True, slots=True)
class TableInfo:
    """A FATE table (an uploaded dataset or a job output) and its row count."""

    namespace: str
    name: str
    count: int
    engine: str
    data_type: str
    columns: tuple[str, ...] = ()
    label_name: str | None = None
    match_id_name: str | None = None

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> TableInfo:
        fields = ((row.get("meta") or {}).get("schema_meta") or {}).get("fields") or []
        columns: list[str] = []
        label = match_id = None
        for f in fields:
            prop = f.get("property")
            if prop == "label":
                label = f.get("name")
            elif prop == "match_id":
                match_id = f.get("name")
            elif prop == "column":
                columns.append(str(f.get("name")))
        return cls(
            namespace=str(row.get("namespace", "")),
            name=str(row.get("name", "")),
            count=_int(row.get("count")),
            engine=str(row.get("engine", "")),
            data_type=str(row.get("data_type", "")),
            columns=tuple(columns),
            label_name=label,
            match_id_name=match_id,
        )


@dataclass(frozen=True, slots=True)
class PartyJob:
    """One role/party's view of a job (``/job/query`` answers one row per party)."""

    job_id: str
    role: str
    party_id: str
    status: JobStatus
    progress: int
    elapsed_ms: int | None
    model_id: str
    model_version: str

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> PartyJob:
        return cls(
            job_id=str(row.get("job_id", "")),
            role=str(row.get("role", "")),
            party_id=str(row.get("party_id", "")),
            status=JobStatus.parse(row.get("status")),
            progress=_int(row.get("progress")),
            elapsed_ms=_opt_int(row.get("elapsed")),
            model_id=str(row.get("model_id") or ""),
            model_version=str(row.get("model_version") or ""),
        )


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """One task run on one party (``/job/task/query``); ``error_report`` is FATE's one-line cause."""

    job_id: str
    task_name: str
    task_id: str
    task_version: int
    component: str
    role: str
    party_id: str
    status: JobStatus
    elapsed_ms: int | None
    error_report: str
    timeout_s: int | None
    #: The party's own executor state. ``status`` is the federated one: the initiator marks a task
    #: ``running`` at every party *before* it asks each party to start its executor.
    party_status: JobStatus = JobStatus.UNKNOWN

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> TaskInfo:
        return cls(
            job_id=str(row.get("job_id", "")),
            task_name=str(row.get("task_name", "")),
            task_id=str(row.get("task_id", "")),
            task_version=_int(row.get("task_version")),
            component=str(row.get("component") or ""),
            role=str(row.get("role", "")),
            party_id=str(row.get("party_id", "")),
            status=JobStatus.parse(row.get("status")),
            elapsed_ms=_opt_int(row.get("elapsed")),
            error_report=str(row.get("error_report") or "").strip(),
            timeout_s=_opt_int(row.get("timeout")),
            party_status=JobStatus.parse(row.get("party_status") or row.get("status")),
        )

    @property
    def error_summary(self) -> str:
        """The last meaningful line of FATE's error report — for a traceback, the exception itself;
        for ``Check failed[{...}\n]`` the check, not the closing bracket."""
        lines = [line.strip() for line in self.error_report.splitlines()]
        meaningful = [line for line in lines if sum(ch.isalnum() for ch in line) >= 3]
        return meaningful[-1] if meaningful else ""

    @property
    def key(self) -> str:
        """``task_name@role:party_id`` — how logs and error messages name one task run."""
        return f"{self.task_name}@{self.role}:{self.party_id}"


def latest_versions(tasks: Iterable[TaskInfo]) -> list[TaskInfo]:
    """Keep only the newest ``task_version`` of each task/role/party (a rerun adds a version)."""
    newest: dict[tuple[str, str, str], TaskInfo] = {}
    for t in tasks:
        k = (t.task_name, t.role, t.party_id)
        if k not in newest or t.task_version > newest[k].task_version:
            newest[k] = t
    return sorted(newest.values(), key=lambda t: (t.task_name, t.role, t.party_id))


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    """A job as seen at one poll: every party's row plus (optionally) its tasks."""

    job_id: str
    parties: tuple[PartyJob, ...]
    tasks: tuple[TaskInfo, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())  # what asking several sites found out (missing job, unreachable)

    @classmethod
    def from_api(cls, job_id: str, rows: Iterable[Mapping[str, Any]],
                 tasks: Iterable[TaskInfo] = ()) -> JobSnapshot:
        parties = tuple(sorted((PartyJob.from_api(r) for r in rows), key=lambda p: (p.role, p.party_id)))
        return cls(job_id=job_id, parties=parties, tasks=tuple(latest_versions(tasks)))

    def with_tasks(self, tasks: Iterable[TaskInfo]) -> JobSnapshot:
        return JobSnapshot(self.job_id, self.parties, tuple(latest_versions(tasks)))

    @property
    def statuses(self) -> dict[str, JobStatus]:
        """``{"guest:9999": success, ...}`` — the per-party picture a log line shows."""
        return {f"{p.role}:{p.party_id}": p.status for p in self.parties}

    @property
    def is_terminal(self) -> bool:
        """Every party's job has ended (FATE only ends a job once all its tasks ended)."""
        return bool(self.parties) and all(p.status.is_terminal for p in self.parties)

    @property
    def has_failure(self) -> bool:
        """At least one party already failed/timed out/was canceled — the job cannot succeed."""
        return any(p.status.is_failure for p in self.parties)

    @property
    def overall_status(self) -> JobStatus:
        """One status for the whole job.

        SUCCESS only when *every* party reports success. A failure on any party decides the outcome as
        soon as all parties have ended (worst of failed > timeout > canceled); until then the job is
        RUNNING if any party runs, UNKNOWN if a party reports a status this code does not know, else
        WAITING.
        """
        if not self.parties:
            return JobStatus.UNKNOWN
        if self.is_terminal:
            failures = [p.status for p in self.parties if p.status.is_failure]
            if failures:
                return min(failures, key=_FAILURE_RANK.__getitem__)
            odd = [p.status for p in self.parties if not p.status.is_success]
            return odd[0] if odd else JobStatus.SUCCESS
        if any(p.status is JobStatus.RUNNING for p in self.parties):
            return JobStatus.RUNNING
        if any(p.status is JobStatus.UNKNOWN for p in self.parties):
            return JobStatus.UNKNOWN
        return JobStatus.WAITING

    @property
    def progress(self) -> int:
        """Percent done, the least advanced party's (a job is as far as its slowest party)."""
        return min((p.progress for p in self.parties), default=0)

    @property
    def model_id(self) -> str:
        return next((p.model_id for p in self.parties if p.model_id), "")

    @property
    def model_version(self) -> str:
        return next((p.model_version for p in self.parties if p.model_version), "")

    def failed_tasks(self) -> list[TaskInfo]:
        """Tasks (newest version) that failed or timed out — cancels are collateral, listed last."""
        bad = [t for t in self.tasks if t.status.is_failure]
        return sorted(bad, key=lambda t: (_FAILURE_RANK[t.status], t.task_name, t.role, t.party_id))

    def failed_task_names(self) -> list[str]:
        """Distinct names of the failing tasks, most telling first (what an error message names)."""
        seen: dict[str, None] = {}
        for t in self.failed_tasks():
            seen.setdefault(t.task_name, None)
        return list(seen)

    def describe(self) -> str:
        """A one-line summary for logs: ``job 123 running 40% guest:9999=running host:10000=waiting``."""
        parts = " ".join(f"{k}={v.value}" for k, v in self.statuses.items())
        return f"job {self.job_id} {self.overall_status.value} {self.progress}% {parts}".rstrip()
