"""The vectorised CSV writer prints exactly what Python's own formatting would, and reads back."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from fateops.data.csvformat import Column, format_csv


def _reference(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@pytest.mark.parametrize("decimals", [0, 2, 6, 9])
def test_matches_python_formatting(decimals: int) -> None:
    """Values already rounded to ``decimals`` (what the data steps write) print exactly like Python."""
    rng = np.random.default_rng(decimals)
    edge = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 9.999, 10.0, 99.99, 100.0, 123456.7, -1e-12, 1e-3, 25691.16]
    raw = np.concatenate([edge, rng.standard_normal(5000) * 10.0 ** rng.integers(0, 5, 5000)])
    values = np.round(raw, decimals)
    lines = format_csv([Column("x", values, decimals=decimals)]).decode().splitlines()
    assert lines[0] == "x"
    assert lines[1:] == [_reference(v, decimals) for v in values]


@pytest.mark.parametrize("decimals", [2, 6, 9])
def test_unrounded_values_are_rounded_to_the_nearest(decimals: int) -> None:
    """Arbitrary floats: within half a unit of the last digit (ties may differ from printf by 1 ulp)."""
    values = np.random.default_rng(5).standard_normal(5000) * 100
    lines = format_csv([Column("x", values, decimals=decimals)]).decode().splitlines()[1:]
    printed = np.array([float(line) for line in lines])
    assert np.all(np.abs(printed - values) <= 0.5 * 10.0**-decimals + 1e-9)
    assert not any(line.endswith("0") and "." in line for line in lines)  # trailing zeros trimmed


def test_quoting_line_ends_and_round_trip() -> None:
    values = np.array([1.5, -2.25, 0.0])
    labels = np.array([0, 1, 0])
    text = format_csv([Column("a", values, decimals=2), Column("Class", labels, quoted=True)],
                      quote_header=True, line_end="\r\n")
    assert text == b'"a","Class"\r\n1.5,"0"\r\n-2.25,"1"\r\n0,"0"\r\n'
    back = pd.read_csv(io.BytesIO(text))
    assert back["a"].tolist() == [1.5, -2.25, 0.0] and back["Class"].tolist() == [0, 1, 0]


def test_many_rows_span_chunks_deterministically() -> None:
    rng = np.random.default_rng(7)
    columns = [Column(f"v{i}", np.round(rng.standard_normal(70_000), 6), decimals=6) for i in range(3)]
    first, second = format_csv(columns), format_csv(columns)
    assert first == second
    back = pd.read_csv(io.BytesIO(first))
    assert len(back) == 70_000
    np.testing.assert_allclose(back["v2"].to_numpy(), columns[2].values, atol=5e-7)


def test_refuses_nan_and_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="NaN or infinite"):
        format_csv([Column("x", np.array([1.0, np.nan]))])
    with pytest.raises(ValueError, match="expected 2"):
        format_csv([Column("x", np.zeros(2)), Column("y", np.zeros(3))])
