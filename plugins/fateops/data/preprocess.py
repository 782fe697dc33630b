"""Prepare one party's slice the way the seed's notebook does, with a held-out test split.

Per party, from that party's ``raw/creditcard.csv`` only:

1. a stratified, seeded train/test split (``test_fraction`` of the rows held out for evaluation);
2. a ``RobustScaler`` on ``Amount`` and ``Time`` → ``Scaled_Amount``, ``Scaled_Time``; ``Time`` and
   ``Amount`` are dropped. It is fitted on the party's *training* rows — the seed fits on the whole
   file because it has no held-out rows; fitting on the test rows too would leak them;
3. an ``id`` column, ints 1..n unique within the party (FATE 2.2's upload reads it as the match id,
   ``match_id_name=id``). ``id`` k is the k-th transaction of the party's raw file (its line k+1),
   so any prediction can be traced back to the source row;
4. the seed's column order ``id, Scaled_Amount, Scaled_Time, V1..V28, Class`` → ``prepared/train.csv``
   and ``prepared/test.csv``, plus ``prepared/prepare.json`` (scaler centre/scale, counts, hashes).

The function takes a :class:`PartyDataDir` — one party's directory and nothing else — so the step
run for party B cannot even name party A's files.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import RobustScaler

from fateops.data import schema
from fateops.data._io import dump_json, write_if_changed
from fateops.data.csvformat import Column, format_csv
from fateops.data.errors import DataFileError
from fateops.data.layout import PartyDataDir
from fateops.data.load import load_creditcard
from fateops.data.synthetic import is_synthetic
from fateops.exceptions import ConfigError

log = logging.getLogger(__name__)

FEATURE_DECIMALS = 9
"""Decimals kept in prepared files: far below any signal, and keeps the CSV ~⅓ the size of repr()."""


@dataclass(frozen=True)
class PreparedParty:
    """The outcome of :func:`prepare_party`."""

    party_id: int
    train_csv: Path
    test_csv: Path
    summary_json: Path
    train_rows: int
    test_rows: int
    train_frauds: int
    test_frauds: int
    scaler: dict[str, dict[str, float]]
    synthetic: bool
    written: bool


def prepare_party(party: PartyDataDir, *, test_fraction: float = 0.2, seed: int = 42) -> PreparedParty:
    """Scale, id and split ``party``'s raw slice; write its prepared train/test files and summary."""
    if not 0 < test_fraction < 1:
        raise ConfigError("the test fraction must be strictly between 0 and 1", field="test_fraction",
                          value=test_fraction)
    raw = load_creditcard(party.raw_csv)
    labels = raw[schema.LABEL].to_numpy()
    train_idx, test_idx = _split(party, labels, test_fraction, seed)

    scaler = RobustScaler().fit(raw.loc[train_idx, [schema.AMOUNT, schema.TIME]].to_numpy())
    scaler_params = {
        schema.AMOUNT: {"center": float(scaler.center_[0]), "scale": float(scaler.scale_[0])},
        schema.TIME: {"center": float(scaler.center_[1]), "scale": float(scaler.scale_[1])},
    }
    scaled = _scaled(raw, scaler_params)
    ids = np.arange(1, len(raw) + 1, dtype=np.int64)

    outputs = {}
    for path, rows in ((party.train_csv, train_idx), (party.test_csv, test_idx)):
        content = _prepared_csv(raw, ids, scaled, rows)
        outputs[path.name] = write_if_changed(path, content)
    synthetic = is_synthetic(party.raw_csv)
    summary = {
        "party_id": party.party_id,
        "synthetic": synthetic,
        "columns": list(schema.PREPARED_COLUMNS),
        "label": schema.LABEL,
        "match_id": schema.ID,
        "scaler": {"kind": "RobustScaler", "fitted_on": "train rows of this party", **scaler_params},
        "test_fraction": test_fraction,
        "seed": seed,
        "counts": {
            "raw_rows": len(raw), "raw_frauds": int(labels.sum()),
            "train_rows": len(train_idx), "train_frauds": int(labels[train_idx].sum()),
            "test_rows": len(test_idx), "test_frauds": int(labels[test_idx].sum()),
        },
        "files": {name: {"sha256": digest} for name, (digest, _) in outputs.items()},
    }
    _, summary_written = write_if_changed(party.prepare_summary, dump_json(summary))
    written = summary_written or any(w for _, w in outputs.values())
    log.info("party %s prepared: %d train / %d test rows (%d / %d frauds)%s%s", party.party_id,
             len(train_idx), len(test_idx), summary["counts"]["train_frauds"], summary["counts"]["test_frauds"],
             " [SYNTHETIC data]" if synthetic else "", "" if written else " (unchanged)")
    return PreparedParty(party_id=party.party_id, train_csv=party.train_csv, test_csv=party.test_csv,
                         summary_json=party.prepare_summary, train_rows=len(train_idx), test_rows=len(test_idx),
                         train_frauds=summary["counts"]["train_frauds"],
                         test_frauds=summary["counts"]["test_frauds"], scaler=scaler_params,
                         synthetic=synthetic, written=written)


