"""Federated vs centralized: does FATE's homo-LR across the banks match one bank holding all the data?

A benchmark, not a test: it prints what it measures. Same data, same split, same preprocessing:

1. a dataset (``--dataset`` Kaggle-format file, else SYNTHETIC, full Kaggle size by default) is split
   between the parties and prepared per party exactly as ``fate_dataset_prepare`` does (each party's
   RobustScaler fitted on its own training rows, a stratified held-out test split per party);
2. **federated**: every party's train table is uploaded to the FATE engine and one homo-LR job trains
   across them (``fateops.pipeline.training.train_job``, the DAG's own spec) and scores every party's
   test table; the scores are downloaded and pooled;
3. **centralized**: scikit-learn's ``LogisticRegression`` on the pooled prepared training rows;
4. both are scored on the same pooled held-out rows; the AUCs, their delta and their ratio are printed.

``--try batch_size=1000,learning_rate=1.5`` (repeatable) re-trains the federated model with other
hyper-parameters on the same uploaded tables — how the DAG defaults were tuned; ``--reuse-tables``
skips the upload when the engine already holds identical tables. Run: ``make bench`` or
``.venv/bin/python bench/parity.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from fateops.data import PartyDataDir, load_prepared, prepare_party, schema, split_by_parties
from fateops.data.synthetic import KAGGLE_FRAUD_RATIO, KAGGLE_ROWS
from fateops.fate.client import FateFlowClient
from fateops.fate.watch import wait_for_job
from fateops.federation import Federation, load_federation
from fateops.paths import state_dir
from fateops.pipeline.dataset import resolve_source
from fateops.pipeline.errors import TableCheckFailed
from fateops.pipeline.predicting import download_scores
from fateops.pipeline.tables import PartyTable, data_parties, data_role, party_tables
from fateops.pipeline.training import TEST_TASK, TrainSettings, collect_train_result, train_job
from fateops.pipeline.upload import count_rows, upload_and_verify, verify_table
from fateops.report import binary_scores


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = TrainSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="", help="Kaggle-format creditcard.csv (default: synthetic)")
    parser.add_argument("--rows", type=int, default=KAGGLE_ROWS)
    parser.add_argument("--fraud-ratio", type=float, default=KAGGLE_FRAUD_RATIO)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--engine-url", default=os.environ.get("FATEOPS_FATE_URL", ""),
                        help="FATE Flow URL (default: the local engine of this checkout)")
    parser.add_argument("--namespace", default="bench")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--alpha", type=float, default=defaults.alpha)
    parser.add_argument("--penalty", default=defaults.penalty)
    parser.add_argument("--optimizer", default=defaults.optimizer)
    parser.add_argument("--try", dest="tries", action="append", default=[], metavar="NAME=VALUE,...",
                        help="an extra federated run with these settings changed (repeatable)")
    parser.add_argument("--no-base", action="store_true", help="only the --try runs, not the defaults")
    parser.add_argument("--reuse-tables", action="store_true",
                        help="keep tables already in the engine when their row counts match the prepared files")
    parser.add_argument("--timeout", type=int, default=7200, help="seconds per FATE job")
    return parser.parse_args(argv)


def runs(base: TrainSettings, tries: list[str], *, with_base: bool = True) -> list[TrainSettings]:
    """``base`` (unless left out) and one run per ``name=value,name=value`` override set."""
    out = [base] if with_base else []
    for spec in tries:
        changes = {}
        for item in spec.split(","):
            name, value = (part.strip() for part in item.split("=", 1))
            changes[name] = type(getattr(base, name))(value)
        out.append(replace(base, **changes))
    return list(dict.fromkeys(out))


def centralized_auc(train: pd.DataFrame, test: pd.DataFrame) -> tuple[float, float]:
    """(AUC, seconds) of sklearn's LogisticRegression on the pooled prepared rows."""
    from sklearn.linear_model import LogisticRegression

    features = list(schema.FEATURE_COLUMNS)
    started = time.monotonic()
    model = LogisticRegression(max_iter=2000).fit(train[features].to_numpy(), train[schema.LABEL].to_numpy())
    scores = model.predict_proba(test[features].to_numpy())[:, 1]
    return binary_scores(test[schema.LABEL].to_numpy(), scores)["auc"], time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    federation = load_federation()
    parties = data_parties(federation)
    work = state_dir() / "bench" / "parity"
    source = resolve_source(args.dataset or None, rows=args.rows, fraud_ratio=args.fraud_ratio, seed=args.seed,
                            directory=work / "source")
    split_by_parties(source.path, [p.party_id for p in parties], work / "data", seed=args.seed)
    prepared = [prepare_party(PartyDataDir.for_party(work / "data", p.party_id), seed=args.seed) for p in parties]
    train = pd.concat([load_prepared(p.train_csv) for p in prepared], ignore_index=True)
    test = pd.concat([load_prepared(p.test_csv) for p in prepared], ignore_index=True)
    print(f"data: {'SYNTHETIC' if source.synthetic else 'user'} {source.path}")
    print(f"      {len(train)} training rows ({int(train[schema.LABEL].sum())} frauds), {len(test)} held-out rows "
          f"({int(test[schema.LABEL].sum())} frauds), {len(parties)} parties: "
          + ", ".join(f"{p.party_id} {p.train_rows}+{p.test_rows}" for p in prepared))

    central, fit_s = centralized_auc(train, test)
    print(f"centralized  sklearn LogisticRegression (pooled rows):  AUC {central:.4f}  (fit {fit_s:.1f} s)")

    url = args.engine_url or _local_engine_url()
    tables = party_tables(federation, args.namespace)
    with FateFlowClient(url) as client:
        started = time.monotonic()
        uploaded = 0
        for table in tables:
            party = next(p for p in prepared if p.party_id == table.party_id)
            path = party.train_csv if table.split == "train" else party.test_csv
            if args.reuse_tables:
                try:
                    verify_table(client, table.namespace, table.name, count_rows(path))
                    continue
                except TableCheckFailed:
                    pass
            upload_and_verify(client, path, table.namespace, table.name, timeout_s=args.timeout, log=lambda _: None)
            uploaded += 1
        print(f"uploaded {uploaded} of {len(tables)} tables to {url} in {time.monotonic() - started:.0f} s")
        base = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                             alpha=args.alpha, penalty=args.penalty, optimizer=args.optimizer)
        for settings in runs(base, args.tries, with_base=not args.no_base):
            federated_run(client, federation, tables, settings, args.timeout, central)
    return 0


