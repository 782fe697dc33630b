"""The Great Expectations gate: good tables pass, each kind of bad table is refused readably.

GX is imported once per session (it is slow to import); every case writes a real CSV to tmp_path.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pandas as pd
import pytest

from fateops.data import schema
from fateops.data.errors import DataFileError, ExpectationsFailed
from fateops.data.layout import PartyDataDir
from fateops.data.preprocess import load_prepared, prepare_party
from fateops.data.split import split_by_parties
from fateops.data.synthetic import write_synthetic_creditcard
from fateops.data.validate import DEFAULT_SUITE, load_suite, validate_prepared_csv
from fateops.exceptions import ConfigError

SMALL = {"min_rows": 100}


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("gate")
    made = write_synthetic_creditcard(root / "creditcard.csv", rows=6_000, fraud_ratio=0.01, seed=8)
    split_by_parties(made.path, [9999], root / "data")
    prepared = prepare_party(PartyDataDir.for_party(root / "data", 9999))
    return load_prepared(prepared.test_csv)


def _csv(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "test.csv"
    frame.to_csv(path, index=False)
    return path


def _refused(path: Path, tmp_path: Path, **parameters: object) -> tuple[ExpectationsFailed, dict]:
    artifact = tmp_path / "reports" / "validation.json"
    with pytest.raises(ExpectationsFailed) as caught:
        validate_prepared_csv(path, artifact=artifact, parameters={**SMALL, **parameters})
    result = json.loads(artifact.read_text())  # written even on failure, strict JSON
    assert result["success"] is False and caught.value.artifact == artifact
    assert "nothing was uploaded" in str(caught.value)
    return caught.value, result


def _failed(error: ExpectationsFailed) -> set[tuple[str, str | None]]:
    return {(f["expectation"], f["column"]) for f in error.failures}


def test_good_table_passes_and_keeps_the_result(good: pd.DataFrame, tmp_path: Path) -> None:
    artifact = tmp_path / "reports" / "ok.json"
    outcome = validate_prepared_csv(_csv(tmp_path, good), artifact=artifact, parameters=SMALL)
    assert outcome.success and outcome.rows == len(good) and outcome.failed == 0
    assert outcome.evaluated == len(load_suite().expectations) > 90
    result = json.loads(artifact.read_text())
    assert result["success"] is True and result["meta"]["fateops"]["parameters"]["min_rows"] == 100


def test_duplicate_ids(good: pd.DataFrame, tmp_path: Path) -> None:
    frame = good.copy()
    frame.loc[5, schema.ID] = frame.loc[4, schema.ID]
    error, _ = _refused(_csv(tmp_path, frame), tmp_path)
    assert _failed(error) == {("expect_column_values_to_be_unique", "id")}
    (failure,) = error.failures
    assert failure["unexpected_count"] == 2
    assert f"id {frame.loc[4, schema.ID]}" in str(error)


def test_class_two(good: pd.DataFrame, tmp_path: Path) -> None:
    frame = good.copy()
    frame.loc[7, schema.LABEL] = 2
    error, _ = _refused(_csv(tmp_path, frame), tmp_path)
    assert ("expect_column_values_to_be_in_set", "Class") in _failed(error)
    assert f"id {frame.loc[7, schema.ID]}: 2" in str(error)


def test_nulls(good: pd.DataFrame, tmp_path: Path) -> None:
    frame = good.copy()
    frame.loc[[3, 9], "V4"] = None
    error, _ = _refused(_csv(tmp_path, frame), tmp_path)
    assert ("expect_column_values_to_not_be_null", "V4") in _failed(error)
    assert "2 of" in str(error) and f"id {frame.loc[3, schema.ID]}" in str(error)


def test_missing_and_extra_columns(good: pd.DataFrame, tmp_path: Path) -> None:
    error, _ = _refused(_csv(tmp_path, good.drop(columns=["V9"])), tmp_path)
    assert ("expect_table_columns_to_match_ordered_list", None) in _failed(error)
    assert "V9" in str(error)
    error, _ = _refused(_csv(tmp_path, good.assign(Merchant=1.0)), tmp_path)
    assert _failed(error) == {("expect_table_columns_to_match_ordered_list", None)}
    assert "Merchant" in str(error)


def test_wrong_column_order(good: pd.DataFrame, tmp_path: Path) -> None:
    columns = list(schema.PREPARED_COLUMNS)
    columns[1], columns[2] = columns[2], columns[1]
    error, _ = _refused(_csv(tmp_path, good[columns]), tmp_path)
    assert _failed(error) == {("expect_table_columns_to_match_ordered_list", None)}


def test_non_numeric_value(good: pd.DataFrame, tmp_path: Path) -> None:
    frame = good.astype({schema.SCALED_AMOUNT: "object"})
    frame.loc[2, schema.SCALED_AMOUNT] = "abc"
    error, _ = _refused(_csv(tmp_path, frame), tmp_path)
    assert ("expect_column_values_to_be_of_type", "Scaled_Amount") in _failed(error)


def test_infinite_scaled_value(good: pd.DataFrame, tmp_path: Path) -> None:
    frame = good.copy()
    frame.loc[1, schema.SCALED_TIME] = float("inf")
    error, result = _refused(_csv(tmp_path, frame), tmp_path)
    assert ("expect_column_values_to_be_between", "Scaled_Time") in _failed(error)
    assert "inf" in str(error) and "Infinity" not in json.dumps(result)


def test_row_count_and_fraud_ratio_bounds(good: pd.DataFrame, tmp_path: Path) -> None:
    error, _ = _refused(_csv(tmp_path, good), tmp_path, min_rows=len(good) + 1)
    assert _failed(error) == {("expect_table_row_count_to_be_between", None)}
    assert f"observed {len(good)}" in str(error)
    error, _ = _refused(_csv(tmp_path, good), tmp_path, fraud_ratio_max=0.001)
    assert _failed(error) == {("expect_column_mean_to_be_between", "Class")}


def test_empty_file_is_refused_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "test.csv"
    path.write_bytes(b"")
    artifact = tmp_path / "empty.json"
    with pytest.raises(DataFileError, match="empty"):
        validate_prepared_csv(path, artifact=artifact)
    assert json.loads(artifact.read_text())["success"] is False


def test_unknown_parameter_is_a_config_error(good: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="min_rowz"):
        validate_prepared_csv(_csv(tmp_path, good), artifact=tmp_path / "x.json", parameters={"min_rowz": 1})


def test_no_network_is_touched(good: pd.DataFrame, tmp_path: Path) -> None:
    attempts: list[tuple] = []

    def hook(event: str, args: tuple) -> None:
        if event in {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname"} and recording:
            attempts.append((event, args))

    recording = False
    sys.addaudithook(hook)
    recording = True
    try:
        validate_prepared_csv(_csv(tmp_path, good), artifact=tmp_path / "net.json", parameters=SMALL)
    finally:
        recording = False
    assert attempts == []
    assert socket.getdefaulttimeout() is None  # untouched


def test_suite_file_matches_the_schema() -> None:
    raw = json.loads(DEFAULT_SUITE.read_text())
    groups = raw["meta"]["column_groups"]
    assert groups["all"] == list(schema.PREPARED_COLUMNS)
    assert groups["features"] == list(schema.FEATURE_COLUMNS)
    ordered = next(e for e in raw["expectations"] if e["type"] == "expect_table_columns_to_match_ordered_list")
    assert ordered["kwargs"]["column_list"] == list(schema.PREPARED_COLUMNS)
    assert all(e.get("meta", {}).get("notes") for e in raw["expectations"])  # every check says why
    assert set(raw["meta"]["parameters"]) == set(raw["meta"]["parameter_notes"])
