"""Drills against the REAL local FATE engine of the test session (tests/engine_fixtures.py).

Why the suite's own engine and not a second one: a second engine needs a second 1.4 GB venv (one venv
serves one home at a time), ≈2–3 min of install on a fresh CI machine; these drills only need an engine
they may kill and restart, and the heal leaves it healthy again — checked after every test, so the tests
that run later never see a difference.

Each test asserts the drill's judged outcome *and* reads the evidence back from FATE itself (task
versions, job rows), never timings.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fateops.chaos.catalogue import load_catalogue
from fateops.chaos.ledger import Ledger
from fateops.chaos.plan import drill_context
from fateops.chaos.result import DrillResult
from fateops.chaos.runner import DrillRunner
from fateops.engine import LocalEngine
from fateops.fate.client import FateFlowClient
from fateops.fate.models import JobStatus
from fateops.federation import load_federation

pytestmark = [pytest.mark.engine, pytest.mark.timeout(3600)]


@pytest.fixture(autouse=True)
def engine_left_healthy(fate_engine: LocalEngine) -> Iterator[None]:
    """Every drill must leave the shared engine serving (the heal restarts it) and nothing in the ledger."""
    yield
    status = fate_engine.status()
    if not status.healthy:  # never leave it broken for the tests that follow, but fail this one
        fate_engine.start(timeout_s=300)
    assert status.healthy, f"the drill left the engine unhealthy: {status.detail}"
    assert Ledger().entries(backend="local") == []


def run_drill(drill_id: str, party_id: int = 9999) -> DrillResult:
    federation = load_federation()
    with drill_context("local", federation, federation.party(party_id), run_id=f"pytest-{drill_id}") as ctx:
        return DrillRunner(ctx, log=print).run(load_catalogue().get(drill_id))


def test_a_killed_task_process_fails_the_job_on_all_parties_and_rerun_resumes_from_it(fate_url: str) -> None:
    result = run_drill("t4-hdfs-namenode")
    assert result.status == "passed", result.reasons
    assert result.observed == "fails_then_resumes_with_rerun"
    assert result.time_to_detect_s is not None and result.time_to_recover_s is not None
    assert any("SIGKILL sent to homo_lr_0@guest:9999" in line for line in result.evidence)
    job_id = result.job_ids[0]
    with FateFlowClient(fate_url) as client:
        rows = client.query_tasks(job_id)
        final = client.query_job(job_id)
    versions: dict[str, set[int]] = {}
    for t in rows:
        versions.setdefault(t.task_name, set()).add(t.task_version)
    assert versions["reader_0"] == {0}, "the rerun re-ran a step that had succeeded"
    assert max(versions["homo_lr_0"]) >= 1, "the failed step was not run again"
    assert final.overall_status is JobStatus.SUCCESS
    assert {t.task_name: t.task_version for t in final.tasks if t.task_name == "reader_0"} == {"reader_0": 0}
    assert "homo_lr_0@guest:9999" in " ".join(result.evidence)


def test_the_engine_killed_mid_job_times_out_and_jobs_tables_models_survive_the_restart(
        fate_engine: LocalEngine, fate_url: str) -> None:
    pid_before = fate_engine.pid()
    result = run_drill("t4-fateflow")
    assert result.status == "passed", result.reasons
    assert result.observed == "times_out"
    assert {name: check["ok"] for name, check in result.preserved.items()} == {
        "job_history": True, "tables": True, "models": True}
    assert fate_engine.pid() not in (None, pid_before), "the heal must have restarted the engine"
    assert len(result.job_ids) == 2  # the hung job, and its resubmission (the seed's answer)
    with FateFlowClient(fate_url) as client:
        hung = client.query_job(result.job_ids[0])
        again = client.query_job(result.job_ids[1])
    assert hung.is_terminal and not hung.overall_status.is_success  # stopped, still in the history
    assert again.overall_status is JobStatus.SUCCESS
    assert {"injected", "detected", "lifted", "recovered", "job_ended", "resubmit_ended"} <= set(result.timeline)
