"""The bootstrap and exchange DAGs through `dag.test()` against the engine fateops starts itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.engine, pytest.mark.airflow]

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


def load_dag(dag_id: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py"))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(dag_id)


def run_dag(dag_id: str, conf: dict[str, Any] | None = None) -> Any:
    """Run a DAG with `dag.test()`; returns the finished DagRun (state + task instances)."""
    return load_dag(dag_id).test(run_conf=conf or {})


def task_states(dag_run: Any) -> dict[str, str]:
    return {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): str(ti.state)
            for ti in dag_run.get_task_instances()}


def xcom(dag_run: Any, task_id: str, map_index: int = -1) -> Any:
    ti = next(t for t in dag_run.get_task_instances() if t.task_id == task_id and t.map_index == map_index)
    return ti.xcom_pull(task_ids=task_id, map_indexes=map_index)


def test_bootstrap_reports_engine_version_components_and_every_party(fate_engine, airflow_db) -> None:
    dag_run = run_dag("fate_party_bootstrap")
    assert str(dag_run.state) == "success", task_states(dag_run)
    report = xcom(dag_run, "report")
    assert set(report["parties"]) == {"9999", "10000"}
    assert report["versions"] == ["2.2.0"]
    for party in report["parties"].values():
        assert party["ready"] is True
        assert "toy_example" in party["details"]["components"]
        assert party["fateflow_url"] == fate_engine.config.base_url


def test_bootstrap_twice_changes_nothing(fate_engine, airflow_db) -> None:
    pid = fate_engine.pid()
    dag_run = run_dag("fate_party_bootstrap")
    assert str(dag_run.state) == "success"
    assert fate_engine.pid() == pid, "a second bootstrap must not restart a healthy engine"


def test_exchange_federate_runs_the_toy_example_between_9999_and_10000(fate_engine, airflow_db) -> None:
    dag_run = run_dag("fate_exchange_federate", {"sensor_timeout_s": 300})
    assert str(dag_run.state) == "success", task_states(dag_run)
    summary = xcom(dag_run, "summarize")
    assert summary["pairs"] == 1 and summary["all_succeeded"] is True
    job = summary["jobs"][0]
    assert job["status"] == "success"
    assert job["party_statuses"] == {"guest:9999": "success", "host:10000": "success"}
    from fateops.fate.client import FateFlowClient

    with FateFlowClient(fate_engine.config.base_url) as client:
        assert client.query_job(job["job_id"]).overall_status == "success"


def test_a_bad_federation_config_fails_before_anything_runs(fate_engine, airflow_db, tmp_path: Path) -> None:
    bad = tmp_path / "federation.bad.yaml"
    bad.write_text("name: bad\nparties:\n  - {party_id: 9999, roles: [guest]}\n  - {party_id: 9999, roles: [host]}\n")
    dag_run = run_dag("fate_exchange_federate", {"federation": str(bad)})
    states = task_states(dag_run)
    assert str(dag_run.state) == "failed"
    assert states["validate_federation"] == "failed"
    assert all(state in ("upstream_failed", "None") for task, state in states.items() if task != "validate_federation")
