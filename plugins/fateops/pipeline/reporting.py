"""The run report: one JSON + one PNG an operator opens after a pipeline or predict run.

The ROC curve and score histogram are drawn from the *guest's* (the initiator's) scored held-out
rows — the rows the guest may look at. Every other party contributes only what FATE already shares
with the initiator: its evaluation metrics and its prediction summary (rows, predicted frauds, AUC);
no other party's rows leave its data dir.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fateops.data import schema
from fateops.exceptions import DataValidationError
from fateops.paths import reports_dir
from fateops.report import RunReport, write_run_report


@dataclass(frozen=True)
class ReportInputs:
    """What a run did: the model used, each party's prediction summary, and the FATE jobs."""

    run_id: str
    model: Mapping[str, Any]
    predictions: Sequence[Mapping[str, Any]]
    guest_party_id: int
    training: Mapping[str, Any] | None = None
    tables: Sequence[Mapping[str, Any]] = ()
    synthetic: bool | None = None


def job_ids(inputs: ReportInputs) -> dict[str, str]:
    """Every FATE job of the run, named by what it did (``upload 9999/train``, ``train``, ``predict``)."""
    ids: dict[str, str] = {}
    for table in inputs.tables:
        if table.get("upload_job_id"):
            ids[f"upload {table['party_id']}/{table['split']}"] = str(table["upload_job_id"])
    training_job = (inputs.training or {}).get("job_id") or inputs.model.get("job_id")
    if training_job:
        ids["train" if inputs.training else "train (model's own run)"] = str(training_job)
    predict_jobs = {str(p["job_id"]) for p in inputs.predictions if p.get("job_id")}
    if predict_jobs:
        ids["predict"] = ", ".join(sorted(predict_jobs))
    return ids


def assemble_report(inputs: ReportInputs, directory: Path | None = None) -> RunReport:
    """Write ``<reports_dir>/<run>/report.json`` and ``report.png``; returns their paths and the AUC."""
    guest = next((p for p in inputs.predictions if int(p["party_id"]) == inputs.guest_party_id), None)
    if guest is None:
        raise DataValidationError(f"no predictions of the guest {inputs.guest_party_id} to report on",
                                  fix="check the download_predictions task of the guest")
    scored = pd.read_csv(guest["predictions_csv"])
    labels = scored[schema.LABEL] if schema.LABEL in scored.columns and scored[schema.LABEL].notna().all() else None
    metrics: dict[str, Any] = {
        "model": dict(inputs.model),
        "prediction": {str(p["party_id"]): {k: p.get(k) for k in ("rows", "predicted_frauds", "actual_frauds",
                                                                    "auc", "ks", "average_precision", "threshold",
                                                                    "at_threshold")}
                       for p in inputs.predictions},
    }
    if inputs.training:
        metrics["training"] = dict(inputs.training)
    paths: dict[str, Any] = {f"predictions {p['party_id']}": p["predictions_csv"] for p in inputs.predictions}
    counts: dict[str, Any] = {"predicted_rows": {str(p["party_id"]): p.get("rows") for p in inputs.predictions}}
    if inputs.tables:
        counts["tables"] = {f"{t['party_id']}/{t['split']}": t.get("rows") for t in inputs.tables}
    if inputs.synthetic is not None:
        counts["synthetic_data"] = inputs.synthetic
    return write_run_report(directory or reports_dir(), inputs.run_id, y_score=scored["predict_score"].to_numpy(),
                            y_true=None if labels is None else labels.to_numpy(), metrics=metrics,
                            job_ids=job_ids(inputs), counts=counts, paths=paths, threshold=guest.get("threshold"),
                            title=f"fateops credit-card run {inputs.run_id} — guest {inputs.guest_party_id}")
