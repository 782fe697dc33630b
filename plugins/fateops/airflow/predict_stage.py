"""The predict stage and the run report.

choose_model (promoted or given) → submit the predict job → wait → each party downloads its own
scores into its own data dir (mapped) → ``report`` writes the run's JSON + PNG and, as the DAG's
last task, prints their paths and every FATE job id of the run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, XComArg, task

from fateops.airflow.operators import FateSubmitJobOperator
from fateops.airflow.pipeline_common import wait_for


def pipeline_predict_params() -> dict[str, Param]:
    """The pipeline's own choice of model (``fate_predict`` has no training to fall back on)."""
    return {
        "predict_with": Param(
            "champion", type="string", enum=["champion", "trained"], title="Predict with",
            description="champion: <federation>-fraud@champion, the production choice (the run stops at "
                        "choose_model if no model was ever promoted). trained: the model this run just trained, "
                        "even if the promotion rule refused it; the log, report and MLflow prediction run label "
                        "it 'trained by this run' with the rule's decision. A given model id wins over both."),
    }


@task(execution_timeout=timedelta(minutes=10))
def choose_model(params: dict[str, Any], upstream: Any = None) -> dict[str, Any]:
    """The model to score with and the decision threshold to apply: the one the Params name, else — in the
    pipeline with ``predict_with: trained`` — the model this run trained (``upstream``, labelled with the
    rule's decision), else ``<federation>-fraud@champion``."""
    from fateops.airflow.pipeline_common import federation_of
    from fateops.airflow.tracking import model_registry
    from fateops.pipeline.locations import registry_dir
    from fateops.pipeline.predicting import applied_threshold, choose_trained
    from fateops.pipeline.predicting import choose_model as choose
    from fateops.registry import ModelRegistry

    registry = model_registry(federation_of(params), legacy=ModelRegistry(registry_dir()))
    trained = upstream if isinstance(upstream, dict) and upstream.get("model_id") else None
    if params.get("predict_with") == "trained" and trained is not None and not params.get("model_id"):
        model = choose_trained(registry, trained)
    else:
        model = choose(registry, params["model_id"], params["model_version"])
    if model.source == "promoted":
        print(f"resolved {registry.name}@champion in {registry.where.uri}")
    override = params.get("decision_threshold")
    threshold, source = applied_threshold(model, None if override is None else float(override))
    print(f"predicting with model {model.model_id}/{model.model_version} ({model.source}; AUC {model.auc}, "
          f"AUPRC {model.average_precision}, trained by FATE job {model.job_id or 'unknown'}); "
          f"decision threshold {threshold:.6g} ({source})")
    return {**model.as_dict(), "applied_threshold": threshold, "threshold_source": source}


