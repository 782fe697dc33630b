"""The credit-card DAGs' shape: gate before upload, stages in order, retries only where transient."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
SENSORS = {"wait_upload", "wait_training", "wait_prediction", "wait_toy_example"}
PIPELINE_DAGS = ("fate_dataset_prepare", "fate_train", "fate_predict", "fate_credit_card_pipeline", "fate_retrain")


@pytest.fixture(scope="module")
def dags():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    found = {}
    for dag_id in PIPELINE_DAGS:
        bag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py"))
        assert not bag.import_errors, bag.import_errors
        found[dag_id] = bag.dags[dag_id]  # not get_dag(): it consults the metadata DB
    return found


def _upstream_closure(dag, task_id: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {t.task_id for t in dag.get_task(task_id).get_flat_relatives(upstream=True)}


def test_nothing_is_uploaded_before_every_party_passed_the_gate(dags) -> None:  # type: ignore[no-untyped-def]
    for dag_id, prefix in (("fate_dataset_prepare", ""), ("fate_credit_card_pipeline", "prepare.")):
        dag = dags[dag_id]
        upstream = _upstream_closure(dag, f"{prefix}upload_table")
        assert {f"{prefix}validation_gate", f"{prefix}validate", f"{prefix}prepare"} <= upstream
        assert f"{prefix}validate" in {t.task_id for t in dag.get_task(f"{prefix}validation_gate").upstream_list}


def test_the_pipeline_runs_its_stages_in_the_seeds_order(dags) -> None:  # type: ignore[no-untyped-def]
    dag = dags["fate_credit_card_pipeline"]
    for order in (["bootstrap.report", "federate.summarize", "train.check_tables"],
                  ["bootstrap.report", "prepare.upload_table", "prepare.tables_ready", "train.check_tables"],
                  ["train.register_model", "predict.download_predictions", "report"]):
        for earlier, later in itertools.pairwise(order):
            assert earlier in _upstream_closure(dag, later), (earlier, later)
    assert dag.get_task("federate.check_party").upstream_task_ids >= {"bootstrap.report"}
    assert not dag.get_task("report").downstream_list, "the report must be the last task"


def test_the_data_steps_run_beside_bootstrap_and_federate(dags) -> None:  # type: ignore[no-untyped-def]
    """Splitting, preparing and validating need no engine: they must not wait for one (nor the toy example)."""
    dag = dags["fate_credit_card_pipeline"]
    for data_step in ("prepare.source_dataset", "prepare.split_dataset", "prepare.prepare", "prepare.validate"):
        upstream = _upstream_closure(dag, data_step)
        assert not {t for t in upstream if t.startswith(("bootstrap.", "federate."))}, (data_step, upstream)
    assert "federate.summarize" not in _upstream_closure(dag, "prepare.upload_table")


def test_the_pipeline_reuses_the_standalone_dags_tasks(dags) -> None:  # type: ignore[no-untyped-def]
    pipeline = {t.task_id for t in dags["fate_credit_card_pipeline"].tasks}
    for dag_id, group in (("fate_dataset_prepare", "prepare"), ("fate_train", "train"), ("fate_predict", "predict")):
        own = {t.task_id for t in dags[dag_id].tasks} - {"validate_federation", "report"}
        assert {f"{group}.{task_id}" for task_id in own} <= pipeline, dag_id


def test_submissions_are_never_retried_and_waits_are_deferrable(dags) -> None:  # type: ignore[no-untyped-def]
    for dag in dags.values():
        for task in dag.tasks:
            partial = getattr(task, "partial_kwargs", None) or {}
            retries = partial.get("retries", task.retries)
            if "submit" in task.task_id or "upload_table" in task.task_id:
                assert retries == 0, (dag.dag_id, task.task_id)
            if task.task_id.split(".")[-1] in SENSORS:
                timeout = partial.get("execution_timeout", task.execution_timeout)
                assert retries == 0 and timeout >= timedelta(hours=72), (dag.dag_id, task.task_id)


def test_data_errors_fail_at_once_and_unreachable_fate_flow_is_retried(dags) -> None:  # type: ignore[no-untyped-def]
    from fateops.data.errors import ExpectationsFailed
    from fateops.exceptions import FateFlowUnavailable, FateJobFailed
    from fateops.pipeline.errors import TableCheckFailed

    task = dags["fate_train"].get_task("collect_metrics")
    policy = task.retry_policy
    assert task.retries == 2 and task.retry_exponential_backoff
    fail = [ExpectationsFailed("t.csv", [], "x"), FateJobFailed("x", job_id="1", status="failed"),
            TableCheckFailed("x")]
    assert {policy.evaluate(e, 1, 3).action.value for e in fail} == {"fail"}
    assert policy.evaluate(FateFlowUnavailable("down"), 1, 3).action.value == "retry"
    assert policy.evaluate(OSError("disk"), 1, 3).action.value == "default"


def test_retrain_runs_weekly_or_when_every_party_table_is_fresh(dags) -> None:  # type: ignore[no-untyped-def]
    from airflow.sdk import AssetOrTimeSchedule

    dag = dags["fate_retrain"]
    assert isinstance(dag.timetable, AssetOrTimeSchedule)
    assert dag.timetable.timetable.expression == "0 0 * * 0"
    assert sorted(a.uri for a in dag.timetable.asset_condition.objects) == sorted(
        f"fate://experiment/creditcard_{p}_{s}" for p in (9999, 10000) for s in ("train", "test"))


def test_uploaded_tables_are_published_through_the_party_tables_alias(dags) -> None:  # type: ignore[no-untyped-def]
    from fateops.airflow.assets import PARTY_TABLES

    assert dags["fate_dataset_prepare"].get_task("verify_table").outlets == [PARTY_TABLES]
