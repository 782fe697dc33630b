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

``--panel`` runs the fixed panel the training defaults are chosen on instead of one dataset: synthetic
variants of every combination of rows (20k / 100k / 284,807), fraud share (0.1 / 0.5 / 2 %), fraud
signal (weak / strong: the synthetic fraud shift × 0.5 / × 2) and parties (2 / 3), each trained with
every candidate setting (the current defaults, earlier ones — ``CANDIDATES`` — ``--try`` and ``--grid`` sets). It
prints one line per variant and setting — federated vs centralized AUC and AUPRC on the pooled
held-out rows, and the training job's wall time — then the whole table. ``--panel-rows`` /
``--panel-fraud`` / ``--panel-signal`` / ``--panel-parties`` restrict it (the full panel is 36
variants; on a shared 2-core machine run the small ones). A variant's tables are deleted after it.
``--replay`` screens the candidates with ``bench/fedsim.py`` (FATE's homo-LR replayed in NumPy, seconds
per variant instead of minutes) — how a grid (``--grid optimizer=adam;epochs=10|30;batch_size=1000|2000``)
is narrowed down before the chosen settings run as real FATE jobs. After the table, one line per
candidate and measure: its worst and mean Δ AUC and Δ AUPRC over the variants and how many are within
0.005 AUC. ``--cells readme`` runs exactly the README table's 16 cells; ``--seeds 42,43`` repeats every
variant on other draws of the data; ``--candidates`` picks which earlier defaults run beside the current.

Two measures, both printed (``split | eval``): the pooled held-out rows of the split, and an **independent
evaluation set** per variant — 1,000 frauds' worth of rows from the same generator (another seed, at most
1,000,000 rows), dealt to the parties and prepared with each party's own fitted scaler exactly as its
held-out rows are. The defaults are chosen on the second: a small rare-fraud variant's held-out split
holds a handful of frauds (20k rows at 0.1 %: 4), where one fraud's rank moves the AUC by up to 0.25. In a
real FATE run the trained model's weights are read back from the guest to score that set here.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fateops.config_files import read_config_yaml
from fateops.data import PartyDataDir, PreparedParty, load_prepared, prepare_party, schema, split_by_parties
from fateops.data._io import write_if_changed
from fateops.data.preprocess import prepare_rows
from fateops.data.synthetic import KAGGLE_FRAUD_RATIO, KAGGLE_ROWS, creditcard_csv_bytes, generate_creditcard
from fateops.fate.client import FateFlowClient
from fateops.fate.watch import wait_for_job
from fateops.federation import DEFAULT_FEDERATION_FILE, Federation, load_federation, parse_federation
from fateops.paths import state_dir
from fateops.pipeline.dataset import resolve_source
from fateops.pipeline.errors import TableCheckFailed
from fateops.pipeline.predicting import download_scores
from fateops.pipeline.tables import PartyTable, data_parties, data_role, party_tables
from fateops.pipeline.training import MODEL_TASK, TEST_TASK, TrainSettings, collect_train_result, train_job
from fateops.pipeline.upload import count_rows, upload_and_verify, verify_table
from fateops.scoring import binary_scores

SIGNALS = {"weak": 0.5, "strong": 2.0, "default": 1.0}
"""The panel's fraud signals: the synthetic generator's fraud shift scaled by this factor (``default``: the
generator's own, Kaggle-like; only the full-size Kaggle-rate cell uses it)."""
OLD_DEFAULTS = ("optimizer=sgd,epochs=5,batch_size=100,learning_rate=0.15,lr_decay_to=none,min_steps=0,"
                "min_batch_size=0")
"""The defaults before issue 11 (the seed's SGD, 5 epochs, batch 100, lr 0.15), kept as a panel candidate so
every panel run prints the old and the current defaults side by side."""
DECAY_ONLY = ("optimizer=sgd,epochs=5,batch_size=100,learning_rate=2.0,lr_decay_to=0.02,min_steps=0,"
              "min_batch_size=0")
"""The first issue-11 defaults (the decaying rate, exactly 5 epochs on every table), before ``min_steps``."""
MIN_STEPS_ONLY = ("optimizer=sgd,epochs=5,batch_size=100,learning_rate=2.0,lr_decay_to=0.02,min_steps=5700,"
                  "min_batch_size=0")
