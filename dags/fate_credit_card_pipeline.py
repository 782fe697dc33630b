"""fate_credit_card_pipeline — the seed's whole walkthrough in one run: bootstrap → federate → prepare →
train → predict → report."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import TaskGroup, dag

from fateops.airflow.defaults import TAGS_BASE
from fateops.airflow.federation_stages import bootstrap_params, bootstrap_stage, federate_params, federate_stage
from fateops.airflow.kubernetes import validate_federation
from fateops.airflow.pipeline_common import PIPELINE_DEFAULT_ARGS
from fateops.airflow.pipeline_params import (
    common_params,
    dataset_params,
    merged,
    predict_params,
    sectioned,
    table_params,
    train_params,
)
from fateops.airflow.predict_stage import pipeline_predict_params, predict_stage, report
from fateops.airflow.prepare_stage import prepare_stage
from fateops.airflow.train_stage import train_stage

DOC = """
### The federated credit-card pipeline, end to end

European card-holders' transactions split between two banks (guest 9999, host 10000), a fraud model trained
across both without either bank's rows leaving it, then scored. Each stage is a task group built by the same
code as its standalone DAG, so a stage behaves here exactly as it does alone. Training starts only when
the tables are uploaded *and* the toy example proved the parties federate:

| group | what it does | standalone DAG |
|---|---|---|
| **bootstrap** | every party's FATE installed/started and serving | `fate_party_bootstrap` |
| **federate** | parties routed to each other; toy example per guest/host pair | `fate_exchange_federate` |
| **prepare** | dataset (yours or SYNTHETIC) → split → per-party preprocessing → Great Expectations gate → upload → verify → Asset events; the data steps run beside bootstrap/federate, the uploads wait for bootstrap | `fate_dataset_prepare` |
| **train** | homo LR + evaluation on held-out rows → metrics → model registry (promotion rule) | `fate_train` |
| **predict** | promoted (or given) model scores each party's table; each party keeps its predictions | `fate_predict` |
| **report** | `report.json` + `report.png`; the log prints their paths, AUC, AUPRC, recall at the decision threshold and every FATE job id | |

Trigger it from the UI (Params form), or over the REST API:

```
curl -X POST http://127.0.0.1:8080/api/v2/dags/fate_credit_card_pipeline/dagRuns \\
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
  -d '{"logical_date": null, "conf": {"rows": 50000}}'
```
"""


@dag(
    dag_id="fate_credit_card_pipeline",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args=PIPELINE_DEFAULT_ARGS,
    tags=[*TAGS_BASE, "credit-card", "pipeline"],
    doc_md=DOC,
    params=merged(sectioned("Federation & deadlines", common_params(), bootstrap_params(), federate_params()),
                  sectioned("Data", table_params(), dataset_params()),
                  sectioned("Training", train_params()),
                  sectioned("Prediction", predict_params(), pipeline_predict_params())),
    dagrun_timeout=timedelta(hours=8),
)
def fate_credit_card_pipeline() -> None:
    parties = validate_federation()
    with TaskGroup("bootstrap") as bootstrap:
        bootstrap_stage(parties)
    with TaskGroup("federate") as federate:
        federate_stage(parties)
    with TaskGroup("prepare"):
        # the data steps need no engine: they run beside bootstrap and federate; only the uploads wait
        prepared = prepare_stage(parties, before_upload=bootstrap)
    with TaskGroup("train") as train:
        training = train_stage(prepared)
    with TaskGroup("predict"):
        model, predictions = predict_stage(training)
    bootstrap >> federate >> train  # no training before the parties proved they federate (toy example)
    report(model, predictions, training=training, prepared=prepared)


fate_credit_card_pipeline()
