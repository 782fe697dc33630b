"""The credit-card workload's data: schema, strict loading, synthetic data, split, preparation, gate.

Nothing here imports Airflow; the DAG tasks wrap these functions. Great Expectations is imported
only inside :func:`validate_prepared_csv` (it is slow to import and only the gate needs it).
"""

from __future__ import annotations

from fateops.data.errors import DataFileError, ExpectationsFailed
from fateops.data.layout import PartyDataDir
from fateops.data.load import load_creditcard
from fateops.data.preprocess import PreparedParty, load_prepared, prepare_party
from fateops.data.split import PartySlice, split_by_parties
from fateops.data.synthetic import (
    SyntheticDataset,
    generate_creditcard,
    is_synthetic,
    write_synthetic_creditcard,
)
from fateops.data.validate import DEFAULT_SUITE, ValidationOutcome, load_suite, validate_prepared_csv

__all__ = [
    "DEFAULT_SUITE",
    "DataFileError",
    "ExpectationsFailed",
    "PartyDataDir",
    "PartySlice",
    "PreparedParty",
    "SyntheticDataset",
    "ValidationOutcome",
    "generate_creditcard",
    "is_synthetic",
    "load_creditcard",
    "load_prepared",
    "load_suite",
    "prepare_party",
    "split_by_parties",
    "validate_prepared_csv",
    "write_synthetic_creditcard",
]
