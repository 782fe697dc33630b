"""Fraud-model scores from labels and predicted scores: AUC, KS, AUPRC and a decision threshold.

At 0.17 % frauds accuracy is meaningless and ROC-AUC flatters (a model can rank well overall and still
bury the frauds under thousands of false alarms); the dataset's authors recommend the area under the
precision-recall curve, reported here as scikit-learn's *average precision* (the step-wise area, no
interpolation). A score alone flags nothing: the model needs a decision threshold, and 0.5 — FATE's
default — flagged 6 of 49 frauds in the demo. :func:`choose_threshold` picks one on the *training*
rows (never the held-out rows it is then judged on): the one with the best F1 by default, or the
highest one that still reaches a target recall, and :func:`at_threshold` says what that threshold does
(precision, recall, the confusion counts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from fateops.exceptions import DataValidationError

Array = Sequence[float] | np.ndarray


def _arrays(y_true: Array, y_score: Array) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = np.asarray(y_true).astype("int64"), np.asarray(y_score, dtype="float64")
    if len(labels) != len(scores):
        raise DataValidationError(f"{len(labels)} labels for {len(scores)} scores",
                                  fix="pass the labels and scores of the same rows")
    return labels, scores


def binary_scores(y_true: Array, y_score: Array) -> dict[str, float]:
    """AUC, KS (max TPR − FPR) and average precision (AUPRC); NaN when only one class is present."""
    from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

    labels, scores = _arrays(y_true, y_score)
    if len(np.unique(labels)) < 2:
        return {"auc": math.nan, "ks": math.nan, "average_precision": math.nan}
    fpr, tpr, _ = roc_curve(labels, scores)
    return {"auc": float(roc_auc_score(labels, scores)), "ks": float(np.max(tpr - fpr)),
            "average_precision": float(average_precision_score(labels, scores))}


@dataclass(frozen=True)
class ThresholdOutcome:
    """What flagging ``score ≥ threshold`` does to labelled rows."""

    threshold: float
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int

    @property
    def precision(self) -> float | None:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        frauds = self.true_positives + self.false_negatives
        return self.true_positives / frauds if frauds else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p is not None and r is not None and p + r > 0 else None

    def as_dict(self) -> dict[str, float | int | None]:
        return {**asdict(self), "precision": self.precision, "recall": self.recall, "f1": self.f1}


def at_threshold(y_true: Array, y_score: Array, threshold: float) -> ThresholdOutcome:
    """Confusion counts, precision and recall when every row scoring ≥ ``threshold`` is flagged."""
    labels, scores = _arrays(y_true, y_score)
    flagged, fraud = scores >= threshold, labels == 1
    return ThresholdOutcome(threshold=float(threshold), true_positives=int((flagged & fraud).sum()),
                            false_positives=int((flagged & ~fraud).sum()),
                            false_negatives=int((~flagged & fraud).sum()),
                            true_negatives=int((~flagged & ~fraud).sum()))


def choose_threshold(y_true: Array, y_score: Array, *, target_recall: float | None = None) -> ThresholdOutcome:
    """The decision threshold for these (training) rows and what it does on them.

    ``target_recall`` None: the threshold of best F1 (ties: the higher threshold, fewer alarms). Else
    the highest threshold whose recall reaches ``target_recall`` (as few false alarms as that recall
    allows). Candidate thresholds are the observed scores, so the result is exact on these rows.
    """
    labels, scores = _arrays(y_true, y_score)
    positives = int((labels == 1).sum())
    if positives == 0:
        raise DataValidationError("no fraud among the rows the threshold is chosen on",
                                  fix="train on rows that contain frauds (check the fraud ratio and the split)")
    if target_recall is not None and not 0 < target_recall <= 1:
        raise DataValidationError(f"target recall must be within (0, 1] (got {target_recall})",
                                  fix="give a recall such as 0.8, or leave it empty to maximise F1")
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], (labels[order] == 1)
    last = np.r_[np.flatnonzero(np.diff(ranked) != 0), len(ranked) - 1]  # the last row of each distinct score
    tp = np.cumsum(hits)[last]
    flagged = last + 1
    recall = tp / positives
    if target_recall is None:
        f1 = 2 * tp / (flagged + positives)
        best = int(np.argmax(f1))  # descending thresholds: the first maximum is the highest threshold
    else:
        best = int(np.argmax(recall >= target_recall - 1e-12))
    return at_threshold(labels, scores, float(ranked[last[best]]))
