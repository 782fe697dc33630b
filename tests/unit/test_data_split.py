"""Split into parties: stratified, seeded, byte-faithful, idempotent, into each party's own dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from fateops.data import schema
from fateops.data.errors import DataFileError
from fateops.data.load import load_creditcard
from fateops.data.split import split_by_parties
from fateops.data.synthetic import is_synthetic, write_synthetic_creditcard
from fateops.exceptions import ConfigError

GUEST, HOST = 9999, 10000


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = write_synthetic_creditcard(tmp_path_factory.mktemp("src") / "creditcard.csv", rows=20_001,
                                      fraud_ratio=0.005, seed=11)
    return made.path


def test_each_party_gets_its_stratified_slice_in_its_own_dir(source: Path, tmp_path: Path) -> None:
    slices = split_by_parties(source, [GUEST, HOST], tmp_path, seed=1)
    assert set(slices) == {GUEST, HOST}
    for pid, part in slices.items():
        assert part.path == tmp_path / str(pid) / "raw" / "creditcard.csv"
        assert part.synthetic and is_synthetic(part.path)
    total = load_creditcard(source)
    assert sum(s.rows for s in slices.values()) == len(total)
    assert sum(s.frauds for s in slices.values()) == total[schema.LABEL].sum() == 100
    assert abs(slices[GUEST].rows - slices[HOST].rows) <= 1
    assert abs(slices[GUEST].frauds - slices[HOST].frauds) <= 1  # stratified: frauds split evenly


def test_slices_are_the_source_lines_byte_for_byte(source: Path, tmp_path: Path) -> None:
    slices = split_by_parties(source, [GUEST, HOST], tmp_path, seed=1)
    header, *rows = source.read_text().splitlines()
    pieces = [s.path.read_text().splitlines() for s in slices.values()]
    assert all(piece[0] == header for piece in pieces)  # Kaggle quoting preserved
    assert sorted(pieces[0][1:] + pieces[1][1:]) == sorted(rows)
    for piece in pieces:  # the source's time order is kept within each slice
        times = [int(line.split(",")[0]) for line in piece[1:]]
        assert times == sorted(times)


def test_deterministic_and_idempotent(source: Path, tmp_path: Path) -> None:
    first = split_by_parties(source, [GUEST, HOST], tmp_path / "a", seed=5)
    again = split_by_parties(source, [GUEST, HOST], tmp_path / "a", seed=5)
    elsewhere = split_by_parties(source, [GUEST, HOST], tmp_path / "b", seed=5)
    reseeded = split_by_parties(source, [GUEST, HOST], tmp_path / "c", seed=6)
    assert all(s.written for s in first.values())
    assert not any(s.written for s in again.values())
    assert [s.sha256 for s in first.values()] == [s.sha256 for s in again.values()]
    assert [s.sha256 for s in first.values()] == [s.sha256 for s in elsewhere.values()]
    assert [s.sha256 for s in first.values()] != [s.sha256 for s in reseeded.values()]


def test_three_parties_with_fractions(source: Path, tmp_path: Path) -> None:
    slices = split_by_parties(source, [1, 2, 3], tmp_path, fractions=[0.5, 0.3, 0.2])
    rows = [slices[p].rows for p in (1, 2, 3)]
    frauds = [slices[p].frauds for p in (1, 2, 3)]
    assert rows == pytest.approx([10_000, 6_000, 4_000], abs=2)
    assert frauds == [50, 30, 20]


def test_a_real_file_never_keeps_a_stale_synthetic_marker(source: Path, tmp_path: Path) -> None:
    split_by_parties(source, [GUEST], tmp_path)
    real = tmp_path / "real.csv"
    real.write_bytes(source.read_bytes())  # same content, but no synthetic sidecar
    (only,) = split_by_parties(real, [GUEST], tmp_path).values()
    assert not only.synthetic and not is_synthetic(only.path)


def test_bad_source_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    bad = tmp_path / "creditcard.csv"
    bad.write_text(",".join(schema.RAW_COLUMNS) + "\n" + ",".join(["1"] * 30 + ["2"]) + "\n")
    with pytest.raises(DataFileError) as caught:
        split_by_parties(bad, [GUEST, HOST], tmp_path / "data")
    assert caught.value.line == 2 and caught.value.column == "Class"
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(("parties", "fractions"), [([], None), ([1, 1], None), ([1, 2], [0.7, 0.7]),
                                                    (["guest", 2], None)])
def test_bad_parties_or_fractions(source: Path, tmp_path: Path, parties: list, fractions: list | None) -> None:
    with pytest.raises(ConfigError):
        split_by_parties(source, parties, tmp_path, fractions=fractions)