"""The second issue-11 defaults: more epochs for small tables (``min_steps``) but every table at batch 100 and
lr 2.0, before ``min_batch_size`` (15 of the README's 16 cells within 0.005; −0.0057 on the 16th)."""
MIN_BATCH_LR2 = ("optimizer=sgd,epochs=5,batch_size=100,learning_rate=2.0,lr_decay_to=0.02,min_steps=5700,"
                 "min_batch_size=25")
"""``min_batch_size`` at the first rate 2.0 (all 16 README cells within 0.005, but 284,807 rows / 0.1 % / weak /
2 parties −0.0072 on the full panel; the current 1.0 holds all 37)."""
CANDIDATES = {"old": OLD_DEFAULTS, "decay-only": DECAY_ONLY, "min-steps-only": MIN_STEPS_ONLY,
              "min-batch-lr2": MIN_BATCH_LR2}
"""Settings every panel variant is trained with besides the current defaults (``--candidates`` picks)."""
README_CELLS = ("20000/0.001/strong/2,20000/0.001/strong/3,20000/0.001/weak/2,20000/0.005/strong/2,"
                "20000/0.005/weak/2,20000/0.02/strong/2,20000/0.02/weak/3,100000/0.001/strong/2,"
                "100000/0.001/strong/3,100000/0.001/weak/2,100000/0.001/weak/3,100000/0.005/weak/2,"
                "100000/0.02/strong/3,100000/0.02/weak/2,284807/0.005/weak/3,284807/0.00172/default/2")
"""The cells of the README's panel table (``--cells readme``): 16 of the 36 variants plus the full-size
Kaggle-rate one (284,807 rows, 0.172 % fraud, the generator's own signal, 2 parties: the demo's data)."""
EVAL_FRAUDS = 1_000
"""Frauds in a variant's independent evaluation set: one fraud's rank moves its AUC by ≤ 0.001."""
EVAL_MAX_ROWS = 1_000_000
"""The evaluation set's row cap (0.1 % fraud × 1,000,000 rows = 1,000 frauds); ≈ 250 MB of features."""
EVAL_SEED_OFFSET = 1_000_003
"""The evaluation set's generator seed is the panel's seed + this: same generator, independent rows."""


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
    parser.add_argument("--lr-decay-to", type=lambda v: None if v.lower() in ("none", "null") else float(v),
                        default=defaults.lr_decay_to, help="final fraction of the learning rate (none: constant)")
    parser.add_argument("--alpha", type=float, default=defaults.alpha)
    parser.add_argument("--min-steps", type=int, default=defaults.min_steps,
                        help="more epochs for small tables until the largest party takes this many steps (0: off)")
    parser.add_argument("--min-batch-size", type=int, default=defaults.min_batch_size,
                        help="smaller batches (down to this) for small tables, the rate scaled with them (0: off)")
    parser.add_argument("--penalty", default=defaults.penalty)
    parser.add_argument("--optimizer", default=defaults.optimizer)
    parser.add_argument("--try", dest="tries", action="append", default=[], metavar="NAME=VALUE,...",
                        help="an extra federated run with these settings changed (repeatable)")
    parser.add_argument("--no-base", action="store_true", help="only the --try runs, not the defaults")
    parser.add_argument("--reuse-tables", action="store_true",
                        help="keep tables already in the engine when their row counts match the prepared files")
    parser.add_argument("--timeout", type=int, default=7200, help="seconds per FATE job")
    parser.add_argument("--panel", action="store_true", help="run the panel of synthetic variants (see above)")
    parser.add_argument("--panel-rows", default="20000,100000,284807", help="comma-separated row counts")
    parser.add_argument("--panel-fraud", default="0.001,0.005,0.02", help="comma-separated fraud shares")
    parser.add_argument("--panel-signal", default="weak,strong", help=f"comma-separated of {sorted(SIGNALS)}")
    parser.add_argument("--panel-parties", default="2,3", help="comma-separated data-party counts (2 or 3)")
    parser.add_argument("--cells", default="",
                        help="panel: exactly these variants instead of the --panel-* product, comma-separated "
                             "rows/fraud/signal/parties (20000/0.001/weak/2), or 'readme' for the README table's")
    parser.add_argument("--seeds", default="",
                        help="panel: comma-separated data seeds (default: --seed); each variant is generated, split "
                             "and trained once per seed, and the summary pools them")
    parser.add_argument("--candidates", default=",".join(CANDIDATES),
                        help=f"panel: which of {sorted(CANDIDATES)} also run beside the defaults (empty: none)")
    parser.add_argument("--no-eval-set", action="store_true",
                        help="panel: skip the independent evaluation set (score the held-out split only)")
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=V1|V2;NAME=V1|V2",
                        help="panel: every combination of these values as extra candidates (repeatable)")
    parser.add_argument("--replay", action="store_true",
                        help="panel: screen the candidates with bench/fedsim.py's replay of FATE's homo-LR "
                             "instead of FATE jobs (seconds instead of minutes; no engine needed)")
    return parser.parse_args(argv)


