"""fate_dataset_prepare — every party's credit-card tables, validated, in FATE (the seed's data steps)."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag

from fateops.airflow.defaults import TAGS_BASE
from fateops.airflow.kubernetes import validate_federation
from fateops.airflow.pipeline_common import PIPELINE_DEFAULT_ARGS
from fateops.airflow.pipeline_params import common_params, dataset_params, merged, table_params
from fateops.airflow.prepare_stage import prepare_stage

DOC = """
### Prepare, validate and upload every party's data

The seed's *split the dataset into two halves → preprocess → upload to the FLC*, one run for every party:

1. **validate_federation** — the federation config is checked before anything is touched.
2. **source_dataset** — the `dataset_path` Param's Kaggle-format `creditcard.csv` (quoted headers/labels
   accepted; also gzipped, `.csv.gz`, or Kaggle's download as it comes, a `.zip` holding one CSV), or, when empty, a seeded **SYNTHETIC** dataset of the same schema (`rows`, `fraud_ratio`, `seed`).
3. **split_dataset** — stratified on `Class`, seeded; each party's slice goes to *its own*
   `<data_dir>/<party_id>/raw/`. The source is read strictly first: a bad file fails here naming line,
   column and fix; a file that is not UTF-8 text (a binary, a Latin-1 export) fails naming the byte offset.
   These are data errors: failed at once, never retried.
4. **prepare** (mapped per party) — RobustScaler on Amount and Time → `Scaled_Amount`, `Scaled_Time`, an
   `id` per row, a held-out test split; the scaler sees only that party's training rows.
5. **validate** (mapped per party) — the Great Expectations suite `include/configs/expectations/creditcard_party.json`
   on the party's train and test tables; the full result is kept under `<reports_dir>/<run>/validation/`.
6. **validation_gate** — runs only if *every* party passed: a failure anywhere means **nothing is uploaded**.
7. **upload_table** / **wait_upload** / **verify_table** (mapped per table) — FATE upload, awaited by the
   deferrable sensor, then the table's row count and schema are checked and an Asset event
   `fate://<namespace>/<name>` is published (this triggers `fate_retrain`).
8. **tables_ready** — the tables and their upload jobs.

Tables: `<namespace>/<table_name_template>`, by default `experiment/creditcard_<party_id>_<train|test>`.
"""


@dag(
    dag_id="fate_dataset_prepare",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args=PIPELINE_DEFAULT_ARGS,
    tags=[*TAGS_BASE, "credit-card", "data"],
    doc_md=DOC,
    params=merged(common_params(), table_params(), dataset_params()),
    dagrun_timeout=timedelta(hours=3),
)
def fate_dataset_prepare() -> None:
    prepare_stage(validate_federation())


fate_dataset_prepare()
