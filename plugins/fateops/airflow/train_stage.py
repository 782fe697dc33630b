"""The train stage: check the party tables → submit homo LR + evaluation → wait → metrics → registry.

Shared by ``fate_train``, ``fate_retrain`` and the pipeline. The job is submitted once (no retry),
awaited by the deferrable sensor with the run's deadline, and its evaluation read back from every
party; the guest's scored training rows choose the decision threshold and its held-out rows give the
AUPRC; the training is logged as an MLflow run and the model registered as a version of
``<federation>-fraud``, whose ``champion`` alias our promotion rule moves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import XComArg, task

from fateops.airflow.operators import FateSubmitJobOperator
from fateops.airflow.pipeline_common import wait_for


@task(execution_timeout=timedelta(minutes=10))
def check_tables(params: dict[str, Any], upstream: Any = None) -> list[dict[str, Any]]:
    """Every data party's train and test table is in FATE before a job is submitted."""
    from fateops.airflow.pipeline_common import client_for, federation_of, tables_of
    from fateops.airflow.tasks import fateflow_conn_id
    from fateops.pipeline.errors import TableCheckFailed

    federation = federation_of(params)
    found, missing = [], []
    for table in tables_of(params, federation):
        with client_for(fateflow_conn_id(federation.party(table.party_id))) as client:
            info = client.table_query(table.namespace, table.name)
        if info is None or info.count == 0:
            missing.append(table.uri)
            continue
        found.append({**table.as_dict(), "rows": info.count})
        print(f"{table.uri}: {info.count} rows")
    if missing:
        raise TableCheckFailed(f"party table(s) missing or empty: {', '.join(missing)}",
                               fix="run fate_dataset_prepare (or check the namespace/table name Params)")
    return found