@task(multiple_outputs=True)
def plan_prediction(model: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The predict job over every data party's chosen table, and who downloads what afterwards."""
    from fateops.airflow.pipeline_common import federation_of, guest_conn_id, tables_of
    from fateops.pipeline.predicting import ChosenModel, predict_spec

    federation = federation_of(params)
    split = params["predict_split"]
    tables = tables_of(params, federation)
    chosen = ChosenModel(**{k: v for k, v in model.items() if k in ChosenModel.__dataclass_fields__})
    schema = predict_spec(federation, tables, split, chosen, timeout_s=int(params["job_timeout_s"]))
    print(f"scoring {', '.join(t.uri for t in tables if t.split == split)}")
    return {"dag_schema": schema, "fateflow_conn_id": guest_conn_id(federation)}


@task(retries=0)
def scored_parties(model: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    """The parties whose tables the job scores: each downloads its own rows."""
    from fateops.airflow.pipeline_common import federation_of
    from fateops.pipeline.tables import data_parties, data_role

    return [{"party_id": p.party_id, "role": data_role(p)} for p in data_parties(federation_of(params))]


@task(execution_timeout=timedelta(minutes=30), map_index_template="{{ party_label }}")
def download_predictions(party: dict[str, Any], submitted: dict[str, Any], model: dict[str, Any],
                         params: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
    """This party's scores, written into this party's data dir with a summary."""
    from airflow.sdk import get_current_context

    from fateops.airflow.pipeline_common import client_for, federation_of
    from fateops.airflow.tasks import fateflow_conn_id
    from fateops.data import PartyDataDir
    from fateops.paths import data_dir
    from fateops.pipeline.locations import party_predictions_csv
    from fateops.pipeline.predicting import download_scores, write_party_predictions

    get_current_context()["party_label"] = str(party["party_id"])  # type: ignore[typeddict-unknown-key]
    federation = federation_of(params)
    with client_for(fateflow_conn_id(federation.party(party["party_id"]))) as client:
        scores = download_scores(client, submitted["job_id"], party["role"], party["party_id"])
    target = party_predictions_csv(PartyDataDir.for_party(data_dir(), party["party_id"]), str(run_id))
    summary = write_party_predictions(scores, target, threshold=float(model["applied_threshold"]))
    outcome = summary.at_threshold or {}
    print(f"party {party['party_id']}: {summary.rows} rows scored, {summary.predicted_frauds} predicted frauds "
          f"(threshold {summary.threshold:.6g}), AUC {summary.auc}, AUPRC {summary.average_precision}, "
          f"precision {outcome.get('precision')}, recall {outcome.get('recall')} -> {summary.csv_path}")
    return {"party_id": party["party_id"], "role": party["role"], "job_id": submitted["job_id"],
            "predictions_csv": str(summary.csv_path), "summary_json": str(summary.summary_path), "rows": summary.rows,
            "predicted_frauds": summary.predicted_frauds, "actual_frauds": summary.actual_frauds,
            "auc": summary.auc, "ks": summary.ks, "average_precision": summary.average_precision,
            "threshold": summary.threshold, "at_threshold": summary.at_threshold}


def predict_stage(upstream: XComArg | None = None) -> tuple[XComArg, XComArg]:
    """Build the stage; returns (the chosen model, each party's prediction summary)."""
    model = choose_model(upstream=upstream)
    plan = plan_prediction(model)
    submitted = FateSubmitJobOperator(task_id="submit_prediction", dag_schema=plan["dag_schema"],
                                      fateflow_conn_id=plan["fateflow_conn_id"])
    waited = wait_for(submitted, task_id="wait_prediction")
    parties = scored_parties(model)
    predictions = download_predictions.partial(submitted=submitted.output, model=model).expand(party=parties)
    waited >> predictions
    return model, predictions


@task(execution_timeout=timedelta(minutes=15))
def report(model: dict[str, Any], predictions: list[dict[str, Any]], params: dict[str, Any],
           training: dict[str, Any] | None = None, prepared: dict[str, Any] | None = None,
           run_id: str | None = None) -> dict[str, Any]:
    """Write the run report (JSON + PNG); print the paths, the AUC and every FATE job id."""
    from fateops.airflow.pipeline_common import federation_of
    from fateops.pipeline.reporting import ReportInputs, assemble_report, job_ids

    inputs = ReportInputs(run_id=str(run_id), model=model, predictions=list(predictions),
                          guest_party_id=federation_of(params).guest.party_id, training=training,
                          tables=(prepared or {}).get("tables", []),
                          synthetic=(prepared or {}).get("source", {}).get("synthetic"))
    written = assemble_report(inputs)
    jobs = job_ids(inputs)
    training_auc = (training or {}).get("auc", model.get("auc"))
    guest = next(p for p in inputs.predictions if int(p["party_id"]) == inputs.guest_party_id)
    outcome = written.at_threshold or {}
    print(f"model {model['model_id']}/{model['model_version']}: training AUC (FATE evaluation, guest held-out) "
          f"{training_auc}; prediction AUC on the guest's rows {written.auc}, AUPRC {written.average_precision}")
    print(f"at the decision threshold {model.get('applied_threshold')} ({model.get('threshold_source')}): "
          f"precision {outcome.get('precision')}, recall {outcome.get('recall')}, TP {outcome.get('true_positives')} "
          f"FP {outcome.get('false_positives')} FN {outcome.get('false_negatives')} TN {outcome.get('true_negatives')}")
    for p in inputs.predictions:
        print(f"predictions of party {p['party_id']}: {p['predictions_csv']}")
    print(f"report JSON: {written.json_path}")
    print(f"report PNG:  {written.png_path}")
    for what, job_id in jobs.items():
        print(f"FATE job {what}: {job_id}")
    tracked = track_prediction(model, inputs.predictions, params, written, training)
    runs = {"prediction": tracked.url, **({"training": training["mlflow_run_url"]} if training else {})}
    return {"mlflow_run_id": tracked.run_id, "mlflow_run_url": tracked.url, "mlflow_runs": runs,
            "report_json": str(written.json_path), "report_png": str(written.png_path), "auc": written.auc,
            "ks": written.ks, "average_precision": written.average_precision,
            "training_average_precision": (training or {}).get("average_precision", model.get("average_precision")),
            "threshold": model.get("applied_threshold"), "threshold_source": model.get("threshold_source"),
            "at_threshold": written.at_threshold,
            "training_auc": training_auc, "predictions_csv": guest["predictions_csv"],
            "predictions": {str(p["party_id"]): p["predictions_csv"] for p in inputs.predictions},
            "job_ids": jobs, "model": {"model_id": model["model_id"], "model_version": model["model_version"],
                                       "source": model.get("source")},
            "training": {k: (training or {}).get(k) for k in ("model_id", "model_version", "job_id", "auc",
                                                              "promoted", "decision")} if training else None}


def track_prediction(model: dict[str, Any], predictions: list[dict[str, Any]], params: dict[str, Any],
                     written: Any, training: dict[str, Any] | None) -> Any:
    """The MLflow prediction run (model used, row counts, metrics, the report files); in the pipeline the
    report files are attached to the training run as well."""
    from fateops.airflow.pipeline_common import federation_of
    from fateops.airflow.tracking import airflow_ids, tracking_location, ui_url
    from fateops.tracking import client, log_prediction_run, model_name
    from fateops.tracking.runs import attach

    federation = federation_of(params).name
    where = tracking_location()
    mlflow = client(where)
    files = [written.json_path, written.png_path]
    job_id = next((p["job_id"] for p in predictions if p.get("job_id")), "")
    summary = {"auc": written.auc, "ks": written.ks, "average_precision": written.average_precision,
               "at_threshold": written.at_threshold}
    tracked = log_prediction_run(mlflow, where, federation=federation, job_id=job_id, model=model,
                                 predictions=predictions, report=summary, artifacts=files, airflow=airflow_ids(),
                                 registered_model=model_name(federation), ui_url=ui_url())
    print(f"MLflow prediction run: {tracked.url}")
    if training and training.get("mlflow_run_id"):
        attach(mlflow, where, training["mlflow_run_id"], files)
        print(f"report attached to the MLflow training run: {training.get('mlflow_run_url')}")
    return tracked
