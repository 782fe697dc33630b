"""fate_train — federated homo-LR training with evaluation, recorded in the model registry (the seed's job)."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag

from fateops.airflow.defaults import TAGS_BASE
from fateops.airflow.kubernetes import validate_federation
from fateops.airflow.pipeline_common import PIPELINE_DEFAULT_ARGS
from fateops.airflow.pipeline_params import common_params, merged, table_params, train_params
from fateops.airflow.train_stage import train_stage

DOC = """
### Train the fraud model across the parties

The seed's *Job Definition and Submission*, on the tables `fate_dataset_prepare` uploaded:

1. **validate_federation**, then **check_tables** — every data party's train and test table exists.
2. **plan_training** → **submit_training** — FATE 2.2 `reader` → `homo_lr` (guest and hosts train locally,
   the arbiter averages) → `evaluation` (binary: AUC, KS, precision, recall, accuracy) on the training rows
   *and* on each party's held-out test table. Hyper-parameters are Params, chosen on `bench/parity.py
   --panel` (README, "Training defaults"): L2 penalty 1e-5, SGD, batch size 100, the seed's 5 epochs
   (max_iter) — raised on small tables until the largest party takes `min_steps` (5,700, the full-size
   job's own count; at most 100 epochs; empty or 0 = exactly `epochs`), and a small table's batches cut
   (down to `min_batch_size`, 25) so each epoch takes the full-size job's 1,140 steps, its first rate
   scaled with the batch (batch ÷ 100: the same rate per row) — and learning rate 1.0 decaying linearly
   to `lr_decay_to` (0.02) of itself over the job's steps (sized from the tables' row counts; empty =
   constant). The full-size job runs exactly 5 epochs × 1,140 batches of 100. The FATE job's own timeout
   is `job_timeout_s`.
   Submitting is never retried (a retry could start a second job).
3. **wait_training** — deferrable: the wait costs no worker slot; past `sensor_timeout_s` the job is stopped.
4. **collect_metrics** — every party's evaluation to XCom; the headline is the guest's held-out AUC/KS,
   plus its **AUPRC** (average precision; FATE's evaluation has none, so the guest's scored rows are read
   back) and a **decision threshold** chosen on the guest's *training* rows: best F1, or the highest
   threshold reaching `target_recall`. Precision, recall and confusion counts at that threshold on the
   held-out rows are logged and kept.
5. **register_model** — the model (FATE `model_id`/`model_version`) goes into the registry with its AUC,
   KS, AUPRC and decision threshold; it is **promoted** when its AUC ≥ `auc_threshold`, not worse than
   the promoted model by more than `auc_tolerance`, and (if `auprc_threshold` is set) its AUPRC reaches
   that. `fate_predict` uses the promoted model and its threshold by default.
"""


@dag(
    dag_id="fate_train",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args=PIPELINE_DEFAULT_ARGS,
    tags=[*TAGS_BASE, "credit-card", "train"],
    doc_md=DOC,
    params=merged(common_params(), table_params(), train_params()),
    dagrun_timeout=timedelta(hours=6),
)
def fate_train() -> None:
    train_stage(validate_federation())


fate_train()