@task(multiple_outputs=True)
def plan_training(tables: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """The homo-LR job spec from the Params: train on every train table, evaluate on every test table."""
    from fateops.airflow.pipeline_common import federation_of, guest_conn_id, tables_of
    from fateops.pipeline.training import TrainSettings, train_job

    federation = federation_of(params)
    train_rows = max(int(t["rows"]) for t in tables if t["split"] == "train")
    asked = TrainSettings.from_params(params)
    settings = asked.as_run(train_rows)  # epochs raised by min_steps, batch/rate cut by min_batch_size: as run
    schema = train_job(federation, tables_of(params, federation), settings, timeout_s=int(params["job_timeout_s"]),
                       train_rows=train_rows)
    trained_on = ", ".join(t["uri"] for t in tables if t["split"] == "train")
    print(f"homo LR: {settings.as_dict()} ({asked.epochs} epochs × batch {asked.batch_size} asked, "
          f"{settings.epochs} × batch {settings.batch_size} at lr {settings.learning_rate:g} run: "
          f"{settings.steps(train_rows)} steps at the largest party's {train_rows} rows), "
          f"FATE job timeout {params['job_timeout_s']} s, train on {trained_on}")
    return {"dag_schema": schema, "fateflow_conn_id": guest_conn_id(federation), "settings": settings.as_dict()}


@task(execution_timeout=timedelta(minutes=15))
def collect_metrics(submitted: dict[str, Any], settings: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Every party's evaluation (AUC, KS, precision, recall, accuracy); the guest's test set is the headline,
    with its AUPRC and the decision threshold chosen on the guest's training rows."""
    from fateops.airflow.pipeline_common import client_for, federation_of
    from fateops.airflow.tasks import fateflow_conn_id
    from fateops.pipeline.predicting import download_scores
    from fateops.pipeline.tables import data_parties, data_role
    from fateops.pipeline.training import (
        MODEL_TASK,
        TEST_TASK,
        TrainSettings,
        evaluation_records,
        fraud_metrics,
        train_result,
    )

    federation = federation_of(params)
    records = {}
    for party in data_parties(federation):  # each party's scores live on its own FATE Flow
        with client_for(fateflow_conn_id(party)) as client:
            records[str(party.party_id)] = evaluation_records(client, submitted["job_id"], party)
    guest = federation.guest
    with client_for(fateflow_conn_id(guest)) as client:  # the guest's own rows only
        train, test = (download_scores(client, submitted["job_id"], str(data_role(guest)), guest.party_id,
                                       task_name=name) for name in (MODEL_TASK, TEST_TASK))
    target = params.get("target_recall")
    fraud = fraud_metrics(train, test, target_recall=None if target is None else float(target))
    result = train_result(federation, records, job_id=submitted["job_id"], model_id=submitted["model_id"],
                          model_version=submitted["model_version"], settings=TrainSettings(**settings), fraud=fraud)
    for party, datasets in result.parties.items():
        for dataset, values in datasets.items():
            print(f"party {party} {dataset}: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(values.items())))
    held_out = fraud.get("held_out_at_threshold", {})
    print(f"headline ({result.headline_source}): AUC {result.auc}, KS {result.ks}, "
          f"AUPRC {result.average_precision}")
    print(f"decision threshold {result.decision_threshold:.6g} ({fraud['threshold_rule']}); on the held-out rows: "
          f"precision {held_out.get('precision')}, recall {held_out.get('recall')}, "
          f"TP {held_out.get('true_positives')} FP {held_out.get('false_positives')} "
          f"FN {held_out.get('false_negatives')} TN {held_out.get('true_negatives')}")
    return result.as_dict()


@task(execution_timeout=timedelta(minutes=10))
def register_model(result: dict[str, Any], tables: list[dict[str, Any]], params: dict[str, Any],
                   run_id: str | None = None) -> dict[str, Any]:
    """Log the MLflow training run and register the model as a version of ``<federation>-fraud``; the
    promotion rule (threshold, tolerance, AUPRC floor) decides whether ``@champion`` moves to it.

    Retried with backoff when the tracking server is down (the FATE model is safe in FATE meanwhile);
    both the run and the version are found again by the FATE job id, so a retry adds neither twice.
    """
    from fateops.airflow.pipeline_common import federation_of
    from fateops.airflow.tracking import airflow_ids, model_registry, ui_url
    from fateops.pipeline.locations import registry_dir, run_reports_dir
    from fateops.pipeline.training import TrainResult, register_result
    from fateops.registry import ModelRegistry, PromotionRule
    from fateops.tracking import log_training_run

    federation = federation_of(params).name
    floor_ap = params.get("auprc_threshold")
    registry = model_registry(federation_of(params), legacy=ModelRegistry(registry_dir()), rule=PromotionRule(
        threshold=float(params["auc_threshold"]), tolerance=float(params["auc_tolerance"]),
        min_average_precision=None if floor_ap is None else float(floor_ap)))
    lineage = [{k: t[k] for k in ("uri", "rows", "party_id", "split", "namespace", "name") if k in t} for t in tables]
    validation = run_reports_dir(str(run_id)) / "validation"
    run = log_training_run(registry.client, registry.where, federation=federation, result=result, tables=lineage,
                           artifacts=[validation] if validation.is_dir() else [], airflow=airflow_ids(),
                           ui_url=ui_url())
    print(f"MLflow training run: {run.url}")
    record = register_result(TrainResult(**result), registry, run_id=run.run_id,
                             dataset={"tables": [{"uri": t["uri"], "rows": t["rows"]} for t in tables]})
    promoted = registry.promoted()
    print(f"FATE training job {result['job_id']}: model {record.model_id}/{record.model_version}, "
          f"AUC {record.auc:.4f}, KS {record.ks:.4f}, AUPRC {record.average_precision}, decision threshold "
          f"{record.decision_threshold} — {record.decision}")
    print(f"registry {registry.path}: @champion is "
          + (f"{promoted.model_id}/{promoted.model_version} (AUC {promoted.auc:.4f})" if promoted else "none"))
    fraud = result.get("fraud", {})
    return {"job_id": result["job_id"], "model_id": record.model_id, "model_version": record.model_version,
            "auc": record.auc, "ks": record.ks, "average_precision": record.average_precision,
            "decision_threshold": record.decision_threshold, "threshold_rule": fraud.get("threshold_rule"),
            "held_out_at_threshold": fraud.get("held_out_at_threshold"), "headline": result["headline"],
            "promoted": record.was_promoted, "decision": record.decision, "registry": registry.path,
            "mlflow_run_id": run.run_id, "mlflow_run_url": run.url}


def train_stage(upstream: XComArg | None = None) -> XComArg:
    """Build the stage; ``upstream`` (e.g. the prepare stage's output) must finish first."""
    tables = check_tables(upstream=upstream)
    plan = plan_training(tables)
    submitted = FateSubmitJobOperator(task_id="submit_training", dag_schema=plan["dag_schema"],
                                      fateflow_conn_id=plan["fateflow_conn_id"])
    waited = wait_for(submitted, task_id="wait_training")
    metrics = collect_metrics(submitted.output, plan["settings"])
    waited >> metrics
    return register_model(metrics, tables)
