"""Run reports and prediction summaries: real files, real PNGs, the right numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from fateops.exceptions import DataValidationError
from fateops.report import binary_scores, safe_name, write_predictions, write_run_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _scores(n: int = 2_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.05).astype(int)
    scores = np.clip(rng.normal(0.2 + 0.5 * labels, 0.15), 0, 1)
    return labels, scores


def test_binary_scores() -> None:
    labels, scores = _scores()
    metrics = binary_scores(labels, scores)
    assert metrics["auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert 0 < metrics["ks"] <= 1
    assert np.isnan(binary_scores([0, 0], [0.1, 0.2])["auc"])
    assert binary_scores([0, 1], [0.1, 0.9]) == {"auc": 1.0, "ks": 1.0, "average_precision": 1.0}


def test_run_report_json_and_png(tmp_path: Path) -> None:
    labels, scores = _scores()
    report = write_run_report(tmp_path, "manual__2026-01-01T00:00:00+00:00", y_true=labels, y_score=scores,
                              metrics={"federated_auc": np.float64(0.93), "ks": 0.7},
                              job_ids={"train": "202601010000000001", "predict": "202601010000000002"},
                              counts={"guest_rows": np.int64(1000)}, paths={"predictions": tmp_path / "p.csv"})
    assert report.json_path.parent == tmp_path / "manual__2026-01-01T00_00_00_00_00"
    assert report.png_path.read_bytes()[:8] == PNG_MAGIC and report.png_path.stat().st_size > 10_000
    data = json.loads(report.json_path.read_text())
    assert data["computed"]["auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert data["computed"]["positives"] == int(labels.sum())
    assert data["metrics"] == {"federated_auc": 0.93, "ks": 0.7}
    assert data["job_ids"]["train"] == "202601010000000001" and data["counts"]["guest_rows"] == 1000
    assert data["paths"]["report_png"] == str(report.png_path) and data["paths"]["predictions"].endswith("p.csv")
    assert report.auc == data["computed"]["auc"]


def test_run_report_without_labels(tmp_path: Path) -> None:
    report = write_run_report(tmp_path, "r1", y_score=np.linspace(0, 1, 50))
    assert report.auc is None and report.png_path.read_bytes()[:8] == PNG_MAGIC
    assert json.loads(report.json_path.read_text())["computed"]["auc"] is None
    with pytest.raises(DataValidationError, match="3 labels for 50 scores"):
        write_run_report(tmp_path, "r2", y_score=np.linspace(0, 1, 50), y_true=[0, 1, 0])


def test_predictions_csv_and_summary(tmp_path: Path) -> None:
    labels, scores = _scores(500)
    frame = pd.DataFrame({"id": np.arange(1, 501), "label": labels, "predict_score": scores})
    summary = write_predictions(frame, tmp_path / "out" / "predictions.csv", threshold=0.45)
    written = pd.read_csv(summary.csv_path)
    assert len(written) == summary.rows == 500
    assert written["predicted_fraud"].sum() == summary.predicted_frauds == int((scores >= 0.45).sum())
    assert summary.auc == pytest.approx(roc_auc_score(labels, scores))
    assert summary.actual_frauds == labels.sum()
    data = json.loads(summary.summary_path.read_text())
    assert data["label_column"] == "label" and data["predicted_frauds"] == summary.predicted_frauds
    assert summary.summary_path.name == "predictions.summary.json"


def test_predictions_without_labels_and_bad_scores(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "predict_score": [0.1, 0.7, 0.9]})
    summary = write_predictions(frame, tmp_path / "p.csv")
    assert summary.auc is None and summary.predicted_frauds == 2 and summary.actual_frauds is None
    with pytest.raises(DataValidationError, match="row 2"):
        write_predictions(frame.assign(predict_score=["0.1", "x", "0.2"]), tmp_path / "q.csv")
    with pytest.raises(DataValidationError, match="no score column"):
        write_predictions(frame.drop(columns=["predict_score"]), tmp_path / "r.csv")


def test_safe_name() -> None:
    assert safe_name("scheduled__2026-01-01T00:00:00+00:00") == "scheduled__2026-01-01T00_00_00_00_00"
    assert safe_name("../..") == "run"
