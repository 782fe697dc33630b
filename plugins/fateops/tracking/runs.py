"""The MLflow runs: one per training (params, every party's metrics, lineage, artifacts), one per prediction.

A run lives in the experiment named after the federation and is found again by its FATE job id, so
a retried Airflow task logs into the run its first try opened instead of adding a second one. Tags
link back to the Airflow dag/run/task ids; dataset lineage is logged as MLflow dataset inputs (the
party tables' Asset URIs and row counts) plus a ``lineage.json`` artifact.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fateops.tracking.store import TrackingLocation, guarded

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

_PARAM_MAX = 6000


@dataclass(frozen=True)
class AirflowIds:
    """Which Airflow task made a run (tags ``airflow.dag_id`` …)."""

    dag_id: str = ""
    run_id: str = ""
    task_id: str = ""
    try_number: int | None = None

    def tags(self) -> dict[str, str]:
        tags = {"airflow.dag_id": self.dag_id, "airflow.run_id": self.run_id, "airflow.task_id": self.task_id}
        if self.try_number is not None:
            tags["airflow.try_number"] = str(self.try_number)
        return {k: v for k, v in tags.items() if v}


@dataclass(frozen=True)
class TrackedRun:
    """An MLflow run fateops logged: ids and where to look at it."""

    experiment_id: str
    run_id: str
    url: str


def experiment_id(mlflow: MlflowClient, where: TrackingLocation, federation: str) -> str:
    """The federation's experiment (created on first use, artifacts under our dir when embedded)."""
    found = guarded(where, f"reading experiment {federation}", lambda: mlflow.get_experiment_by_name(federation))
    if found is not None:
        return str(found.experiment_id)
    from mlflow.exceptions import MlflowException

    try:
        return str(mlflow.create_experiment(federation, artifact_location=where.experiment_artifacts(federation)))
    except MlflowException:  # a concurrent task created it first
        again = mlflow.get_experiment_by_name(federation)
        if again is None:
            raise
        return str(again.experiment_id)


def log_training_run(mlflow: MlflowClient, where: TrackingLocation, *, federation: str, result: Mapping[str, Any],
                     tables: Iterable[Mapping[str, Any]] = (), artifacts: Iterable[Path] = (),
                     airflow: AirflowIds | None = None, ui_url: str | None = None) -> TrackedRun:
    """A training run: hyper-parameters, FATE ids, every party's metrics, the fraud metrics, lineage, files.

    ``result`` is :meth:`fateops.pipeline.training.TrainResult.as_dict`; ``tables`` the checked party
    tables (``uri``, ``rows``, …); ``artifacts`` files or dirs to attach (validation results, reports).
    """
    params = {**{f"homo_lr.{k}": v for k, v in (result.get("settings") or {}).items()},
              "fate.job_id": result["job_id"], "fate.model_id": result["model_id"],
              "fate.model_version": result["model_version"], "federation": federation,
              "headline_source": result.get("headline_source", ""),
              "threshold_rule": (result.get("fraud") or {}).get("threshold_rule", "")}
    metrics = {f"{k}": v for k, v in (result.get("headline") or {}).items()}
    fraud = result.get("fraud") or {}
    for name in ("average_precision", "decision_threshold", "training_average_precision"):
        metrics[name] = fraud.get(name)
    metrics.update({f"held_out.{k}": v for k, v in (fraud.get("held_out_at_threshold") or {}).items()})
    for party, datasets in (result.get("parties") or {}).items():
        for dataset, values in datasets.items():
            metrics.update({f"party_{party}.{dataset}.{k}": v for k, v in values.items()})
    tables = list(tables)
    lineage = {"tables": tables, "fate_job_id": result["job_id"]}
    return _log_run(mlflow, where, federation=federation, kind="training", key=result["job_id"], params=params,
                    metrics=metrics, tables=tables, documents={"lineage.json": lineage, "train_result.json": result},
                    artifacts=artifacts, airflow=airflow, ui_url=ui_url)


