"""The fate_chaos_drill DAG's shape: one drill at a time, a cleanup and a scorecard that always run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

DAG_FILE = Path(__file__).resolve().parents[2] / "dags" / "fate_chaos_drill.py"


@pytest.fixture(scope="module")
def dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert not bag.import_errors, bag.import_errors
    return bag.dags["fate_chaos_drill"]  # not get_dag(): it consults the metadata DB


def test_drills_run_one_at_a_time_and_never_retry(dag: Any) -> None:
    run_drill = dag.get_task("run_drill")
    assert run_drill.max_active_tis_per_dag == 1
    assert run_drill.retries == 0
    assert dag.max_active_runs == 1


def test_cleanup_and_scorecard_run_whatever_happened_and_in_that_order(dag: Any) -> None:
    cleanup, card = dag.get_task("cleanup"), dag.get_task("scorecard")
    assert cleanup.trigger_rule == "all_done" and card.trigger_rule == "all_done"
    assert "run_drill" in cleanup.upstream_task_ids
    assert {"cleanup", "run_drill", "plan_drills"} <= card.upstream_task_ids
    assert dag.get_task("plan_drills").upstream_task_ids == {"validate_federation"}


def test_params_default_to_a_safe_dry_run_of_every_drill_of_the_local_backend(dag: Any) -> None:
    params = {name: dag.params[name] for name in dag.params}
    assert params["dry_run"] is True
    assert params["backend"] == "local" and params["drills"] == [] and params["run_jobs"] is True
    assert dag.params.get_param("backend").schema["enum"] == ["local", "kubernetes", "vsphere"]
    assert "chaos" in dag.tags and dag.doc_md and "all_done" in dag.doc_md
