"""Scoring with a trained model: which model, the predict job, and each party's scored rows.

The model is the registry's promoted one unless the run names one (``model_id`` + ``model_version``,
e.g. to compare with an older model or to use one trained outside fateops). FATE's homo-LR predict
job scores every data party's table in that party's place; each party then downloads *its own*
scores into *its own* data dir and writes ``predictions.csv`` (``id``, ``Class`` when labelled,
``predict_score``, ``predicted_fraud``) plus a summary: rows, predicted frauds, AUC/KS/AUPRC and
precision, recall and confusion counts at the threshold when labelled.

The threshold that makes a score a *predicted fraud* is the one chosen on the model's training rows
and recorded with it in the registry (:func:`applied_threshold`), unless the run gives one; FATE's
fixed 0.5 flagged 6 of 49 frauds in the demo.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fateops.data import schema
from fateops.exceptions import ConfigError, FateFlowError
from fateops.fate.client import FateFlowClient
from fateops.fate.jobs import DEFAULT_METRICS, HomoLRParams, predict_job
from fateops.federation import Federation
from fateops.pipeline.tables import PartyTable, Split, tables_for_job
from fateops.pipeline.training import MODEL_TASK, party_ids
from fateops.registry import ModelRecord, ModelRegistry, RegistryError
from fateops.report import PredictionSummary, write_predictions

if TYPE_CHECKING:
    from fateops.tracking import MlflowModelRegistry

_SCORE = "predict_score"
_LABELS = ("label", schema.LABEL, "y")
FALLBACK_THRESHOLD = 0.5
"""For a model with no recorded threshold (trained outside fateops, or before thresholds were chosen)."""


@dataclass(frozen=True)
class ChosenModel:
    """The model a prediction run uses and why; ``params`` are its training hyper-parameters."""

    model_id: str
    model_version: str
    source: str
    job_id: str = ""
    auc: float | None = None
    ks: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    decision: str = ""
    average_precision: float | None = None
    decision_threshold: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_model(registry: ModelRegistry | MlflowModelRegistry, model_id: str | None = "",
                 model_version: str | int | None = "") -> ChosenModel:
    """The given model (looked up in the registry for its scores, if it is there) or the promoted one
    (in MLflow: the ``champion`` alias)."""
    model_id = (model_id or "").strip()
    model_version = "" if model_version is None else str(model_version).strip()
    if model_id:
        if not model_version:
            raise ConfigError("a model id needs its model version", field="model_version", value=model_version,
                              fix="pass the version the training submit returned (FATE 2.2 uses '0')")
        record = registry.get(model_id, model_version)
        if record is None:
            return ChosenModel(model_id, model_version, source="given (not in the registry)")
        return _chosen(record, "given")
    record = registry.promoted()
    if record is None:
        raise RegistryError(f"no model has been promoted yet in {registry.path}",
                            fix="run fate_train (lower its AUC threshold Param if no model reaches it) or pass "
                                "model_id and model_version")
    return _chosen(record, "promoted")


def choose_trained(registry: ModelRegistry | MlflowModelRegistry, trained: dict[str, Any]) -> ChosenModel:
    """The model the same pipeline run just trained, promoted or not — labelled so nobody mistakes it
    for the champion (``source`` carries the promotion decision, e.g. ``trained by this run, NOT
    promoted: AUC 0.8712 < threshold 0.9000``)."""
    record = registry.get(trained["model_id"], trained["model_version"])
    if record is None:
        raise RegistryError(f"model {trained['model_id']}/{trained['model_version']} of this run is not registered "
                            f"in {registry.path}", fix="re-run the train stage's register_model task")
    promoted = "promoted (now @champion)" if record.was_promoted else \
        "NOT promoted: " + record.decision.removeprefix("not promoted: ")
    return _chosen(record, f"trained by this run, {promoted}")


def _chosen(record: ModelRecord, source: str) -> ChosenModel:
    return ChosenModel(record.model_id, record.model_version, source=source, job_id=record.job_id, auc=record.auc,
                       ks=record.ks, params=record.params, decision=record.decision,
                       average_precision=record.average_precision, decision_threshold=record.decision_threshold)


def applied_threshold(model: ChosenModel, override: float | None) -> tuple[float, str]:
    """(threshold, where it comes from): the run's own, else the model's recorded one, else 0.5."""
    if override is not None:
        return float(override), "given by the run"
    if model.decision_threshold is not None:
        return float(model.decision_threshold), "chosen on the model's training rows"
    return FALLBACK_THRESHOLD, "default 0.5 (the model has no recorded threshold)"


def predict_spec(federation: Federation, tables: list[PartyTable], split: Split, model: ChosenModel, *,
                 timeout_s: int, evaluate: bool = True) -> dict[str, Any]:
    """The predict job: every data party's ``split`` table through the model, evaluated when labelled."""
    guest, hosts, arbiter = party_ids(federation)
    chosen = tables_for_job(tables, split)
    known = set(HomoLRParams.__dataclass_fields__)
    params = HomoLRParams(**{k: v for k, v in model.params.items() if k in known})
    return predict_job(guest, hosts, arbiter, chosen.guest, chosen.hosts, model.model_id, model.model_version,
                       params=params, model_task=MODEL_TASK, evaluate=evaluate, metrics=DEFAULT_METRICS,
                       timeout=timeout_s)


def download_scores(client: FateFlowClient, job_id: str, role: str, party_id: int | str, *,
                    task_name: str = MODEL_TASK) -> pd.DataFrame:
    """The party's scored rows from a job's homo-LR task, as ``id``, ``Class`` (if labelled), ``predict_score``.

    ``task_name`` is ``homo_lr_0`` in a predict job; a training job scores the test tables in ``homo_lr_1``.
    """
    workdir = Path(tempfile.mkdtemp(prefix="fateops-predict-"))
    try:
        files = client.download_output_data(job_id, role, party_id, task_name, workdir)
        if not files:
            raise FateFlowError(f"job {job_id}: {task_name} of {role} {party_id} produced no data file",
                                fix=f"check the job's {task_name} log")
        frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return tidy_scores(frame)


def tidy_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep what a reader needs from FATE's output (it adds sample ids, types and JSON details)."""
    if _SCORE not in frame.columns or schema.ID not in frame.columns:
        raise FateFlowError(f"prediction output lacks {schema.ID!r}/{_SCORE!r}; columns: {list(frame.columns)}",
                            fix="check that the predicted table was uploaded with match_id_name=id")
    out = pd.DataFrame({schema.ID: frame[schema.ID]})
    label = next((c for c in _LABELS if c in frame.columns), None)
    if label is not None:
        out[schema.LABEL] = pd.to_numeric(frame[label], errors="coerce").astype("Int64")
    out[_SCORE] = pd.to_numeric(frame[_SCORE], errors="coerce")
    return out.sort_values(schema.ID, kind="stable").reset_index(drop=True)


def write_party_predictions(frame: pd.DataFrame, path: Path, *, threshold: float) -> PredictionSummary:
    """``predictions.csv`` + ``predictions.summary.json`` (rows, predicted frauds, AUC/KS with labels)."""
    label = schema.LABEL if schema.LABEL in frame.columns else None
    return write_predictions(frame, path, threshold=threshold, score_column=_SCORE, label_column=label,
                             id_column=schema.ID)
