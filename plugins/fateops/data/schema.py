"""Column names of the credit-card workload, in one place.

Two tables exist: the *raw* Kaggle ``creditcard.csv`` (``Time, V1..V28, Amount, Class``; the real
file quotes its header names and its Class values) and the *prepared* per-party table that is
uploaded to FATE. The prepared order follows the seed's notebook exactly: it inserts ``id`` at 0,
``Scaled_Amount`` at 1 and ``Scaled_Time`` at 2, drops ``Time`` and ``Amount``, and ``Class`` stays
last — so a reader of the seed recognises every file we write.
"""

from __future__ import annotations

from typing import Final

TIME: Final = "Time"
AMOUNT: Final = "Amount"
LABEL: Final = "Class"
ID: Final = "id"
SCALED_AMOUNT: Final = "Scaled_Amount"
SCALED_TIME: Final = "Scaled_Time"

PCA_COLUMNS: Final[tuple[str, ...]] = tuple(f"V{i}" for i in range(1, 29))
"""The 28 anonymised PCA components of the Kaggle file (mean ≈ 0)."""

RAW_COLUMNS: Final[tuple[str, ...]] = (TIME, *PCA_COLUMNS, AMOUNT, LABEL)
"""Kaggle ``creditcard.csv`` header, in file order."""

FEATURE_COLUMNS: Final[tuple[str, ...]] = (SCALED_AMOUNT, SCALED_TIME, *PCA_COLUMNS)
"""What the model sees: every prepared column except the match id and the label."""

PREPARED_COLUMNS: Final[tuple[str, ...]] = (ID, *FEATURE_COLUMNS, LABEL)
"""Prepared per-party table, in file order (the seed's order)."""

LABEL_VALUES: Final[frozenset[int]] = frozenset({0, 1})
"""``Class`` is 1 for a fraud, 0 otherwise."""

RAW_DTYPES: Final[dict[str, str]] = {name: "float64" for name in RAW_COLUMNS}
"""Parse dtypes for the raw file: everything as float first (Class is checked, then cast to int)."""

PREPARED_DTYPES: Final[dict[str, str]] = {
    ID: "int64",
    **{name: "float64" for name in FEATURE_COLUMNS},
    LABEL: "int64",
}
"""dtypes of the prepared table, as pandas reads the file back and as the validation gate expects.

FATE's upload meta for a prepared table is ``fateops.fate.upload.csv_meta(match_id_name=ID,
label_name=LABEL)`` — the names come from here, the meta format from the FATE client.
"""

