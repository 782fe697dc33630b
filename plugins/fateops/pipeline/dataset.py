"""The dataset steps of the pipeline: pick the source file, then gate each party's prepared tables.

The source is the user's Kaggle-format ``creditcard.csv`` when one is given, else a seeded synthetic
one (said loudly: a SYNTHETIC marker travels with it and every log line names it). The gate runs
the expectation suite on a party's prepared ``train.csv`` *and* ``test.csv`` — both, even when the
first fails, so the artifacts show everything wrong at once — and raises if either fails. Nothing
here uploads: the DAG only plans uploads after every party has passed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fateops.data import PartyDataDir, is_synthetic, validate_prepared_csv, write_synthetic_creditcard
from fateops.data.errors import DataFileError, ExpectationsFailed
from fateops.data.synthetic import KAGGLE_FRAUD_RATIO, KAGGLE_ROWS
from fateops.exceptions import DataValidationError
from fateops.pipeline.locations import source_dir, validation_artifact

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceDataset:
    """The full dataset before the split: a user's file, or a synthetic one we generated."""

    path: str
    synthetic: bool
    rows: int | None = None
    frauds: int | None = None
    seed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_source(dataset_path: str | None, *, rows: int = KAGGLE_ROWS, fraud_ratio: float = KAGGLE_FRAUD_RATIO,
                   seed: int = 42, directory: Path | None = None) -> SourceDataset:
    """The user's file when ``dataset_path`` is set (checked strictly later, by the split), else a
    synthetic dataset of ``rows`` rows written once per (rows, fraud_ratio, seed) and reused."""
    if dataset_path and dataset_path.strip():
        path = Path(dataset_path.strip()).expanduser()
        if not path.is_file():
            raise DataFileError(path, "no such file",
                                fix="give the absolute path of a Kaggle-format creditcard.csv readable by the "
                                    "Airflow worker, or leave the dataset Param empty for synthetic data")
        synthetic = is_synthetic(path)
        log.info("dataset: %s%s", path, " [SYNTHETIC]" if synthetic else " (user supplied)")
        return SourceDataset(path=str(path.resolve()), synthetic=synthetic)
    directory = directory or source_dir()
    target = directory / f"creditcard_synthetic_{rows}rows_{fraud_ratio:g}fraud_seed{seed}.csv"
    made = write_synthetic_creditcard(target, rows=rows, fraud_ratio=fraud_ratio, seed=seed)
    print(f"NOTE: no dataset given, using SYNTHETIC data (same schema as Kaggle's creditcard.csv, NOT the real "
          f"transactions): {made.rows} rows, {made.frauds} frauds, seed {seed} -> {made.path}")
    return SourceDataset(path=str(made.path), synthetic=True, rows=made.rows, frauds=made.frauds, seed=seed)


def validate_party(party: PartyDataDir, run_id: str, parameters: Mapping[str, Any] | None = None
                   ) -> dict[str, Any]:
    """Run the gate on the party's prepared train and test tables; raise if either fails.

    Returns what passed (rows, expectations evaluated, artifact paths) for the gate summary.
    """
    passed: dict[str, Any] = {}
    failures: list[ExpectationsFailed | DataFileError] = []
    for split, path in (("train", party.train_csv), ("test", party.test_csv)):
        artifact = validation_artifact(run_id, party.party_id, split)
        try:
            outcome = validate_prepared_csv(path, artifact=artifact, parameters=parameters)
        except (ExpectationsFailed, DataFileError) as err:
            failures.append(err)
            continue
        passed[split] = {"rows": outcome.rows, "expectations": outcome.evaluated, "artifact": str(artifact)}
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise DataValidationError(f"party {party.party_id}: both prepared tables failed validation, nothing was "
                                  "uploaded:\n" + "\n".join(f.message for f in failures),
                                  fix=failures[0].fix)
    return {"party_id": party.party_id, **passed}
