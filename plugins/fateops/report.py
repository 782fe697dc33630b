"""Per-run artefacts a person reads after a run: predictions CSV + summary, report JSON + PNG.

* :func:`write_predictions` takes the prediction table FATE returns (``predict_score`` per row,
  plus the label when the party has one), writes it as CSV with a ``predicted_fraud`` column at the
  chosen threshold, and a summary: rows, predicted frauds and — when labels are present — AUC, KS,
  AUPRC and precision, recall and the confusion counts at the threshold.
* :func:`write_run_report` writes ``report.json`` (AUC, KS, AUPRC, the threshold's outcome, FATE job
  ids, counts, paths) and ``report.png`` (ROC curve, precision-recall curve and score histogram side by
  side) under ``<reports_dir>/<run>/``.

Both return the paths so the last task of a DAG can print them. matplotlib is driven through its
Agg backend (no display, no GUI toolkit) and imported only when a PNG is drawn.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fateops.exceptions import DataValidationError
from fateops.scoring import at_threshold, binary_scores

__all__ = ["PredictionSummary", "RunReport", "binary_scores", "safe_name", "write_predictions", "write_run_report"]

log = logging.getLogger(__name__)

SCORE_COLUMNS = ("predict_score", "score")
LABEL_COLUMNS = ("label", "Class", "y")
ID_COLUMNS = ("id", "sample_id")


@dataclass(frozen=True)
class PredictionSummary:
    """What :func:`write_predictions` wrote and counted."""

    csv_path: Path
    summary_path: Path
    rows: int
    predicted_frauds: int
    threshold: float
    auc: float | None
    ks: float | None
    actual_frauds: int | None
    average_precision: float | None = None
    at_threshold: dict[str, Any] | None = None
    """Precision, recall and confusion counts at ``threshold`` (labelled rows only)."""


@dataclass(frozen=True)
class RunReport:
    """Where a run's report went, and its headline numbers."""

    json_path: Path
    png_path: Path
    auc: float | None
    ks: float | None
    average_precision: float | None = None
    at_threshold: dict[str, Any] | None = None


