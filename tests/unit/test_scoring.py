"""Fraud metrics: AUPRC as scikit-learn computes it, the threshold chosen on training rows, its confusion counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

from fateops.exceptions import DataValidationError
from fateops.pipeline.predicting import ChosenModel, applied_threshold, write_party_predictions
from fateops.pipeline.training import fraud_metrics
from fateops.report import write_run_report
from fateops.scoring import at_threshold, binary_scores, choose_threshold

# Ten planted rows, scores descending: frauds at 0.95, 0.90, 0.60 and 0.20.
LABELS = np.array([1, 1, 0, 0, 1, 0, 0, 0, 1, 0])
SCORES = np.array([0.95, 0.90, 0.80, 0.70, 0.60, 0.50, 0.40, 0.30, 0.20, 0.10])


def _skewed(n: int = 3_000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.01).astype(int)
    return labels, np.clip(rng.normal(0.2 + 0.35 * labels, 0.12), 0, 1)


def test_confusion_counts_at_a_threshold() -> None:
    outcome = at_threshold(LABELS, SCORES, 0.6)
    assert (outcome.true_positives, outcome.false_positives, outcome.false_negatives, outcome.true_negatives) == \
        (3, 2, 1, 4)
    assert outcome.precision == pytest.approx(0.6) and outcome.recall == pytest.approx(0.75)
    assert outcome.as_dict()["f1"] == pytest.approx(f1_score(LABELS, SCORES >= 0.6))


def test_best_f1_threshold_is_chosen_exactly() -> None:
    chosen = choose_threshold(LABELS, SCORES)
    best = max(np.unique(SCORES), key=lambda t: (f1_score(LABELS, np.greater_equal(SCORES, t)), t))
    # F1 2/3 at 0.90 (2 of 4 frauds, no false alarm) ties with 0.60 (3 of 4, 2 false alarms): fewer alarms win
    assert chosen.threshold == best == 0.9
    labels, scores = _skewed()
    chosen = choose_threshold(labels, scores)
    flagged = scores[None, :] >= np.unique(scores)[:, None]  # every candidate threshold at once
    tp = (flagged & (labels == 1)).sum(axis=1)
    brute = (2 * tp / (flagged.sum(axis=1) + labels.sum())).max()
    assert chosen.f1 == pytest.approx(brute)


def test_target_recall_takes_the_highest_threshold_reaching_it() -> None:
    chosen = choose_threshold(LABELS, SCORES, target_recall=0.75)
    assert chosen.threshold == 0.6 and chosen.recall == 0.75
    assert choose_threshold(LABELS, SCORES, target_recall=1.0).threshold == 0.2
    labels, scores = _skewed()
    chosen = choose_threshold(labels, scores, target_recall=0.8)
    assert recall_score(labels, scores >= chosen.threshold) >= 0.8
    above = scores[scores > chosen.threshold]
    assert not len(above) or recall_score(labels, scores >= above.min()) < 0.8


def test_threshold_needs_frauds_and_a_valid_recall() -> None:
    with pytest.raises(DataValidationError, match="no fraud"):
        choose_threshold([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(DataValidationError, match="target recall"):
        choose_threshold(LABELS, SCORES, target_recall=0)


def test_auprc_matches_scikit_learn_in_the_report(tmp_path: Path) -> None:
    labels, scores = _skewed()
    assert binary_scores(labels, scores)["average_precision"] == pytest.approx(average_precision_score(labels, scores))
    report = write_run_report(tmp_path, "r", y_true=labels, y_score=scores, threshold=0.4)
    computed = json.loads(report.json_path.read_text())["computed"]
    assert computed["average_precision"] == pytest.approx(average_precision_score(labels, scores), abs=1e-12)
    assert report.average_precision == computed["average_precision"]
    outcome = computed["at_threshold"]
    assert outcome["precision"] == pytest.approx(precision_score(labels, scores >= 0.4))
    assert outcome["recall"] == pytest.approx(recall_score(labels, scores >= 0.4))
    assert outcome["true_positives"] + outcome["false_negatives"] == labels.sum()


def test_fraud_metrics_choose_on_training_rows_and_judge_on_held_out_rows() -> None:
    train = pd.DataFrame({"Class": LABELS, "predict_score": SCORES})
    labels, scores = _skewed()
    test = pd.DataFrame({"Class": labels, "predict_score": scores})
    fraud = fraud_metrics(train, test)
    assert fraud["decision_threshold"] == 0.9 and "F1" in fraud["threshold_rule"]
    assert fraud["average_precision"] == pytest.approx(average_precision_score(labels, scores))
    assert fraud["held_out_at_threshold"]["true_positives"] == int(((scores >= 0.9) & (labels == 1)).sum())
    assert fraud_metrics(train, None, target_recall=1.0)["decision_threshold"] == 0.2


def test_predict_applies_the_models_recorded_threshold(tmp_path: Path) -> None:
    model = ChosenModel("m", "0", source="promoted", decision_threshold=0.6)
    threshold, source = applied_threshold(model, None)
    assert (threshold, source) == (0.6, "chosen on the model's training rows")
    assert applied_threshold(model, 0.3)[0] == 0.3
    assert applied_threshold(ChosenModel("m", "0", source="given (not in the registry)"), None)[0] == 0.5
    frame = pd.DataFrame({"id": np.arange(10), "Class": LABELS, "predict_score": SCORES})
    summary = write_party_predictions(frame, tmp_path / "predictions.csv", threshold=threshold)
    assert summary.predicted_frauds == 5 and summary.threshold == 0.6
    assert summary.at_threshold is not None
    assert {k: summary.at_threshold[k] for k in ("true_positives", "false_positives", "false_negatives",
                                                 "true_negatives")} == \
        {"true_positives": 3, "false_positives": 2, "false_negatives": 1, "true_negatives": 4}
    written = pd.read_csv(summary.csv_path)
    assert written["predicted_fraud"].tolist() == [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    assert json.loads(summary.summary_path.read_text())["at_threshold"]["recall"] == 0.75
