"""A seeded, realistic stand-in for Kaggle's ``creditcard.csv`` (which cannot be downloaded here).

Shape of the real file, reproduced on purpose so every step downstream meets realistic data:

* **Time**: whole seconds over 48 h, sorted, with two daily cycles (few genuine payments around
  4 am); frauds are spread more evenly over the day, as in the real data.
* **Amount** ≥ 0, heavy-tailed: genuine payments log-normal (median ≈ 22, mean ≈ 90, like Kaggle's),
  ≈0.6 % exactly 0; frauds are either card-testing micro-payments (0 or 1.00) or larger log-normal
  amounts — so Amount carries a little signal, as it does in reality.
* **V1..V28**: PCA-like components — uncorrelated, mean 0 (centred over the whole file as PCA
  scores are), with Kaggle's decreasing standard deviations and Student-t tails. Frauds are shifted
  along the components that separate fraud in the real data (V14, V12, V10, V17, V4, V11, V3, ...)
  in the real direction, with a wider spread, and a share of frauds is *camouflaged* (not shifted):
  that is why a linear model tops out near the real file's AUC instead of at 1.0.

Calibration (``bench``-style check in the tests): a centralised scikit-learn LogisticRegression on
the scaled features scores an AUC of ≈0.95 on held-out rows, inside the 0.90–0.99 the workload needs.

The output is marked synthetic twice: :func:`write_synthetic_creditcard` writes a sidecar
``<file>.SYNTHETIC.txt`` next to the CSV and logs a warning; :func:`is_synthetic` checks for it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fateops.data import schema
from fateops.data._io import write_if_changed
from fateops.data.csvformat import Column, format_csv
from fateops.exceptions import ConfigError

log = logging.getLogger(__name__)

KAGGLE_ROWS = 284_807
KAGGLE_FRAUD_RATIO = 0.00172
SIDECAR_SUFFIX = ".SYNTHETIC.txt"
GENERATOR_VERSION = 1  # bump when the output for a given seed changes

_SECONDS = 48 * 3600
# Standard deviations of Kaggle's V1..V28 (rounded): PCA order, largest first.
_PCA_STD = np.array([1.96, 1.65, 1.52, 1.42, 1.38, 1.33, 1.24, 1.19, 1.10, 1.09, 1.02, 1.00, 1.00, 0.96,
                     0.92, 0.88, 0.85, 0.84, 0.81, 0.77, 0.73, 0.73, 0.62, 0.61, 0.52, 0.48, 0.40, 0.33])
# Fraud shift per component, in units of that component's std, signs as in the real data.
_FRAUD_SHIFT = dict(V14=-1.6, V12=-1.4, V17=-1.35, V10=-1.3, V4=1.2, V11=1.1, V3=-1.05, V16=-0.9,
                    V7=-0.8, V2=0.7, V9=-0.7, V18=-0.6, V1=-0.5, V5=-0.45, V6=-0.3, V21=0.3)
_FRAUD_SPREAD = 1.6      # frauds vary more along the shifted components
_CAMOUFLAGED = 0.06      # share of frauds that look like genuine payments
_T_DOF = 6               # Student-t tails for the components


@dataclass(frozen=True)
class SyntheticDataset:
    """A synthetic ``creditcard.csv`` on disk and how it was made."""

    path: Path
    sidecar: Path
    rows: int
    frauds: int
    seed: int
    sha256: str
    written: bool
    synthetic: bool = True


def generate_creditcard(rows: int = KAGGLE_ROWS, fraud_ratio: float = KAGGLE_FRAUD_RATIO,
                        seed: int = 42, *, separation: float = 1.0) -> pd.DataFrame:
    """Return ``rows`` synthetic transactions in Kaggle's schema, ``round(rows·fraud_ratio)`` of them frauds.

    Deterministic for a given (rows, fraud_ratio, seed); vectorised (≈0.3 s for the full size).
    ``separation`` scales how far frauds are shifted from genuine payments (1: like the real file;
    bench/parity.py's panel uses weaker and stronger signals to choose training defaults that hold on both).
    """
    if not separation > 0:
        raise ConfigError("separation must be positive", field="separation", value=separation)
    if rows < 2:
        raise ConfigError("at least 2 rows are needed", field="rows", value=rows)
    if not 0 < fraud_ratio < 1:
        raise ConfigError("the fraud ratio must be strictly between 0 and 1", field="fraud_ratio",
                          value=fraud_ratio)
    rng = np.random.default_rng(seed)
    frauds = min(rows - 1, max(1, round(rows * fraud_ratio)))
    is_fraud = np.zeros(rows, dtype=bool)
    is_fraud[rng.choice(rows, size=frauds, replace=False)] = True

    time = _times(rng, is_fraud)
    amount = _amounts(rng, is_fraud)
    pca = _components(rng, is_fraud, separation)
    order = np.argsort(time, kind="stable")  # the real file is in time order
    frame = pd.DataFrame(pca[order], columns=list(schema.PCA_COLUMNS))
    frame.insert(0, schema.TIME, time[order].astype("float64"))
    frame[schema.AMOUNT] = amount[order]
    frame[schema.LABEL] = is_fraud[order].astype("int64")
    return frame


def _times(rng: np.random.Generator, is_fraud: np.ndarray) -> np.ndarray:
    """Whole seconds over two days, drawn from a day/night activity curve (low at 4 am)."""
    hours = np.arange(_SECONDS) / 3600.0
    cycle = np.cos(2 * np.pi * (hours - 4.0) / 24.0)
    times = np.empty(len(is_fraud), dtype=np.int64)
    for fraud, depth in ((False, 0.45), (True, 0.15)):
        weight = 0.55 - depth * cycle
        cdf = np.cumsum(weight)
        count = int((is_fraud == fraud).sum())
        times[is_fraud == fraud] = np.searchsorted(cdf, rng.random(count) * cdf[-1])
    return times


def _amounts(rng: np.random.Generator, is_fraud: np.ndarray) -> np.ndarray:
    n = len(is_fraud)
    amount = rng.lognormal(mean=3.09, sigma=1.55, size=n)
    amount[rng.random(n) < 0.0064] = 0.0
    fraud_idx = np.flatnonzero(is_fraud)
    kind = rng.random(len(fraud_idx))
    fraud_amount = rng.lognormal(mean=4.2, sigma=1.5, size=len(fraud_idx))
    fraud_amount[kind < 0.22] = 1.0   # card testing
    fraud_amount[kind < 0.05] = 0.0
    amount[fraud_idx] = fraud_amount
    return np.round(np.minimum(amount, 25_691.16), 2)


def _components(rng: np.random.Generator, is_fraud: np.ndarray, separation: float = 1.0) -> np.ndarray:
    n = len(is_fraud)
    # Student-t scaled to unit variance: heavy tails like the real components.
    unit = rng.standard_t(_T_DOF, size=(n, len(schema.PCA_COLUMNS))) / np.sqrt(_T_DOF / (_T_DOF - 2))
    shift = np.zeros(len(schema.PCA_COLUMNS))
    spread = np.ones(len(schema.PCA_COLUMNS))
    for name, value in _FRAUD_SHIFT.items():
        index = schema.PCA_COLUMNS.index(name)
        shift[index] = value * separation
        spread[index] = _FRAUD_SPREAD
    fraud_idx = np.flatnonzero(is_fraud)
    visible = fraud_idx[rng.random(len(fraud_idx)) >= _CAMOUFLAGED]
    unit[visible] = unit[visible] * spread + shift
    values = unit * _PCA_STD
    values -= values.mean(axis=0)  # PCA scores are centred over the whole table
    return np.round(values, 6)


def creditcard_csv_bytes(frame: pd.DataFrame, *, kaggle_quoting: bool = True) -> bytes:
    """The frame as CSV bytes; ``kaggle_quoting`` quotes the header names and the Class values."""
    columns = [Column(schema.TIME, frame[schema.TIME].to_numpy(), decimals=0)]
    columns += [Column(name, frame[name].to_numpy(), decimals=6) for name in schema.PCA_COLUMNS]
    columns.append(Column(schema.AMOUNT, frame[schema.AMOUNT].to_numpy(), decimals=2))
    columns.append(Column(schema.LABEL, frame[schema.LABEL].to_numpy(), quoted=kaggle_quoting))
    return format_csv(columns, quote_header=kaggle_quoting)


def write_synthetic_creditcard(path: Path | str, *, rows: int = KAGGLE_ROWS,
                               fraud_ratio: float = KAGGLE_FRAUD_RATIO, seed: int = 42,
                               kaggle_quoting: bool = True) -> SyntheticDataset:
    """Generate, write ``path`` (Kaggle's quoting by default) and its ``.SYNTHETIC.txt`` sidecar.

    Re-running with the same arguments leaves both files untouched (``written`` is then False).
    """
    path = Path(path)
    frame = generate_creditcard(rows=rows, fraud_ratio=fraud_ratio, seed=seed)
    digest, written = write_if_changed(path, creditcard_csv_bytes(frame, kaggle_quoting=kaggle_quoting))
    frauds = int(frame[schema.LABEL].sum())
    note = {
        "synthetic": True,
        "what": "SYNTHETIC credit-card transactions generated by fateops, NOT the Kaggle dataset",
        "generator": f"fateops.data.synthetic v{GENERATOR_VERSION}",
        "rows": rows, "frauds": frauds, "fraud_ratio": fraud_ratio, "seed": seed,
        "kaggle_quoting": kaggle_quoting, "sha256": digest,
    }
    sidecar = sidecar_path(path)
    write_if_changed(sidecar, (json.dumps(note, indent=2, sort_keys=True) + "\n").encode())
    log.warning("SYNTHETIC dataset (not Kaggle's): %s — %d rows, %d frauds, seed %d", path, rows, frauds, seed)
    return SyntheticDataset(path=path, sidecar=sidecar, rows=rows, frauds=frauds, seed=seed, sha256=digest,
                            written=written)


def sidecar_path(path: Path | str) -> Path:
    """Where the synthetic marker of a CSV lives."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def is_synthetic(path: Path | str) -> bool:
    """True when ``path`` carries the synthetic marker written by :func:`write_synthetic_creditcard`."""
    return sidecar_path(path).is_file()