def log_prediction_run(mlflow: MlflowClient, where: TrackingLocation, *, federation: str, job_id: str,
                       model: Mapping[str, Any], predictions: Iterable[Mapping[str, Any]],
                       report: Mapping[str, Any] | None = None, artifacts: Iterable[Path] = (),
                       airflow: AirflowIds | None = None, registered_model: str = "",
                       ui_url: str | None = None) -> TrackedRun:
    """A prediction run: the model used (and why), each party's row counts and, where labelled, metrics."""
    predictions = list(predictions)
    params = {"fate.job_id": job_id, "fate.model_id": model["model_id"], "fate.model_version": model["model_version"],
              "model_source": model.get("source", ""), "registered_model": registered_model,
              "decision_threshold": model.get("applied_threshold"), "threshold_source": model.get("threshold_source"),
              "federation": federation}
    metrics: dict[str, Any] = {}
    for p in predictions:
        party = f"party_{p['party_id']}"
        for name in ("rows", "predicted_frauds", "actual_frauds", "auc", "ks", "average_precision"):
            metrics[f"{party}.{name}"] = p.get(name)
        metrics.update({f"{party}.{k}": v for k, v in (p.get("at_threshold") or {}).items()})
    for name in ("auc", "ks", "average_precision"):
        metrics[name] = (report or {}).get(name)
    documents = {"predictions.json": predictions, **({"report_summary.json": dict(report)} if report else {})}
    return _log_run(mlflow, where, federation=federation, kind="prediction", key=job_id, params=params,
                    metrics=metrics, tables=(), documents=documents, artifacts=artifacts, airflow=airflow,
                    ui_url=ui_url)


def attach(mlflow: MlflowClient, where: TrackingLocation, run_id: str, artifacts: Iterable[Path]) -> None:
    """Add files (or whole dirs) to an existing run, e.g. the report a later task writes."""
    for path in artifacts:
        path = Path(path)
        if path.is_dir():
            guarded(where, f"logging {path}", lambda p=path: mlflow.log_artifacts(run_id, str(p), p.name))
        elif path.is_file():
            guarded(where, f"logging {path}", lambda p=path: mlflow.log_artifact(run_id, str(p)))


def _log_run(mlflow: MlflowClient, where: TrackingLocation, *, federation: str, kind: str, key: str,
             params: Mapping[str, Any], metrics: Mapping[str, Any], tables: Iterable[Mapping[str, Any]],
             documents: Mapping[str, Any], artifacts: Iterable[Path], airflow: AirflowIds | None,
             ui_url: str | None) -> TrackedRun:
    from mlflow.entities import Metric, Param, RunTag

    exp = experiment_id(mlflow, where, federation)
    run_id = _run_for(mlflow, where, exp, kind, key)
    tags = {"fateops.kind": kind, "fate_job_id": key, "mlflow.runName": f"{kind} {key}",
            **(airflow or AirflowIds()).tags()}
    now = _now_ms()
    batch_params = [Param(k, _param(v)) for k, v in params.items() if v not in (None, "")]
    batch_metrics = [Metric(k, float(v), now, 0) for k, v in metrics.items() if _finite(v)]
    guarded(where, f"logging the {kind} run {run_id}",
            lambda: mlflow.log_batch(run_id, metrics=batch_metrics, params=batch_params,
                                     tags=[RunTag(k, v) for k, v in tags.items()]))
    tables = list(tables)
    if tables:
        guarded(where, f"logging the datasets of run {run_id}", lambda: mlflow.log_inputs(run_id, _inputs(tables)))
    for name, document in documents.items():
        guarded(where, f"logging {name}", lambda n=name, d=document: mlflow.log_dict(run_id, _plain(d), n))
    attach(mlflow, where, run_id, artifacts)
    guarded(where, f"finishing run {run_id}", lambda: mlflow.set_terminated(run_id, "FINISHED"))
    return TrackedRun(experiment_id=exp, run_id=run_id, url=where.run_url(exp, run_id, ui_url))


def _run_for(mlflow: MlflowClient, where: TrackingLocation, exp: str, kind: str, key: str) -> str:
    """The run an earlier try opened for this FATE job, else a new one."""
    found = guarded(where, f"searching runs of experiment {exp}", lambda: mlflow.search_runs(
        [exp], filter_string=f"tags.fate_job_id = '{key}' and tags.`fateops.kind` = '{kind}'", max_results=1))
    if found:
        return str(found[0].info.run_id)
    return str(guarded(where, f"creating a {kind} run", lambda: mlflow.create_run(exp)).info.run_id)


def _inputs(tables: list[Mapping[str, Any]]) -> list[Any]:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    out = []
    for table in tables:
        uri = str(table["uri"])
        digest = hashlib.sha256(f"{uri}:{table.get('rows')}".encode()).hexdigest()[:8]
        dataset = Dataset(name=uri, digest=digest, source_type="fate-table", source=json.dumps({"uri": uri}),
                          profile=json.dumps({"num_rows": table.get("rows")}))
        context = str(table.get("split") or "training")
        out.append(DatasetInput(dataset, tags=[InputTag("mlflow.data.context", context)]))
    return out


def _param(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text[:_PARAM_MAX]


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
