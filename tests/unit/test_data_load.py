"""The strict loader: Kaggle's quoting accepted, every kind of bad file refused with line + column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fateops.data import schema
from fateops.data.errors import DataFileError
from fateops.data.load import load_creditcard
from fateops.exceptions import DataValidationError

HEADER = ",".join(f'"{name}"' for name in schema.RAW_COLUMNS)
# The first transaction of Kaggle's creditcard.csv, as that file writes it (quoted Class).
KAGGLE_ROW = ("0,-1.3598071336738,-0.0727811733098497,2.53634673796914,1.37815522427443,-0.338320769942518,"
              "0.462387777762292,0.239598554061257,0.0986979012610507,0.363786969611213,0.0907941719789316,"
              "-0.551599533260813,-0.617800855762348,-0.991389847235408,-0.311169353699879,1.46817697209427,"
              "-0.470400525259478,0.207971241929242,0.0257905801985591,0.403992960255733,0.251412098239705,"
              "-0.018306777944153,0.277837575558899,-0.110473910188767,0.0669280749146731,0.128539358273528,"
              "-0.189114843888824,0.133558376740387,-0.0210530534538215,149.62,\"0\"")


def _row(time: object = 1, amount: object = "2.5", label: object = '"1"', v: object = "0.5") -> str:
    return ",".join([str(time), *[str(v)] * 28, str(amount), str(label)])


def _write(tmp_path: Path, *lines: str, name: str = "creditcard.csv") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _refusal(path: Path) -> DataFileError:
    with pytest.raises(DataFileError) as caught:
        load_creditcard(path)
    assert isinstance(caught.value, DataValidationError)
    assert "fix:" in str(caught.value)
    return caught.value


def test_kaggle_quoting_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, KAGGLE_ROW, _row(label='"1"'), _row(time=2, label="0"))
    frame = load_creditcard(path)
    assert tuple(frame.columns) == schema.RAW_COLUMNS
    assert frame[schema.LABEL].tolist() == [0, 1, 0]
    assert frame[schema.LABEL].dtype == np.int64
    assert frame[schema.AMOUNT].iloc[0] == pytest.approx(149.62)
    assert frame["V1"].iloc[0] == pytest.approx(-1.3598071336738)
    assert all(frame[c].dtype == np.float64 for c in schema.RAW_COLUMNS[:-1])


def test_unquoted_bom_crlf_and_reordered_columns_are_accepted(tmp_path: Path) -> None:
    names = [schema.LABEL, *schema.RAW_COLUMNS[:-1]]
    path = tmp_path / "creditcard.csv"
    row = ",".join(["1", "7", *["0.25"] * 28, "3"])
    path.write_bytes(("\ufeff" + ",".join(names) + "\r\n" + row + "\r\n").encode())
    frame = load_creditcard(path)
    assert tuple(frame.columns) == schema.RAW_COLUMNS
    assert frame[schema.TIME].iloc[0] == 7 and frame[schema.AMOUNT].iloc[0] == 3
    assert frame[schema.LABEL].iloc[0] == 1


def test_spaces_around_header_names_are_ignored(tmp_path: Path) -> None:
    header = ", ".join(f'"{name}"' for name in schema.RAW_COLUMNS)
    frame = load_creditcard(_write(tmp_path, header, KAGGLE_ROW))
    assert tuple(frame.columns) == schema.RAW_COLUMNS and frame["V28"].iloc[0] == pytest.approx(-0.0210530534538215)
    error = _refusal(_write(tmp_path, header, KAGGLE_ROW, _row(amount="x1"), name="bad.csv"))
    assert (error.line, error.column, error.value) == (3, "Amount", "x1")


def test_trailing_blank_lines_are_ignored(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, KAGGLE_ROW, "", "")
    assert len(load_creditcard(path)) == 1


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "creditcard.csv"
    path.write_bytes(b"")
    error = _refusal(path)
    assert error.line == 1 and "empty" in str(error)


def test_header_without_rows(tmp_path: Path) -> None:
    error = _refusal(_write(tmp_path, HEADER))
    assert error.line == 2 and "no data rows" in str(error)


def test_missing_column_is_named(tmp_path: Path) -> None:
    header = HEADER.replace('"Amount",', '"Amnt",')
    error = _refusal(_write(tmp_path, header, KAGGLE_ROW))
    assert error.line == 1 and error.column == "Amount"
    assert "missing column" in str(error) and "'Amnt'" in str(error)  # the hint names the near miss


def test_extra_column_is_named(tmp_path: Path) -> None:
    error = _refusal(_write(tmp_path, HEADER + ',"Merchant"', KAGGLE_ROW + ",x"))
    assert error.line == 1 and error.column == "Merchant" and "unexpected column" in str(error)


def test_duplicated_column(tmp_path: Path) -> None:
    error = _refusal(_write(tmp_path, HEADER + ',"V3"', KAGGLE_ROW + ",1"))
    assert "more than once" in str(error) and error.line == 1


def test_non_numeric_amount_names_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, KAGGLE_ROW, _row(), _row(amount="abc"), _row(amount="12x"))
    error = _refusal(path)
    assert (error.line, error.column, error.value) == (4, "Amount", "abc")
    assert error.count == 2
    assert "line 4" in str(error) and "'Amount'" in str(error) and "'abc'" in str(error)


@pytest.mark.parametrize("empty", ["", "NA", "null"])
def test_null_value_names_line_and_column(tmp_path: Path, empty: str) -> None:
    row = KAGGLE_ROW.split(",")
    row[5] = empty  # V5
    error = _refusal(_write(tmp_path, HEADER, _row(), ",".join(row)))
    assert (error.line, error.column) == (3, "V5") and "null" in str(error)


def test_blank_line_inside_the_data_is_a_null_row(tmp_path: Path) -> None:
    error = _refusal(_write(tmp_path, HEADER, _row(), "", _row()))
    assert error.line == 3


@pytest.mark.parametrize("label", ['"2"', "2", "-1", "0.5"])
def test_class_outside_zero_one(tmp_path: Path, label: str) -> None:
    error = _refusal(_write(tmp_path, HEADER, _row(), _row(), _row(label=label)))
    assert (error.line, error.column) == (4, "Class") and "0 (genuine) or 1 (fraud)" in str(error)


def test_negative_amount_and_infinite_value(tmp_path: Path) -> None:
    assert _refusal(_write(tmp_path, HEADER, _row(amount="-3"))).column == "Amount"
    error = _refusal(_write(tmp_path, HEADER, _row(), _row(v="inf"), name="inf.csv"))
    assert (error.line, error.column) == (3, "V1") and "not finite" in str(error)


def test_row_with_too_many_fields(tmp_path: Path) -> None:
    error = _refusal(_write(tmp_path, HEADER, _row(), _row() + ",9"))
    assert error.line == 3 and "expected 31 fields, found 32" in str(error)


def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in str(_refusal(tmp_path / "nope.csv"))