def federated_run(client: FateFlowClient, federation: Federation, tables: list[PartyTable],
                  settings: TrainSettings, timeout: int, central: float) -> None:
    """One training job on the uploaded tables; its pooled held-out AUC against the centralized one."""
    started = time.monotonic()
    submitted = client.submit_job(train_job(federation, tables, settings, timeout_s=timeout))
    outcome = wait_for_job(client, submitted.job_id, timeout_s=timeout, poll_s=3.0, log=lambda _: None)
    outcome.raise_for_status()
    seconds = time.monotonic() - started
    result = collect_train_result(client, federation, job_id=submitted.job_id, model_id=submitted.model_id,
                                  model_version=submitted.model_version, settings=settings)
    scored = pd.concat([download_scores(client, submitted.job_id, str(data_role(p)), p.party_id, task_name=TEST_TASK)
                        for p in data_parties(federation)], ignore_index=True)
    federated = binary_scores(scored[schema.LABEL].astype("int64").to_numpy(), scored["predict_score"].to_numpy())
    knobs = ", ".join(f"{k} {v}" for k, v in settings.as_dict().items() if k != "threshold")
    print(f"federated    FATE homo-LR ({knobs}):  AUC {federated['auc']:.4f}  "
          f"(job {submitted.job_id}, {seconds:.0f} s; FATE's guest-only evaluation {result.auc:.4f})")
    print(f"             delta federated − centralized: {federated['auc'] - central:+.4f}   "
          f"ratio federated / centralized AUC: {federated['auc'] / central:.4f}")
    sys.stdout.flush()


def _local_engine_url() -> str:
    from fateops.engine import LocalEngine

    engine = LocalEngine()
    return engine.start(timeout_s=300).url


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
