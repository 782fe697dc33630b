"""What the data steps cost: split + prepare + validate of Kaggle-size data vs pandas merely reading it.

A benchmark, not a test: it prints what it measures, from one run. On one file of 284,807 rows
(``--dataset``, else SYNTHETIC of Kaggle's size), it times

* **bare**: ``pandas.read_csv`` of the file — the least any tool reading it must spend;
* **fateops**: what ``fate_dataset_prepare`` does before uploading, step by step, as the DAG's tasks
  call it — the strict split into the parties' slices (reading and checking every value), each
  party's preparation (RobustScaler, ids, held-out split, CSV writing) and the Great Expectations gate
  on each party's train and test table;

and prints each step's seconds and the ratio fateops ÷ bare. The first Great Expectations import is
counted (a task pays it too). Run: ``.venv/bin/python bench/prepare_speed.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from fateops.data import PartyDataDir, prepare_party, split_by_parties, validate_prepared_csv
from fateops.data.synthetic import KAGGLE_FRAUD_RATIO, KAGGLE_ROWS
from fateops.paths import state_dir
from fateops.pipeline.dataset import resolve_source

PARTIES = (9999, 10000)


def timed(what: str, action: Callable[[], Any], steps: dict[str, float]) -> Any:
    started = time.perf_counter()
    out = action()
    steps[what] = time.perf_counter() - started
    print(f"  {what:<44} {steps[what]:7.2f} s")
    sys.stdout.flush()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="", help="Kaggle-format creditcard.csv (default: synthetic)")
    parser.add_argument("--rows", type=int, default=KAGGLE_ROWS)
    args = parser.parse_args(argv)
    work = state_dir() / "bench" / "prepare_speed"
    source = resolve_source(args.dataset or None, rows=args.rows, fraud_ratio=KAGGLE_FRAUD_RATIO,
                            directory=work / "source")
    path = Path(source.path)
    print(f"data: {'SYNTHETIC' if source.synthetic else 'user'} {path} ({path.stat().st_size / 1e6:.0f} MB)")
    bare: dict[str, float] = {}
    rows = len(timed("bare: pandas.read_csv", lambda: pd.read_csv(path), bare))
    steps: dict[str, float] = {}
    print(f"fateops on {rows} rows, {len(PARTIES)} parties:")
    timed("split (strict load + per-party slices)",
          lambda: split_by_parties(path, list(PARTIES), work / "data", seed=42), steps)
    parties = [PartyDataDir.for_party(work / "data", pid) for pid in PARTIES]
    for party in parties:
        timed(f"prepare party {party.party_id}", lambda p=party: prepare_party(p, seed=42), steps)
    for party in parties:
        for split, csv in (("train", party.train_csv), ("test", party.test_csv)):
            artifact = work / "validation" / f"{party.party_id}_{split}.json"
            timed(f"validate party {party.party_id} {split} (Great Expectations)",
                  lambda c=csv, a=artifact: validate_prepared_csv(c, artifact=a), steps)
    total, base = sum(steps.values()), bare["bare: pandas.read_csv"]
    print(f"fateops prepare + validate + split: {total:.2f} s   bare pandas read: {base:.2f} s   "
          f"ratio fateops / bare: {total / base:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
