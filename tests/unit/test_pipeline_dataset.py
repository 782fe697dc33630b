"""The source dataset step and the per-party gate (both files checked, artifacts kept, nothing uploaded)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fateops.data import PartyDataDir, prepare_party, split_by_parties
from fateops.data.errors import DataFileError, ExpectationsFailed
from fateops.exceptions import DataValidationError
from fateops.pipeline.dataset import resolve_source, validate_party

SMALL = {"min_rows": 100}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FATEOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FATEOPS_REPORTS_DIR", str(tmp_path / "reports"))
    return tmp_path


def test_no_path_means_synthetic_data_written_once_and_said_so(env: Path, capsys: pytest.CaptureFixture) -> None:
    first = resolve_source("", rows=2000, fraud_ratio=0.02, seed=3)
    assert first.synthetic and first.rows == 2000 and first.frauds == 40
    assert Path(first.path).parent == env / "data" / "source"
    assert "SYNTHETIC" in capsys.readouterr().out
    mtime = Path(first.path).stat().st_mtime_ns
    assert resolve_source(None, rows=2000, fraud_ratio=0.02, seed=3) == first
    assert Path(first.path).stat().st_mtime_ns == mtime


def test_a_user_file_is_taken_as_is(env: Path) -> None:
    user = env / "mine.csv"
    user.write_text('"Time","V1"\n')  # checked strictly by the split, not here
    source = resolve_source(f"  {user}  ")
    assert (source.path, source.synthetic, source.rows) == (str(user), False, None)
    with pytest.raises(DataFileError, match="no such file") as err:
        resolve_source(str(env / "missing.csv"))
    assert "Kaggle-format" in err.value.fix


@pytest.fixture
def party(env: Path) -> PartyDataDir:
    source = resolve_source("", rows=3000, fraud_ratio=0.02, seed=5)
    split_by_parties(source.path, [9999], env / "data")
    prepared = PartyDataDir.for_party(env / "data", 9999)
    prepare_party(prepared)
    return prepared


def test_a_good_party_passes_with_both_artifacts_kept(party: PartyDataDir, env: Path) -> None:
    checked = validate_party(party, "manual__run1", SMALL)
    assert checked["train"]["rows"] == 2400 and checked["test"]["rows"] == 600
    for split in ("train", "test"):
        artifact = Path(checked[split]["artifact"])
        assert artifact == env / "reports" / "manual__run1" / "validation" / f"9999_{split}.json"
        assert json.loads(artifact.read_text())["success"] is True


def test_duplicate_ids_are_refused_naming_the_expectation(party: PartyDataDir, env: Path) -> None:
    train = pd.read_csv(party.train_csv)
    train.loc[5, "id"] = train.loc[4, "id"]
    train.to_csv(party.train_csv, index=False)
    with pytest.raises(ExpectationsFailed, match="expect_column_values_to_be_unique on 'id'") as err:
        validate_party(party, "run2", SMALL)
    assert "nothing was uploaded" in str(err.value)
    assert json.loads((env / "reports" / "run2" / "validation" / "9999_train.json").read_text())["success"] is False
    assert json.loads((env / "reports" / "run2" / "validation" / "9999_test.json").read_text())["success"] is True


def test_both_tables_failing_are_reported_together(party: PartyDataDir) -> None:
    with pytest.raises(DataValidationError, match="both prepared tables failed") as err:
        validate_party(party, "run3", {"min_rows": 10_000})
    assert str(err.value).count("expect_table_row_count_to_be_between") == 2
