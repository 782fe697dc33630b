"""Watching one job through every party's own FATE Flow (multi-site): merge, gaps and disagreement.

The per-site clients here are plain objects returning FATE Flow's own row shapes — what each real site
answers in multi-party mode (only its own party's rows); the real sites are in test_multisite.py.
"""

from __future__ import annotations

from fateops.exceptions import FateFlowError, FateFlowUnavailable
from fateops.fate.models import JobSnapshot
from fateops.fate.sitewatch import SitesJobClient, disagreement, merge_site_views
from fateops.fate.watch import JobWatch, wait_for_job


def _own(party: str, role: str, status: str) -> JobSnapshot:
    return JobSnapshot.from_api("j1", [{"job_id": "j1", "role": role, "party_id": party, "status": status,
                                        "progress": 100 if status == "success" else 10}])


class _Site:
    def __init__(self, *answers: JobSnapshot | Exception) -> None:
        self.answers = list(answers)
        self.stopped = False

    def query_job(self, job_id: str) -> JobSnapshot:
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def stop_job(self, job_id: str) -> object:
        self.stopped = True
        return None

    def task_error_excerpt(self, job_id: str, role: str, party_id: str, task_name: str, *,
                           max_lines: int = 30) -> str:
        return ""


def test_each_site_contributes_only_its_own_party_rows() -> None:
    both = JobSnapshot.from_api("j1", [{"job_id": "j1", "role": "guest", "party_id": "9999", "status": "success"},
                                       {"job_id": "j1", "role": "host", "party_id": "10000", "status": "success"}])
    merged = merge_site_views("j1", {9999: both, 10000: _own("10000", "host", "running")})
    assert merged.statuses == {"guest:9999": "success", "host:10000": "running"}
    assert not merged.is_terminal and merged.notes == ()


def test_a_site_without_the_job_or_not_answering_is_an_unknown_row_with_a_note() -> None:
    merged = merge_site_views("j1", {9999: _own("9999", "guest", "success"),
                                     10000: _own("10000", "host", "x").__class__("j1", ())})
    assert merged.statuses["party:10000"] == "unknown" and "no job j1" in merged.notes[0]
    down = merge_site_views("j1", {9999: _own("9999", "guest", "success"),
                                   10000: FateFlowUnavailable("connection refused")})
    assert "did not answer" in down.notes[0] and not down.is_terminal
    odd = merge_site_views("j1", {9999: _own("9999", "guest", "success"), 10000: FateFlowError("no such job")})
    assert "answered with an error" in odd.notes[0]


def test_parties_that_disagree_are_reported_not_resolved() -> None:
    split = merge_site_views("j1", {9999: _own("9999", "guest", "success"), 10000: _own("10000", "host", "running")})
    assert "guest:9999 report success but host:10000=running" in disagreement(split)
    outcome = JobWatch("j1", deadline=0).outcome(split, now=1.0)
    assert outcome is not None and outcome.status == "timeout" and "the parties disagree" in outcome.message
    agree = merge_site_views("j1", {9999: _own("9999", "guest", "success"), 10000: _own("10000", "host", "success")})
    assert disagreement(agree) == ""


def test_wait_succeeds_only_when_every_party_own_site_says_success_and_stops_everywhere_on_timeout() -> None:
    guest = _Site(_own("9999", "guest", "running"), _own("9999", "guest", "success"))
    host = _Site(_own("10000", "host", "running"), _own("10000", "host", "success"))
    outcome = wait_for_job(SitesJobClient({9999: guest, 10000: host}), "j1", timeout_s=30, poll_s=0, log=lambda _: None)
    assert outcome.status == "success" and outcome.party_statuses == {"guest:9999": "success", "host:10000": "success"}

    stuck = _Site(_own("10000", "host", "running"))
    lines: list[str] = []
    outcome = wait_for_job(SitesJobClient({9999: _Site(_own("9999", "guest", "success")), 10000: stuck}), "j1",
                           timeout_s=0, poll_s=0, log=lines.append)
    assert outcome.status == "timeout" and "disagree" in outcome.message and stuck.stopped


def test_the_trigger_carries_every_party_connection_through_serialisation() -> None:
    from fateops.airflow.triggers import FateJobTrigger

    trigger = FateJobTrigger(job_id="j1", fateflow_conn_id="fateflow_9999", deadline=10.0, started=1.0,
                             party_conn_ids={"9999": "fateflow_9999", "10000": "fateflow_10000"})
    path, kwargs = trigger.serialize()
    assert path == "fateops.airflow.triggers.FateJobTrigger"
    assert FateJobTrigger(**kwargs).serialize() == (path, kwargs)
    assert kwargs["party_conn_ids"] == {"9999": "fateflow_9999", "10000": "fateflow_10000"}


def test_parties_are_asked_separately_only_when_they_have_their_own_connections() -> None:
    from fateops.airflow.tasks import party_conn_ids

    assert party_conn_ids("federation.local.yaml") == {"9999": "fateflow_9999", "10000": "fateflow_10000"}
    assert party_conn_ids("federation.single.yaml") == {}


def test_task_rows_come_from_each_party_own_site_and_a_silent_site_adds_none() -> None:
    from fateops.fate.models import TaskInfo

    def task(party: str, version: int) -> TaskInfo:
        return TaskInfo.from_api({"job_id": "j1", "task_name": "toy_example_0", "role": "guest" if party == "9999"
                                  else "host", "party_id": party, "status": "success", "task_version": version})

    class _Tasks(_Site):
        def __init__(self, rows: list[TaskInfo] | Exception) -> None:
            super().__init__(_own("9999", "guest", "success"))
            self.rows = rows

        def query_tasks(self, job_id: str) -> list[TaskInfo]:
            if isinstance(self.rows, Exception):
                raise self.rows
            return self.rows

    # a site answering with another party's rows (a stale view) does not speak for that party
    both = SitesJobClient({9999: _Tasks([task("9999", 1), task("10000", 0)]), 10000: _Tasks([task("10000", 1)])})
    assert sorted((t.party_id, t.task_version) for t in both.query_tasks("j1")) == [("10000", 1), ("9999", 1)]
    silent = SitesJobClient({9999: _Tasks([task("9999", 0)]), 10000: _Tasks(FateFlowUnavailable("refused"))})
    assert [t.party_id for t in silent.query_tasks("j1")] == ["9999"]
