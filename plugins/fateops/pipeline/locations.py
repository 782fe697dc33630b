"""Where the pipeline writes: the source dataset, validation results, registry, predictions, reports.

All of it derives from :mod:`fateops.paths` (so ``FATEOPS_STATE_DIR`` / ``FATEOPS_DATA_DIR`` /
``FATEOPS_REPORTS_DIR`` move everything together) plus ``FATEOPS_REGISTRY_DIR`` for the model
registry. Per-run files are keyed by a file-system-safe form of the Airflow run id, so a retry
of a task overwrites its own files and two runs never mix.
"""

from __future__ import annotations

import os
from pathlib import Path

from fateops.data.layout import PartyDataDir
from fateops.paths import data_dir, reports_dir, state_dir
from fateops.report import safe_name

PREDICTIONS_FILE = "predictions.csv"


def source_dir() -> Path:
    """The data owner's drop zone: the full dataset before it is split between the parties."""
    return data_dir() / "source"


def registry_dir() -> Path:
    """The model registry (``registry.json``); ``FATEOPS_REGISTRY_DIR`` moves it."""
    value = os.environ.get("FATEOPS_REGISTRY_DIR")
    return Path(value).expanduser().resolve() if value else state_dir() / "registry"


def run_reports_dir(run_id: str) -> Path:
    """``<reports_dir>/<run>/``: the run report and everything an operator reads after a run."""
    return reports_dir() / safe_name(run_id)


def validation_artifact(run_id: str, party_id: int, split: str) -> Path:
    """The full Great Expectations result of one prepared table, kept whatever the outcome."""
    return run_reports_dir(run_id) / "validation" / f"{party_id}_{split}.json"


def party_predictions_csv(party: PartyDataDir, run_id: str) -> Path:
    """A party's scored rows stay in that party's own data dir (they carry its labels and ids)."""
    return party.root / "predictions" / safe_name(run_id) / PREDICTIONS_FILE
