"""The inputs people have: .csv.gz and Kaggle's .zip accepted; binary and non-UTF-8 files refused with the offset."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

from fateops.data import schema
from fateops.data.errors import DataFileError
from fateops.data.load import load_creditcard
from fateops.data.source import read_source
from fateops.data.split import split_by_parties
from fateops.exceptions import DataValidationError

HEADER = ",".join(f'"{name}"' for name in schema.RAW_COLUMNS)


def _row(time: int, label: int, v: str = "0.5") -> str:
    return ",".join([str(time), *[v] * 28, "2.5", f'"{label}"'])


TEXT = "".join(line + "\n" for line in (HEADER, *(_row(t, t % 2) for t in range(12)))).encode()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _refused(path: Path) -> DataFileError:
    with pytest.raises(DataFileError) as caught:
        load_creditcard(path)
    assert isinstance(caught.value, DataValidationError)  # the pipeline's retry policy fails these at once
    assert "fix:" in str(caught.value)
    return caught.value


def test_gzip_and_kaggle_zip_read_as_the_plain_csv(tmp_path: Path) -> None:
    plain = tmp_path / "creditcard.csv"
    plain.write_bytes(TEXT)
    gz = tmp_path / "creditcard.csv.gz"
    gz.write_bytes(gzip.compress(TEXT))
    kaggle = _zip(tmp_path / "creditcardfraud.zip", {"creditcard.csv": TEXT, "__MACOSX/._creditcard.csv": b"\x00\x05"})
    renamed = tmp_path / "download"  # recognised by content, not by name
    renamed.write_bytes(gzip.compress(TEXT))
    expected = load_creditcard(plain)
    for path in (gz, kaggle, renamed):
        assert read_source(path) == TEXT
        assert load_creditcard(path).equals(expected), path.name


def test_a_zipped_source_is_split_into_plain_csv_slices(tmp_path: Path) -> None:
    source = _zip(tmp_path / "creditcard.zip", {"data/creditcard.csv": TEXT})
    slices = split_by_parties(source, [9999, 10000], tmp_path / "data", seed=3)
    lines = [s.path.read_bytes().splitlines(keepends=True) for s in slices.values()]
    assert all(piece[0] == TEXT.splitlines(keepends=True)[0] for piece in lines)
    assert sorted(lines[0][1:] + lines[1][1:]) == sorted(TEXT.splitlines(keepends=True)[1:])


def test_a_bom_is_dropped_inside_an_archive_too(tmp_path: Path) -> None:
    path = tmp_path / "creditcard.csv.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + TEXT))
    assert tuple(load_creditcard(path).columns) == schema.RAW_COLUMNS


def test_latin1_export_is_refused_with_the_byte_offset_and_line(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    text = TEXT.decode().replace(_row(5, 1), _row(5, 1, v="0.5") + ",café")  # a stray Latin-1 note on line 7
    data = text.encode("latin-1")
    path.write_bytes(data)
    error = _refused(path)
    offset = data.index(b"\xe9")
    assert f"byte offset {offset}" in str(error) and "0xe9" in str(error)
    assert error.line == 7
    assert "UTF-8" in error.fix and "iconv" in error.fix


def test_latin1_inside_a_gzip_names_the_offset_in_the_csv(tmp_path: Path) -> None:
    path = tmp_path / "export.csv.gz"
    data = TEXT.replace(b"Amount", b"Amount\xb5")
    path.write_bytes(gzip.compress(data))
    error = _refused(path)
    offset = data.index(b"\xb5")
    assert f"byte offset {offset} (inside the gzip)" in str(error) and error.line == 1


@pytest.mark.parametrize("payload", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"SQLite format 3\x00\x10\x00"])
def test_a_binary_file_is_refused_as_not_text(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "creditcard.csv"
    path.write_bytes(payload)
    error = _refused(path)
    assert "not a text file" in str(error) and f"byte offset {payload.index(0)}" in str(error)


def test_a_spreadsheet_zip_names_its_members(tmp_path: Path) -> None:
    path = _zip(tmp_path / "creditcard.xlsx", {"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>"})
    error = _refused(path)
    assert "no .csv file" in str(error) and "xl/workbook.xml" in str(error)


def test_a_zip_with_two_csvs_is_ambiguous(tmp_path: Path) -> None:
    path = _zip(tmp_path / "both.zip", {"a.csv": TEXT, "b.csv": TEXT})
    assert "2 .csv files" in str(_refused(path))


@pytest.mark.parametrize(("name", "data"), [("cut.csv.gz", gzip.compress(TEXT)[:40]),
                                            ("cut.zip", b"PK\x03\x04" + b"\x00" * 30)])
def test_a_damaged_archive_is_refused(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert "damaged" in str(_refused(path))