def _split(party: PartyDataDir, labels: np.ndarray, test_fraction: float,
           seed: int) -> tuple[np.ndarray, np.ndarray]:
    frauds = int(labels.sum())
    genuine = len(labels) - frauds
    if frauds < 2 or genuine < 2:
        raise DataFileError(party.raw_csv, f"party {party.party_id} has {frauds} fraud and {genuine} genuine "
                            "rows; a stratified held-out split needs at least 2 of each",
                            fix="give this party more rows (or more frauds) in the split")
    train, test = train_test_split(np.arange(len(labels)), test_size=test_fraction, stratify=labels,
                                   random_state=seed)
    return np.sort(train), np.sort(test)


def _scaled(raw: pd.DataFrame, scaler: dict[str, dict[str, float]]) -> np.ndarray:
    """``Amount`` and ``Time`` through a fitted RobustScaler's centre and scale (what its transform does)."""
    columns = [schema.AMOUNT, schema.TIME]
    centre = np.array([scaler[c]["center"] for c in columns])
    scale = np.array([scaler[c]["scale"] for c in columns])
    return (raw[columns].to_numpy(dtype="float64") - centre) / scale


def prepare_rows(raw: pd.DataFrame, scaler: dict[str, dict[str, float]]) -> pd.DataFrame:
    """New raw rows (Kaggle's columns) prepared with a party's *already fitted* scaler, as its held-out rows
    are — e.g. an extra evaluation set scored beside them (bench/parity.py); nothing is refitted."""
    ids = np.arange(1, len(raw) + 1, dtype=np.int64)
    rows = np.arange(len(raw))
    return pd.read_csv(io.BytesIO(_prepared_csv(raw.reset_index(drop=True), ids, _scaled(raw, scaler), rows)),
                       dtype=schema.PREPARED_DTYPES)


def _prepared_csv(raw: pd.DataFrame, ids: np.ndarray, scaled: np.ndarray, rows: np.ndarray) -> bytes:
    columns = [
        Column(schema.ID, ids[rows]),
        Column(schema.SCALED_AMOUNT, scaled[rows, 0], decimals=FEATURE_DECIMALS),
        Column(schema.SCALED_TIME, scaled[rows, 1], decimals=FEATURE_DECIMALS),
        *(Column(name, raw[name].to_numpy()[rows], decimals=FEATURE_DECIMALS) for name in schema.PCA_COLUMNS),
        Column(schema.LABEL, raw[schema.LABEL].to_numpy()[rows]),
    ]
    return format_csv(columns)


def load_prepared(path: Path | str) -> pd.DataFrame:
    """Read a prepared file back with its declared dtypes (for evaluation and benchmarks)."""
    return pd.read_csv(path, dtype=schema.PREPARED_DTYPES)