def runs(base: TrainSettings, tries: list[str], *, with_base: bool = True) -> list[TrainSettings]:
    """``base`` (unless left out) and one run per ``name=value,name=value`` override set."""
    out = [base] if with_base else []
    for spec in tries:
        changes = {}
        for item in spec.split(","):
            name, value = (part.strip() for part in item.split("=", 1))
            changes[name] = _knob_value(getattr(base, name), value)
        out.append(replace(base, **changes))
    return list(dict.fromkeys(out))


def _knob_value(current: object, text: str) -> object:
    """``none``/``null`` for an optional knob (``lr_decay_to=none``: a constant rate); else the knob's type."""
    if text.lower() in ("none", "null"):
        return None
    return float(text) if current is None else type(current)(text)


def grid(specs: list[str]) -> list[str]:
    """``--grid optimizer=adam;epochs=10|30`` → ``--try``-style specs, one per combination."""
    from itertools import product

    out: list[str] = []
    for spec in specs:
        axes = [(name.strip(), values.split("|")) for name, values in
                (item.split("=", 1) for item in spec.split(";") if item.strip())]
        out += [",".join(f"{name}={value}" for (name, _), value in zip(axes, combo, strict=True))
                for combo in product(*(values for _, values in axes))]
    return out


def centralized_scores(train: pd.DataFrame, *tests: pd.DataFrame) -> tuple[list[dict[str, float]], float]:
    """(AUC/KS/AUPRC on each of ``tests``, seconds) of sklearn's LogisticRegression on the pooled prepared
    training rows."""
    from sklearn.linear_model import LogisticRegression

    features = list(schema.FEATURE_COLUMNS)
    started = time.monotonic()
    model = LogisticRegression(max_iter=2000).fit(train[features].to_numpy(), train[schema.LABEL].to_numpy())
    scored = [binary_scores(test[schema.LABEL].to_numpy(), model.predict_proba(test[features].to_numpy())[:, 1])
              for test in tests]
    return scored, time.monotonic() - started


def evaluation_set(variant: Variant, prepared: list[PreparedParty], seed: int) -> pd.DataFrame:
    """The variant's independent evaluation rows, pooled: drawn from the same generator (same fraud share and
    signal, another seed), dealt to the parties stratified on the label, and prepared with *each party's own
    fitted scaler* exactly as its held-out rows are (nothing is refitted on these rows).

    Why: the split's held-out rows of a small rare-fraud variant hold a handful of frauds (20k rows at 0.1 %:
    4), and one fraud's rank moves their AUC by up to 0.25 — a Δ there measures the draw, not the training.
    """
    rows = min(EVAL_MAX_ROWS, math.ceil(EVAL_FRAUDS / variant.fraud))
    frame = generate_creditcard(rows, variant.fraud, seed + EVAL_SEED_OFFSET, separation=SIGNALS[variant.signal])
    rng = np.random.default_rng(seed + EVAL_SEED_OFFSET)
    party = np.empty(len(frame), dtype=np.int64)
    for value in (0, 1):
        members = rng.permutation(np.flatnonzero(frame[schema.LABEL].to_numpy() == value))
        party[members] = np.arange(len(members)) % len(prepared)
    return pd.concat([prepare_rows(frame[party == index], p.scaler) for index, p in enumerate(prepared)],
                     ignore_index=True)


