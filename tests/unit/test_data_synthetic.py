"""The synthetic creditcard data: Kaggle's schema and shape, seeded, and a realistic LR AUC."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import RobustScaler

from fateops.data import schema
from fateops.data.load import load_creditcard
from fateops.data.synthetic import generate_creditcard, is_synthetic, write_synthetic_creditcard
from fateops.exceptions import ConfigError


def test_schema_counts_and_ranges() -> None:
    frame = generate_creditcard(rows=50_000, fraud_ratio=0.00172, seed=1)
    assert tuple(frame.columns) == schema.RAW_COLUMNS
    assert len(frame) == 50_000 and frame[schema.LABEL].sum() == round(50_000 * 0.00172)
    assert frame[schema.TIME].between(0, 48 * 3600).all() and frame[schema.TIME].is_monotonic_increasing
    assert (frame[schema.AMOUNT] >= 0).all()
    assert frame[schema.AMOUNT].mean() > 2 * frame[schema.AMOUNT].median()  # heavy right tail
    means = frame[list(schema.PCA_COLUMNS)].mean()
    assert means.abs().max() < 1e-5  # PCA scores are centred
    stds = frame[list(schema.PCA_COLUMNS)].std()
    assert stds["V1"] > stds["V14"] > stds["V28"]  # PCA order: decreasing variance


def test_time_has_two_daily_cycles() -> None:
    frame = generate_creditcard(rows=100_000, seed=2)
    hour = (frame[schema.TIME] // 3600).astype(int)
    per_hour = hour.value_counts().sort_index()
    for day in (0, 24):  # night (3-5 am) is much quieter than the afternoon (14-17) on both days
        assert per_hour.loc[day + 3: day + 5].mean() < 0.4 * per_hour.loc[day + 14: day + 17].mean()


def test_seeded_output_is_byte_identical_and_marked_synthetic(tmp_path: Path) -> None:
    first = write_synthetic_creditcard(tmp_path / "a.csv", rows=3_000, seed=9)
    second = write_synthetic_creditcard(tmp_path / "b.csv", rows=3_000, seed=9)
    other = write_synthetic_creditcard(tmp_path / "c.csv", rows=3_000, seed=10)
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256 != other.sha256
    assert is_synthetic(first.path) and first.synthetic
    note = json.loads(first.sidecar.read_text())
    assert note["synthetic"] is True and note["seed"] == 9 and note["sha256"] == first.sha256
    again = write_synthetic_creditcard(tmp_path / "a.csv", rows=3_000, seed=9)
    assert again.written is False and again.sha256 == first.sha256


def test_written_in_kaggle_quoting_and_loads_back(tmp_path: Path) -> None:
    made = write_synthetic_creditcard(tmp_path / "creditcard.csv", rows=2_000, fraud_ratio=0.01, seed=3)
    lines = made.path.read_text().splitlines()
    assert lines[0] == ",".join(f'"{name}"' for name in schema.RAW_COLUMNS)
    assert lines[1].endswith(('"0"', '"1"'))
    loaded = load_creditcard(made.path)
    generated = generate_creditcard(rows=2_000, fraud_ratio=0.01, seed=3)
    pd.testing.assert_frame_equal(loaded, generated, check_exact=False, atol=1e-6)
    assert loaded[schema.LABEL].sum() == made.frauds == 20


def test_centralised_logistic_regression_auc_is_realistic() -> None:
    """A centralised LR must land in 0.90–0.99, like the real file (≈0.97).

    60k rows at a 1 % fraud ratio, not Kaggle's 0.172 %: AUC does not depend on the class prior
    (frauds and genuine rows come from the same distributions whatever the ratio), but its
    estimate does depend on the number of positives. At 0.172 % a 25 % test split of 60k rows holds
    ~26 frauds and the AUC estimate wobbles by ±0.02–0.03; at 1 % it holds 150 (±0.01).
    """
    frame = generate_creditcard(rows=60_000, fraud_ratio=0.01, seed=2024)
    scaled = RobustScaler().fit_transform(frame[[schema.AMOUNT, schema.TIME]])
    features = np.column_stack([scaled, frame[list(schema.PCA_COLUMNS)].to_numpy()])
    labels = frame[schema.LABEL].to_numpy()
    x_train, x_test, y_train, y_test = train_test_split(features, labels, test_size=0.25, stratify=labels,
                                                        random_state=0)
    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    auc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
    assert 0.90 <= auc <= 0.99, auc


@pytest.mark.parametrize(("rows", "ratio"), [(1, 0.1), (100, 0.0), (100, 1.0)])
def test_bad_parameters(rows: int, ratio: float) -> None:
    with pytest.raises(ConfigError):
        generate_creditcard(rows=rows, fraud_ratio=ratio)


def test_separation_scales_the_fraud_signal_and_defaults_to_the_usual_data() -> None:
    from fateops.data.synthetic import generate_creditcard

    usual = generate_creditcard(4000, 0.05, seed=5)
    assert usual.equals(generate_creditcard(4000, 0.05, seed=5, separation=1.0))
    gaps = []
    for separation in (0.5, 1.0, 2.0):
        frame = generate_creditcard(4000, 0.05, seed=5, separation=separation)
        fraud = frame["Class"] == 1
        gaps.append(frame.loc[~fraud, "V14"].mean() - frame.loc[fraud, "V14"].mean())
    assert 0 < gaps[0] < gaps[1] < gaps[2]