def write_predictions(frame: pd.DataFrame, path: Path | str, *, threshold: float = 0.5,
                      score_column: str | None = None, label_column: str | None = None,
                      id_column: str | None = None) -> PredictionSummary:
    """Write ``frame`` plus ``predicted_fraud`` to ``path`` and ``<path stem>.summary.json`` beside it."""
    if not 0 <= threshold <= 1:
        raise DataValidationError(f"threshold must be within [0, 1] (got {threshold})",
                                  fix="pass a probability threshold such as 0.5")
    path = Path(path)
    score = score_column or _pick(frame, SCORE_COLUMNS, "score")
    label = label_column or next((c for c in LABEL_COLUMNS if c in frame.columns), None)
    ident = id_column or next((c for c in ID_COLUMNS if c in frame.columns), None)
    scores = pd.to_numeric(frame[score], errors="coerce")
    if scores.isna().any():
        row = int(np.argmax(scores.isna().to_numpy()))
        raise DataValidationError(f"prediction row {row + 1}: {score!r} is not a number "
                                  f"(got {frame[score].iloc[row]!r})", fix="check the FATE predict job output")
    out = frame.copy()
    out["predicted_fraud"] = (scores.to_numpy() >= threshold).astype("int64")
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    metrics: dict[str, float] = {}
    actual = None
    outcome = None
    if label is not None:
        labels = pd.to_numeric(frame[label], errors="coerce")
        if labels.notna().all() and labels.isin([0, 1]).all():
            metrics = binary_scores(labels.astype("int64"), scores)
            outcome = at_threshold(labels.astype("int64"), scores, threshold).as_dict()
            actual = int(labels.sum())
        else:
            log.warning("column %r is not a 0/1 label; AUC is not computed", label)
            label = None
    summary = {
        "predictions_csv": str(path), "rows": len(out), "threshold": threshold,
        "predicted_frauds": int(out["predicted_fraud"].sum()), "score_column": score, "label_column": label,
        "id_column": ident, "actual_frauds": actual,
        "auc": _finite(metrics.get("auc")), "ks": _finite(metrics.get("ks")),
        "average_precision": _finite(metrics.get("average_precision")), "at_threshold": outcome,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    summary_path = path.with_name(path.stem + ".summary.json")
    summary_path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    log.info("predictions: %d rows, %d predicted frauds at %.4g, AUC %s, AUPRC %s -> %s", len(out),
             summary["predicted_frauds"], threshold, summary["auc"], summary["average_precision"], path)
    return PredictionSummary(csv_path=path, summary_path=summary_path, rows=len(out),
                             predicted_frauds=summary["predicted_frauds"], threshold=threshold,
                             auc=summary["auc"], ks=summary["ks"], actual_frauds=actual,
                             average_precision=summary["average_precision"], at_threshold=outcome)


def write_run_report(reports_dir: Path | str, run_id: str, *, y_score: Sequence[float] | np.ndarray,
                     y_true: Sequence[int] | np.ndarray | None = None, metrics: Mapping[str, Any] | None = None,
                     job_ids: Mapping[str, str] | None = None, counts: Mapping[str, Any] | None = None,
                     paths: Mapping[str, Any] | None = None, title: str = "fateops credit-card run",
                     threshold: float | None = None) -> RunReport:
    """Write ``report.json`` and ``report.png`` under ``<reports_dir>/<run_id>/``; return their paths.

    ``metrics`` are those FATE reported (e.g. the federated evaluation's AUC/KS); the AUC, KS and AUPRC
    computed here from ``y_true``/``y_score`` are stored beside them under ``computed``, with precision,
    recall and the confusion counts at the decision ``threshold`` when one is given.
    """
    directory = Path(reports_dir) / safe_name(run_id)
    directory.mkdir(parents=True, exist_ok=True)
    scores = np.asarray(y_score, dtype="float64")
    labels = None if y_true is None else np.asarray(y_true).astype("int64")
    if labels is not None and len(labels) != len(scores):
        raise DataValidationError(f"{len(labels)} labels for {len(scores)} scores",
                                  fix="pass the labels and scores of the same rows")
    computed = (binary_scores(labels, scores) if labels is not None
                else {"auc": math.nan, "ks": math.nan, "average_precision": math.nan})
    outcome = (at_threshold(labels, scores, threshold).as_dict()
               if labels is not None and threshold is not None else None)
    json_path, png_path = directory / "report.json", directory / "report.png"
    _draw(png_path, scores, labels, computed, title, outcome)
    report = {
        "run_id": run_id, "title": title, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "metrics": _jsonable(dict(metrics or {})),
        "computed": {"auc": _finite(computed["auc"]), "ks": _finite(computed["ks"]),
                     "average_precision": _finite(computed["average_precision"]), "rows": len(scores),
                     "positives": None if labels is None else int(labels.sum()), "threshold": threshold,
                     "at_threshold": _jsonable(outcome)},
        "job_ids": dict(job_ids or {}), "counts": _jsonable(dict(counts or {})),
        "paths": {**{k: str(v) for k, v in (paths or {}).items()}, "report_json": str(json_path),
                  "report_png": str(png_path)},
    }
    json_path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    log.info("run report: %s and %s", json_path, png_path)
    return RunReport(json_path=json_path, png_path=png_path, auc=_finite(computed["auc"]),
                     ks=_finite(computed["ks"]), average_precision=_finite(computed["average_precision"]),
                     at_threshold=_jsonable(outcome))


def safe_name(run_id: str) -> str:
    """A file-system-safe form of an Airflow run id (``manual__2026-01-01T00:00:00+00:00``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._")
    return name or "run"


def _draw(png_path: Path, scores: np.ndarray, labels: np.ndarray | None, computed: dict[str, float],
          title: str, outcome: Mapping[str, Any] | None) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure
    from sklearn.metrics import precision_recall_curve, roc_curve

    figure = Figure(figsize=(16, 4.5), dpi=100)
    roc_ax, pr_ax, hist_ax = figure.subplots(1, 3)
    bins = np.linspace(0.0, 1.0, 41) if scores.size and scores.min() >= 0 and scores.max() <= 1 else 40
    if labels is not None and not math.isnan(computed["auc"]):
        fpr, tpr, _ = roc_curve(labels, scores)
        roc_ax.plot(fpr, tpr, label=f"AUC {computed['auc']:.4f}, KS {computed['ks']:.4f}")
        roc_ax.legend(loc="lower right")
        precision, recall, _ = precision_recall_curve(labels, scores)
        pr_ax.step(recall, precision, where="post", label=f"AUPRC {computed['average_precision']:.4f}")
        pr_ax.axhline(float(labels.mean()), linestyle="--", linewidth=0.8, color="grey", label="no skill")
        if outcome and outcome.get("precision") is not None and outcome.get("recall") is not None:
            pr_ax.plot([outcome["recall"]], [outcome["precision"]], marker="o", color="red",
                       label=f"threshold {outcome['threshold']:.4g}: precision {outcome['precision']:.3f}, "
                             f"recall {outcome['recall']:.3f}")
        pr_ax.legend(loc="lower left", fontsize="small")
        for value, name in ((0, "genuine"), (1, "fraud")):
            hist_ax.hist(scores[labels == value], bins=bins, alpha=0.6, label=name, log=True)
        if outcome:
            hist_ax.axvline(outcome["threshold"], color="red", linewidth=0.8, label="decision threshold")
        hist_ax.legend()
    else:
        for ax, curve in ((roc_ax, "ROC"), (pr_ax, "precision-recall curve")):
            ax.text(0.5, 0.5, f"no labels: {curve} not available", ha="center", va="center")
        hist_ax.hist(scores, bins=bins, log=True)
    roc_ax.plot([0, 1], [0, 1], linestyle="--", linewidth=0.8, color="grey")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC", xlim=(0, 1), ylim=(0, 1))
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall", xlim=(0, 1), ylim=(0, 1.02))
    hist_ax.set(xlabel="predicted fraud score", ylabel="rows (log)", title="Score histogram")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(png_path, format="png")


def _pick(frame: pd.DataFrame, candidates: Sequence[str], what: str) -> str:
    for name in candidates:
        if name in frame.columns:
            return name
    raise DataValidationError(f"no {what} column in the predictions (looked for {list(candidates)}, "
                              f"found {list(frame.columns)})", fix=f"pass {what}_column= explicitly")


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _jsonable(value: Any) -> Any:
    """Paths to strings, numpy scalars to Python, NaN/inf to None — so the JSON is strict."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return _finite(value)
    return value
