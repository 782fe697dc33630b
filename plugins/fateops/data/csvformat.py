"""A vectorised CSV writer for wide numeric tables (≈7x less CPU than ``DataFrame.to_csv``).

``to_csv`` formats each of the 8.8 million cells of a full creditcard table one by one (measured
here: 14.5 s of CPU; this writer: 2.1 s, same table, same busy machine). Our tables are all
numbers written with a fixed maximum of decimals, so numpy can lay the digits out column by column
instead: values are rounded to ``decimals`` places, trailing zeros and a bare ``.`` are trimmed
(``149.62``, ``1``, ``-0.5`` — the way R wrote Kaggle's file) and ``-0`` never appears. Rows are
built in chunks to bound memory.

A column may be *quoted* (``"0"``), which is how Kaggle's file writes ``Class``; header names may be
quoted too. Output is deterministic: same values → same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_CHUNK_ROWS = 32_768
_MAX_WHOLE = 4e9  # integer parts are split into digits as uint32
_QUOTE = ord('"')
_ZERO = ord("0")


@dataclass(frozen=True)
class Column:
    """One output column: its header name, its values and how to print them."""

    name: str
    values: np.ndarray
    decimals: int = 0
    quoted: bool = False


def format_csv(columns: Sequence[Column], *, quote_header: bool = False, line_end: str = "\n") -> bytes:
    """Return the CSV text (header + rows) of ``columns``, all of the same length, as UTF-8 bytes."""
    if not columns:
        raise ValueError("no columns to write")
    rows = len(columns[0].values)
    for column in columns:
        if len(column.values) != rows:
            raise ValueError(f"column {column.name!r} has {len(column.values)} values, expected {rows}")
        values = np.asarray(column.values, dtype="float64")
        if not np.isfinite(values).all():
            raise ValueError(f"column {column.name!r} holds NaN or infinite values; refusing to write them")
        if not 0 <= column.decimals <= 9:
            raise ValueError(f"column {column.name!r}: decimals must be within 0..9")
        if rows and float(np.abs(values).max()) >= _MAX_WHOLE:
            raise ValueError(f"column {column.name!r} has values beyond ±4e9; this writer cannot print them")
    names = [f'"{c.name}"' if quote_header else c.name for c in columns]
    parts = [(",".join(names) + line_end).encode()]
    eol = line_end.encode()
    for start in range(0, rows, _CHUNK_ROWS):
        stop = min(rows, start + _CHUNK_ROWS)
        parts.append(_format_rows(columns, start, stop, eol))
    return b"".join(parts)


def _format_rows(columns: Sequence[Column], start: int, stop: int, eol: bytes) -> bytes:
    """Lay every cell out in a fixed-width slot, then keep only each cell's used span + separator."""
    n = stop - start
    if not n:
        return b""
    layouts = []
    for index, column in enumerate(columns):
        separator = eol if index == len(columns) - 1 else b","
        values = np.asarray(column.values[start:stop], dtype="float64")
        layouts.append(_Digits.of(values, column.decimals, column.quoted, separator))
    # Character position-major (width, n): every digit write is a contiguous row. One transpose at
    # the end puts the characters back in reading order for the gather.
    total = sum(layout.width for layout in layouts)
    block = np.empty((total, n), dtype=np.uint8)
    used = np.empty((total, n), dtype=bool)
    offset = 0
    for layout in layouts:
        layout.write(block[offset:offset + layout.width], used[offset:offset + layout.width])
        offset += layout.width
    return np.ascontiguousarray(block.T)[np.ascontiguousarray(used.T)].tobytes()


@dataclass(frozen=True)
class _Digits:
    """One column chunk, split into digit characters and laid out on a fixed decimal point.

    The slot of a cell is ``[quote][sign][integer digits][.][fraction digits][quote][separator]``;
    every digit write is a whole-column slice (fast), only the sign and the quotes, whose position
    depends on the number of integer digits, are scattered. ``begin``/``end`` delimit what is kept.
    """

    int_chars: list[np.ndarray]
    frac_chars: list[np.ndarray]
    negative: np.ndarray
    begin: np.ndarray
    end: np.ndarray
    quoted: bool
    separator: bytes

    @property
    def dot(self) -> int:
        return 2 + len(self.int_chars)

    @property
    def width(self) -> int:
        return self.dot + 1 + len(self.frac_chars) + 1 + len(self.separator)

    @classmethod
    def of(cls, values: np.ndarray, decimals: int, quoted: bool, separator: bytes) -> _Digits:
        n = len(values)
        scaled = np.rint(np.abs(values) * 10**decimals).astype(np.int64)
        negative = (values < 0) & (scaled != 0)
        whole, part = np.divmod(scaled, 10**decimals)
        # Repeated division of *uint32* values (numpy divides those by a constant ~3x faster than
        # int64), least significant digit first, counting digits on the way.
        remaining = whole.astype(np.uint32)
        int_chars: list[np.ndarray] = []
        int_digits = np.ones(n, dtype=np.int64)
        while True:
            quotient = remaining // 10
            int_chars.append((remaining - quotient * 10).astype(np.uint8) + _ZERO)
            remaining = quotient
            if not remaining.any():
                break
            int_digits += remaining > 0
        remaining = part.astype(np.uint32)
        frac_chars: list[np.ndarray] = []
        trailing = np.ones(n, dtype=bool)
        zeros = np.zeros(n, dtype=np.int64)
        for _ in range(decimals):
            quotient = remaining // 10
            digit = (remaining - quotient * 10).astype(np.uint8)
            trailing &= digit == 0
            zeros += trailing
            frac_chars.append(digit + _ZERO)
            remaining = quotient
        frac_digits = decimals - zeros
        dot = 2 + len(int_chars)
        begin = dot - int_digits - negative - (1 if quoted else 0)
        end = dot + np.where(frac_digits > 0, 1 + frac_digits, 0) + (1 if quoted else 0)
        return cls(int_chars, frac_chars, negative, begin, end, quoted, separator)

    def write(self, buf: np.ndarray, used: np.ndarray) -> None:
        """Fill ``buf`` (width, n) with the characters and ``used`` with what to keep."""
        dot, decimals = self.dot, len(self.frac_chars)
        for k, chars in enumerate(self.int_chars):  # k-th integer digit from the right
            buf[dot - 1 - k] = chars
        buf[dot] = ord(".")
        for k, chars in enumerate(self.frac_chars):  # k-th fraction digit from the right
            buf[dot + decimals - k] = chars
        rows = np.arange(len(self.begin))
        sign_at = self.begin + (1 if self.quoted else 0)
        buf[sign_at[self.negative], rows[self.negative]] = ord("-")
        if self.quoted:
            buf[self.begin, rows] = _QUOTE
            buf[self.end - 1, rows] = _QUOTE
        sep_at = self.width - len(self.separator)
        for k, byte in enumerate(self.separator):
            buf[sep_at + k] = byte
        positions = np.arange(sep_at)[:, None]
        np.greater_equal(positions, self.begin, out=used[:sep_at])
        used[:sep_at] &= positions < self.end
        used[sep_at:] = True