def prepare_pooled(source: Path, federation: Federation, work: Path, seed: int
                   ) -> tuple[list[PreparedParty], pd.DataFrame, pd.DataFrame]:
    """Split + prepare per party as fate_dataset_prepare does; the parties and the pooled train/test rows."""
    parties = data_parties(federation)
    split_by_parties(source, [p.party_id for p in parties], work / "data", seed=seed)
    prepared = [prepare_party(PartyDataDir.for_party(work / "data", p.party_id), seed=seed) for p in parties]
    train = pd.concat([load_prepared(p.train_csv) for p in prepared], ignore_index=True)
    test = pd.concat([load_prepared(p.test_csv) for p in prepared], ignore_index=True)
    print(f"      {len(train)} training rows ({int(train[schema.LABEL].sum())} frauds), {len(test)} held-out rows "
          f"({int(test[schema.LABEL].sum())} frauds), {len(parties)} parties: "
          + ", ".join(f"{p.party_id} {p.train_rows}+{p.test_rows}" for p in prepared))
    return prepared, train, test


def upload_tables(client: FateFlowClient, tables: list[PartyTable], prepared: list[PreparedParty], *,
                  timeout: int, reuse: bool) -> None:
    started = time.monotonic()
    uploaded = 0
    for table in tables:
        party = next(p for p in prepared if p.party_id == table.party_id)
        path = party.train_csv if table.split == "train" else party.test_csv
        if reuse:
            try:
                verify_table(client, table.namespace, table.name, count_rows(path))
                continue
            except TableCheckFailed:
                pass
        upload_and_verify(client, path, table.namespace, table.name, timeout_s=timeout, log=lambda _: None)
        uploaded += 1
    print(f"uploaded {uploaded} of {len(tables)} tables in {time.monotonic() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.panel:
        return panel(args)
    federation = load_federation()
    work = state_dir() / "bench" / "parity"
    source = resolve_source(args.dataset or None, rows=args.rows, fraud_ratio=args.fraud_ratio, seed=args.seed,
                            directory=work / "source")
    print(f"data: {'SYNTHETIC' if source.synthetic else 'user'} {source.path}")
    prepared, train, test = prepare_pooled(Path(source.path), federation, work, args.seed)
    (central,), fit_s = centralized_scores(train, test)
    print(f"centralized  sklearn LogisticRegression (pooled rows):  AUC {central['auc']:.4f}  "
          f"AUPRC {central['average_precision']:.4f}  (fit {fit_s:.1f} s)")
    url = args.engine_url or _local_engine_url()
    tables = party_tables(federation, args.namespace)
    with FateFlowClient(url) as client:
        upload_tables(client, tables, prepared, timeout=args.timeout, reuse=args.reuse_tables)
        for settings in runs(base_settings(args), args.tries, with_base=not args.no_base):
            federated_run(client, federation, tables, settings, args.timeout, central)
    return 0


def base_settings(args: argparse.Namespace) -> TrainSettings:
    return TrainSettings(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                         lr_decay_to=args.lr_decay_to, alpha=args.alpha, penalty=args.penalty, optimizer=args.optimizer,
                         min_steps=args.min_steps, min_batch_size=args.min_batch_size)


@dataclass(frozen=True)
class Variant:
    """One panel dataset: synthetic rows, fraud share, fraud signal and number of data parties."""

    rows: int
    fraud: float
    signal: str
    parties: int
    seed: int = 42

    @property
    def key(self) -> str:
        return f"{self.rows}r_{self.fraud:g}f_{self.signal}_{self.parties}p" + ("" if self.seed == 42 else
                                                                              f"_s{self.seed}")

    def label(self) -> str:
        return (f"{self.rows} rows, {self.fraud:.2%} fraud, {self.signal} signal, {self.parties} parties"
                + ("" if self.seed == 42 else f", seed {self.seed}"))


def panel_variants(args: argparse.Namespace) -> list[Variant]:
    def items(text: str) -> list[str]:
        return [item.strip() for item in text.split(",") if item.strip()]

    seeds = [int(s) for s in items(args.seeds)] or [args.seed]
    if args.cells:
        cells = [cell.split("/") for cell in items(README_CELLS if args.cells == "readme" else args.cells)]
        if any(len(cell) != 4 for cell in cells):
            raise SystemExit("--cells: give rows/fraud/signal/parties, e.g. 20000/0.001/weak/2 (or 'readme')")
        combos = [(int(r), float(f), s, int(n)) for r, f, s, n in cells]
    else:
        combos = [(int(r), float(f), s, int(n)) for n in items(args.panel_parties) for r in items(args.panel_rows)
                  for f in items(args.panel_fraud) for s in items(args.panel_signal)]
    unknown = sorted({c[2] for c in combos} - set(SIGNALS))
    if unknown:
        raise SystemExit(f"unknown signal(s) {unknown}; use {sorted(SIGNALS)}")
    return [Variant(*combo, seed=seed) for combo in combos for seed in seeds]


def panel_federation(parties: int) -> Federation:
    """The local federation with ``parties`` data parties (a third bank, 10001, joins as a second host)."""
    path, data = read_config_yaml(None, default=DEFAULT_FEDERATION_FILE, what="federation config file")
    hosts = [p for p in data["parties"] if "host" in p["roles"]]
    for extra in range(parties - 1 - len(hosts)):
        template = dict(hosts[0])
        data["parties"].append({**template, "party_id": 10001 + extra, "name": f"bank-{chr(ord('c') + extra)}"})
    return parse_federation(data, source=f"{path.name} + {parties - 1 - len(hosts)} host(s)")


def panel(args: argparse.Namespace) -> int:
    """Every variant × candidate setting; one line each as it finishes, then the whole table and, per
    candidate, its worst and mean Δ AUC over the variants (what the defaults are chosen on)."""
    named = [name.strip() for name in args.candidates.split(",") if name.strip()]
    if set(named) - set(CANDIDATES):
        raise SystemExit(f"--candidates: unknown {sorted(set(named) - set(CANDIDATES))}; use {sorted(CANDIDATES)}")
    candidates = runs(base_settings(args), [*(CANDIDATES[n] for n in named), *args.tries, *grid(args.grid)],
                      with_base=not args.no_base)
    rows: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        client = None if args.replay else stack.enter_context(FateFlowClient(args.engine_url or _local_engine_url()))
        for variant in panel_variants(args):
            federation = panel_federation(variant.parties)
            work = state_dir() / "bench" / "panel" / variant.key
            source = work / "source" / "creditcard.csv"
            frame = generate_creditcard(variant.rows, variant.fraud, variant.seed, separation=SIGNALS[variant.signal])
            write_if_changed(source, creditcard_csv_bytes(frame))
            print(f"== variant {variant.label()}")
            prepared, train, test = prepare_pooled(source, federation, work, variant.seed)
            evaluation = None if args.no_eval_set else evaluation_set(variant, prepared, variant.seed)
            centrals, _ = centralized_scores(train, test, *([] if evaluation is None else [evaluation]))
            central = {"split": centrals[0], "eval": centrals[1] if len(centrals) > 1 else None}
            print(f"centralized  AUC {_pair(central, 'auc')}  AUPRC {_pair(central, 'average_precision')}"
                  + ("" if evaluation is None else
                     f"   (held-out split | independent set of {len(evaluation)} rows, "
                     f"{int(evaluation[schema.LABEL].sum())} frauds)"))
            if client is None:
                for settings in candidates:
                    done = replayed_run(prepared, test, evaluation, settings, central, variant.seed)
                    rows.append({"variant": variant, "settings": settings, "central": central, **done})
                continue
            tables = party_tables(federation, f"panel_{variant.key}".replace(".", "_"))
            upload_tables(client, tables, prepared, timeout=args.timeout, reuse=True)
            try:
                for settings in candidates:
                    done = federated_run(client, federation, tables, settings, args.timeout, central["split"],
                                         evaluation=evaluation, held_out=test)
                    done["federated"] = {"split": done["federated"], "eval": done.pop("eval", None)}
                    rows.append({"variant": variant, "settings": settings, "central": central, **done})
            finally:
                for table in tables:
                    client.table_delete(table.namespace, table.name)
    print_panel(rows)
    print_summary(rows)
    return 0


def replayed_run(prepared: list[PreparedParty], test: pd.DataFrame, evaluation: pd.DataFrame | None,
                 settings: TrainSettings, central: dict[str, Any], seed: int) -> dict[str, Any]:
    """bench/fedsim.py's replay of the federated job on the same prepared party rows, scored on the held-out
    rows and on the independent evaluation set."""
    import fedsim

    features = list(schema.FEATURE_COLUMNS)
    parts = [(frame[features].to_numpy(), frame[schema.LABEL].to_numpy())
             for frame in (load_prepared(p.train_csv) for p in prepared)]
    started = time.monotonic()
    train_rows = max(len(labels) for _, labels in parts)
    knobs = settings.homo_lr_kwargs(train_rows=train_rows)
    weights = fedsim.train(parts, fedsim.setting_of(knobs), seed=seed)
    federated = {name: None if frame is None else
                 binary_scores(frame[schema.LABEL].to_numpy(), fedsim.scores(weights, frame[features].to_numpy()))
                 for name, frame in (("split", test), ("eval", evaluation))}
    print(f"replayed     ({knob_text(settings)}; {knobs['epochs']} epochs × batch {knobs['batch_size']} at lr "
          f"{knobs['learning_rate']:.3g}, {settings.steps(train_rows)} steps):  "
          f"AUC {_pair(federated, 'auc')}  AUPRC {_pair(federated, 'average_precision')}  "
          f"Δ AUC {_pair(federated, 'auc', central)}")
    sys.stdout.flush()
    return {"federated": federated, "seconds": time.monotonic() - started, "how": "replay",
            **_plan(settings, train_rows)}


def _plan(settings: TrainSettings, train_rows: int) -> dict[str, int]:
    """What a job really runs at the largest party's ``train_rows``: epochs, batch, steps (the table shows them)."""
    return {"epochs": settings.epochs_for(train_rows), "batch": settings.batch_for(train_rows),
            "steps": settings.steps(train_rows)}


def _pair(scores: dict[str, Any], metric: str, minus: dict[str, Any] | None = None) -> str:
    """``split | eval`` values of ``metric`` (differences from ``minus`` when given)."""
    def one(name: str) -> str:
        if scores.get(name) is None:
            return "—"
        if minus is None:
            return f"{scores[name][metric]:.4f}"
        return f"{scores[name][metric] - minus[name][metric]:+.4f}"

    return f"{one('split')} | {one('eval')}"


def print_panel(rows: list[dict[str, Any]]) -> None:
    """The panel as a Markdown table (what the README shows): both measures, the held-out split's and the
    independent evaluation set's, side by side."""
    print("\n| variant | setting | epochs × batch (steps) | AUC central split | Δ AUC split | AUC central eval set | "
          "Δ AUC eval set | AUPRC central eval set | AUPRC federated eval set | FATE job s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        central, federated = row["central"], row["federated"]
        wall = "replay" if row.get("how") == "replay" else f"{row['seconds']:.0f}"
        evaluated = federated.get("eval") is not None and central.get("eval") is not None
        print(f"| {row['variant'].label()} | {knob_text(row['settings'])} | "
              f"{row.get('epochs', '')} × {row.get('batch', '')} ({row.get('steps', '')}) | "
              f"{central['split']['auc']:.4f} | {_delta(row, 'auc', 'split'):+.4f} | "
              + (f"{central['eval']['auc']:.4f} | {_delta(row, 'auc', 'eval'):+.4f} | "
                 f"{central['eval']['average_precision']:.4f} | {federated['eval']['average_precision']:.4f} | "
                 if evaluated else "— | — | — | — | ") + f"{wall} |")


def print_summary(rows: list[dict[str, Any]]) -> None:
    """Per candidate over the variants it ran on: on each measure, worst and mean Δ AUC, variants within 0.005."""
    by: dict[TrainSettings, list[dict[str, Any]]] = {}
    for row in rows:
        by.setdefault(row["settings"], []).append(row)
    print("\n| setting | variants | measure | within 0.005 AUC | worst Δ AUC | mean Δ AUC | worst Δ AUPRC | "
          "mean Δ AUPRC |")
    print("|---|---|---|---|---|---|---|---|")
    for settings, runs_ in by.items():
        for measure in ("split", "eval"):
            scored = [r for r in runs_ if r["federated"].get(measure) is not None and r["central"].get(measure)]
            if not scored:
                continue
            auc = [_delta(r, "auc", measure) for r in scored]
            ap = [_delta(r, "average_precision", measure) for r in scored]
            print(f"| {knob_text(settings)} | {len(scored)} | {measure} | {sum(d >= -0.005 for d in auc)} | "
                  f"{min(auc):+.4f} | {np.mean(auc):+.4f} | {min(ap):+.4f} | {np.mean(ap):+.4f} |")


def _delta(row: dict[str, Any], metric: str, measure: str) -> float:
    return float(row["federated"][measure][metric] - row["central"][measure][metric])


def knob_text(settings: TrainSettings) -> str:
    return ", ".join(f"{k} {v}" for k, v in settings.as_dict().items() if k != "threshold")


def federated_run(client: FateFlowClient, federation: Federation, tables: list[PartyTable],
                  settings: TrainSettings, timeout: int, central: dict[str, float], *,
                  evaluation: pd.DataFrame | None = None, held_out: pd.DataFrame | None = None) -> dict[str, Any]:
    """One training job on the uploaded tables; its pooled held-out AUC/AUPRC against the centralized ones.

    With ``evaluation`` (prepared rows), FATE's trained model — its weights read back from the guest — also
    scores those rows here in NumPy (``eval``): uploading a million rows and scoring them through FATE would
    cost far more than the job. The same weights re-score the held-out rows to show they reproduce FATE's
    own scores (AUC printed beside FATE's)."""
    started = time.monotonic()
    train_rows = max(_table_rows(client, t) for t in tables if t.split == "train")
    submitted = client.submit_job(train_job(federation, tables, settings, timeout_s=timeout, train_rows=train_rows))
    outcome = wait_for_job(client, submitted.job_id, timeout_s=timeout, poll_s=3.0, log=lambda _: None)
    outcome.raise_for_status()
    seconds = time.monotonic() - started
    result = collect_train_result(client, federation, job_id=submitted.job_id, model_id=submitted.model_id,
                                  model_version=submitted.model_version, settings=settings)
    scored = pd.concat([download_scores(client, submitted.job_id, str(data_role(p)), p.party_id, task_name=TEST_TASK)
                        for p in data_parties(federation)], ignore_index=True)
    federated = binary_scores(scored[schema.LABEL].astype("int64").to_numpy(), scored["predict_score"].to_numpy())
    evaluated = None
    if evaluation is not None:
        guest = federation.guest
        weights = fate_weights(client.query_model(submitted.job_id, str(data_role(guest)), guest.party_id,
                                                  MODEL_TASK))
        evaluated = _weights_scores(weights, evaluation)
        check = "" if held_out is None else f", its weights re-score the held-out rows: AUC " \
            f"{_weights_scores(weights, held_out)['auc']:.4f}"
        print(f"             FATE's model on the independent set ({len(evaluation)} rows): AUC {evaluated['auc']:.4f}  "
              f"AUPRC {evaluated['average_precision']:.4f}{check}")
    print(f"federated    FATE homo-LR ({knob_text(settings)}):  AUC {federated['auc']:.4f}  "
          f"AUPRC {federated['average_precision']:.4f}  "
          f"(job {submitted.job_id}, {seconds:.0f} s; FATE's guest-only evaluation {result.auc:.4f})")
    print(f"             delta federated − centralized: AUC {federated['auc'] - central['auc']:+.4f}   "
          f"AUPRC {federated['average_precision'] - central['average_precision']:+.4f}   "
          f"ratio federated / centralized AUC: {federated['auc'] / central['auc']:.4f}")
    sys.stdout.flush()
    return {"federated": federated, "seconds": seconds, "job_id": submitted.job_id, "how": "FATE", "eval": evaluated,
            **_plan(settings, train_rows)}


def fate_weights(model: dict[str, Any]) -> np.ndarray:
    """The homo-LR weights (bias last) from the guest's ``query_model`` JSON: FATE 2.2's ``HomoLRModel``
    keeps ``models.0.weight`` / ``models.0.bias`` in ``param.model.state_dict`` (lists)."""
    found = _find_key(model, "state_dict")
    if not isinstance(found, dict):
        raise SystemExit(f"no state_dict in FATE's model output (keys: {sorted(model)[:10]})")
    weight = np.asarray(found["models.0.weight"], dtype=np.float64).ravel()
    bias = np.asarray(found["models.0.bias"], dtype=np.float64).ravel()
    return np.concatenate([weight, bias])


def _find_key(tree: Any, key: str) -> Any:
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        tree = list(tree.values())
    if isinstance(tree, list):
        for item in tree:
            found = _find_key(item, key)
            if found is not None:
                return found
    return None


def _weights_scores(weights: np.ndarray, frame: pd.DataFrame) -> dict[str, float]:
    import fedsim

    return binary_scores(frame[schema.LABEL].to_numpy(),
                         fedsim.scores(weights, frame[list(schema.FEATURE_COLUMNS)].to_numpy()))


def _table_rows(client: FateFlowClient, table: PartyTable) -> int:
    info = client.table_query(table.namespace, table.name)
    if info is None:
        raise SystemExit(f"{table.uri}: not in FATE (was the upload skipped?)")
    return info.count


def _local_engine_url() -> str:
    from fateops.engine import LocalEngine

    engine = LocalEngine()
    return engine.start(timeout_s=300).url


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
