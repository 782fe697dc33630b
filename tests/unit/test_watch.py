"""JobWatch: progress/task-change logging, success only when every party succeeded, failure naming the
failing tasks, and the deadline that stops a still-running job. Fed with FATE Flow's own row shapes."""

from __future__ import annotations

import asyncio

import pytest

from fateops.exceptions import FateFlowUnavailable, FateJobFailed, FateJobTimeout
from fateops.fate.models import JobSnapshot, TaskInfo
from fateops.fate.watch import JobOutcome, JobWatch, await_job, wait_for_job


def _snap(statuses: dict[str, str], progress: int = 0, tasks: list[tuple[str, str, str, str]] = ()) -> JobSnapshot:
    rows = [{"job_id": "j1", "role": k.split(":")[0], "party_id": k.split(":")[1], "status": v,
             "progress": progress, "model_id": "m1", "model_version": "0"} for k, v in statuses.items()]
    infos = [TaskInfo.from_api({"job_id": "j1", "task_name": n, "role": r, "party_id": p, "status": s,
                                "task_version": 0, "error_report": "boom" if s == "failed" else ""})
             for n, r, p, s in tasks]
    return JobSnapshot.from_api("j1", rows, infos)


def test_changes_log_progress_and_each_task_transition_once() -> None:
    watch = JobWatch("j1", deadline=1e12)
    first = watch.changes(_snap({"guest:9999": "running"}, 10, [("reader_0", "guest", "9999", "running")]))
    assert any("10%" in line for line in first)
    assert any("reader_0@guest:9999" in line and "running" in line for line in first)
    assert watch.changes(_snap({"guest:9999": "running"}, 10, [("reader_0", "guest", "9999", "running")])) == []
    later = watch.changes(_snap({"guest:9999": "running"}, 50, [("reader_0", "guest", "9999", "success")]))
    assert len(later) == 2


def test_success_requires_every_party() -> None:
    watch = JobWatch("j1", deadline=1e12)
    assert watch.outcome(_snap({"guest:9999": "success", "host:10000": "running"})) is None
    outcome = watch.outcome(_snap({"guest:9999": "success", "host:10000": "success"}, 100))
    assert outcome is not None and outcome.status == "success" and outcome.model_id == "m1"


def test_failure_names_the_failing_task_and_its_cause() -> None:
    watch = JobWatch("j1", deadline=1e12)
    snap = _snap({"guest:9999": "failed", "host:10000": "canceled"}, 30,
                 [("reader_0", "guest", "9999", "failed"), ("reader_0", "host", "10000", "canceled")])
    outcome = watch.outcome(snap)
    assert outcome is not None and outcome.status == "failed" and outcome.job_status == "failed"
    assert outcome.failed_tasks == ["reader_0"]
    assert "reader_0@guest:9999: boom" in outcome.message
    with pytest.raises(FateJobFailed) as err:
        outcome.raise_for_status()
    assert err.value.failed_tasks == ["reader_0"]


def test_deadline_while_running_is_a_timeout() -> None:
    watch = JobWatch("j1", deadline=100.0, started=0.0)
    running = _snap({"guest:9999": "running"}, 40, [("toy_0", "guest", "9999", "running")])
    assert watch.outcome(running, now=99.0) is None
    outcome = watch.outcome(running, now=100.0)
    assert outcome is not None and outcome.status == "timeout"
    assert "toy_0@guest:9999" in outcome.message and "deadline passed" in outcome.message
    assert "stopped" not in outcome.message  # only the wait that actually stopped it may say so
    with pytest.raises(FateJobTimeout):
        outcome.raise_for_status()


def test_outcome_round_trips_as_a_trigger_payload() -> None:
    outcome = JobOutcome("failed", job_id="j", job_status="failed", message="m", failed_tasks=["a"])
    assert JobOutcome.from_dict({**outcome.as_dict(), "unexpected": 1}) == outcome


class _ScriptedClient:
    """Plays back snapshots; records stop/excerpt calls. Stands in only for timing, not for FATE's logic."""

    def __init__(self, snaps: list[JobSnapshot | Exception]) -> None:
        self.snaps = snaps
        self.stopped: list[str] = []
        self.last: JobSnapshot | None = None
        self.stop_error: Exception | None = None

    def _next(self) -> JobSnapshot:
        item = self.snaps.pop(0) if len(self.snaps) > 1 else self.snaps[0]
        if isinstance(item, Exception):
            raise item
        self.last = item
        return item

    def query_job(self, job_id: str) -> JobSnapshot:
        return self._next()

    def stop_job(self, job_id: str) -> None:
        if self.stop_error is not None:
            raise self.stop_error
        self.stopped.append(job_id)

    def task_error_excerpt(self, job_id: str, role: str, party_id: str, task_name: str, *, max_lines: int = 30) -> str:
        return f"{task_name}@{role}:{party_id} Traceback: table not found"


def test_sync_wait_stops_the_job_on_its_deadline_even_when_the_engine_is_down() -> None:
    client = _ScriptedClient([_snap({"guest:9999": "running"}), FateFlowUnavailable("connection refused")])
    outcome = wait_for_job(client, "j1", timeout_s=0.3, poll_s=0.05, log=lambda _: None)
    assert outcome.status == "timeout"
    assert client.stopped == ["j1"]
    assert outcome.message.endswith("; the job was stopped")


def test_a_timeout_whose_stop_fails_says_the_job_may_still_run_and_how_to_stop_it() -> None:
    client = _ScriptedClient([_snap({"guest:9999": "running"})])
    client.stop_error = FateFlowUnavailable("connection refused")
    outcome = wait_for_job(client, "j1", timeout_s=0.1, poll_s=0.05, log=lambda _: None)
    assert outcome.status == "timeout" and client.stopped == []
    assert "was stopped" not in outcome.message
    assert "stopping it failed" in outcome.message and "connection refused" in outcome.message
    assert "flow job stop -j j1" in outcome.message


def test_a_timeout_without_stop_on_timeout_leaves_the_job_running_and_says_so() -> None:
    client = _ScriptedClient([_snap({"guest:9999": "running"})])
    outcome = wait_for_job(client, "j1", timeout_s=0.1, poll_s=0.05, log=lambda _: None, stop_on_timeout=False)
    assert outcome.status == "timeout" and client.stopped == []
    assert outcome.message.endswith("the job was left running (stop_on_timeout is off)")


def test_async_wait_attaches_the_log_excerpt_of_a_failure() -> None:
    class _Async:
        def __init__(self, inner: _ScriptedClient) -> None:
            self.inner = inner

        async def query_job(self, job_id: str) -> JobSnapshot:
            return self.inner.query_job(job_id)

        async def stop_job(self, job_id: str) -> None:
            self.inner.stop_job(job_id)

        async def task_error_excerpt(self, job_id: str, role: str, party_id: str, task_name: str, *,
                                     max_lines: int = 30) -> str:
            return self.inner.task_error_excerpt(job_id, role, party_id, task_name, max_lines=max_lines)

    failed = JobSnapshot.from_api("j1", [{"job_id": "j1", "role": "guest", "party_id": "9999", "status": "failed"}],
                                  [TaskInfo.from_api({"task_name": "reader_0", "role": "guest", "party_id": "9999",
                                                      "status": "failed"})])
    client = _Async(_ScriptedClient([failed]))
    outcome = asyncio.run(await_job(client, JobWatch("j1", deadline=1e12), poll_s=0.01, log=lambda _: None))
    assert outcome.status == "failed" and outcome.log_excerpt == "reader_0@guest:9999 Traceback: table not found"
    assert client.inner.stopped == []
