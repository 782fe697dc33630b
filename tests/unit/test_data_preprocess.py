"""Per-party preparation as the seed does it, and the proof that party B never reads party A's data."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import RobustScaler

from fateops.data import schema
from fateops.data.errors import DataFileError
from fateops.data.layout import PartyDataDir
from fateops.data.load import load_creditcard
from fateops.data.preprocess import load_prepared, prepare_party, prepare_rows
from fateops.data.split import split_by_parties
from fateops.data.synthetic import write_synthetic_creditcard

GUEST, HOST = 9999, 10000

# -- file-access audit: every path opened/listed while a recorder is active --------------------
_recorders: list[list[str]] = []


def _audit(event: str, args: tuple) -> None:
    if _recorders and event in {"open", "os.listdir", "os.scandir", "os.chdir", "shutil.copyfile"}:
        target = args[0] if args else None
        if isinstance(target, str | bytes | Path):
            _recorders[-1].append(str(Path(target.decode() if isinstance(target, bytes) else target).resolve()))


sys.addaudithook(_audit)


class _Opened:
    def __enter__(self) -> list[str]:
        self.paths: list[str] = []
        _recorders.append(self.paths)
        return self.paths

    def __exit__(self, *exc: object) -> None:
        _recorders.pop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    made = write_synthetic_creditcard(tmp_path / "creditcard.csv", rows=12_000, fraud_ratio=0.01, seed=4)
    split_by_parties(made.path, [GUEST, HOST], tmp_path / "data", seed=4)
    yield tmp_path / "data"


def test_prepared_files_follow_the_seed(data_dir: Path) -> None:
    party = PartyDataDir.for_party(data_dir, HOST)
    prepared = prepare_party(party, test_fraction=0.25, seed=1)
    train, test = load_prepared(prepared.train_csv), load_prepared(prepared.test_csv)
    raw = load_creditcard(party.raw_csv)
    for frame in (train, test):
        assert tuple(frame.columns) == schema.PREPARED_COLUMNS  # id, Scaled_Amount, Scaled_Time, V1..V28, Class
        assert frame[schema.ID].is_monotonic_increasing
    ids = np.concatenate([train[schema.ID], test[schema.ID]])
    assert sorted(ids) == list(range(1, len(raw) + 1))  # unique within the party, 1..n
    assert len(test) == pytest.approx(0.25 * len(raw), abs=1)
    assert test[schema.LABEL].mean() == pytest.approx(raw[schema.LABEL].mean(), abs=0.002)  # stratified
    # id k is the k-th raw transaction: V columns and the label come from that row
    row = raw.iloc[test[schema.ID].iloc[3] - 1]
    assert test["V7"].iloc[3] == pytest.approx(row["V7"]) and test[schema.LABEL].iloc[3] == row[schema.LABEL]
    # the scaler is a RobustScaler fitted on this party's train rows only
    train_rows = raw.iloc[train[schema.ID].to_numpy() - 1]
    expected = RobustScaler().fit(train_rows[[schema.AMOUNT, schema.TIME]]).transform(
        raw.iloc[test[schema.ID].to_numpy() - 1][[schema.AMOUNT, schema.TIME]])
    np.testing.assert_allclose(test[[schema.SCALED_AMOUNT, schema.SCALED_TIME]].to_numpy(), expected, atol=1e-8)
    summary = json.loads(prepared.summary_json.read_text())
    assert summary["counts"]["test_rows"] == len(test) and summary["synthetic"] is True
    assert summary["scaler"]["Amount"]["center"] == pytest.approx(train_rows[schema.AMOUNT].median())
    assert summary["columns"] == list(schema.PREPARED_COLUMNS)


def test_new_rows_are_prepared_with_the_partys_fitted_scaler_exactly_as_its_held_out_rows(data_dir: Path) -> None:
    """bench/parity.py scores an extra evaluation set this way: nothing is refitted on the new rows."""
    party = PartyDataDir.for_party(data_dir, GUEST)
    prepared = prepare_party(party)
    test = load_prepared(prepared.test_csv)
    raw = load_creditcard(party.raw_csv).iloc[test[schema.ID].to_numpy() - 1]
    again = prepare_rows(raw, prepared.scaler)
    columns = [c for c in schema.PREPARED_COLUMNS if c != schema.ID]
    pd.testing.assert_frame_equal(again[columns], test[columns])  # the same numbers as the written file


def test_rerun_is_idempotent(data_dir: Path) -> None:
    party = PartyDataDir.for_party(data_dir, GUEST)
    first = prepare_party(party)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (first.train_csv, first.test_csv)}
    second = prepare_party(party)
    assert first.written and not second.written
    assert before == {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (second.train_csv, second.test_csv)}


def test_party_b_never_reads_party_a(data_dir: Path, tmp_path: Path) -> None:
    """Proof of "data stays home": audit every file party B's preparation opens or lists."""
    guest_root = PartyDataDir.for_party(data_dir, GUEST).root
    host = PartyDataDir.for_party(data_dir, HOST)
    with _Opened() as opened:
        prepared = prepare_party(host)
    assert str(host.raw_csv) in opened  # positive control: the audit does see party B's own reads
    assert not [p for p in opened if p.startswith(str(guest_root))], "party B touched party A's files"
    assert any(p.startswith(str(host.prepared_dir)) for p in opened)  # its outputs were written too

    # and the result does not depend on party A's data existing at all
    reference = (prepared.train_csv.read_bytes(), prepared.test_csv.read_bytes())
    shutil.rmtree(guest_root)
    shutil.rmtree(host.prepared_dir)
    again = prepare_party(host)
    assert (again.train_csv.read_bytes(), again.test_csv.read_bytes()) == reference


def test_party_handle_only_names_its_own_directory(tmp_path: Path) -> None:
    party = PartyDataDir.for_party(tmp_path, "10000")
    for path in (party.raw_csv, party.train_csv, party.test_csv, party.prepare_summary):
        assert path.is_relative_to(tmp_path / "10000")
    with pytest.raises(Exception, match="positive integer"):
        PartyDataDir.for_party(tmp_path, "../9999")


def test_too_few_frauds_for_a_stratified_holdout(tmp_path: Path) -> None:
    party = PartyDataDir.for_party(tmp_path, 1)
    party.raw_dir.mkdir(parents=True)
    frame = pd.DataFrame({name: [0.5] * 50 for name in schema.RAW_COLUMNS})
    frame[schema.LABEL] = [1] + [0] * 49
    frame.to_csv(party.raw_csv, index=False)
    with pytest.raises(DataFileError, match="at least 2 of each"):
        prepare_party(party)
