"""fate_predict — score every party's table with the promoted (or a given) model; predictions + report."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag

from fateops.airflow.defaults import TAGS_BASE
from fateops.airflow.kubernetes import validate_federation
from fateops.airflow.pipeline_common import PIPELINE_DEFAULT_ARGS
from fateops.airflow.pipeline_params import common_params, merged, predict_params, table_params
from fateops.airflow.predict_stage import predict_stage, report

DOC = """
### Predict with the federated model

The seed's *Prediction*: a FATE predict job with a trained model, then the scores are downloaded.

1. **validate_federation**, then **choose_model** — the registry's promoted model, or the one given by the
   `model_id` / `model_version` Params.
2. **plan_prediction** → **submit_prediction** → **wait_prediction** — FATE scores every data party's
   `predict_split` table (default: the held-out test rows) in that party's place; the job evaluates the
   scores when the table is labelled.
3. **download_predictions** (mapped per party) — each party's scores go to *its own*
   `<data_dir>/<party_id>/predictions/<run>/predictions.csv` (`id`, `Class`, `predict_score`,
   `predicted_fraud` at the decision threshold) with `predictions.summary.json` (rows, predicted frauds,
   AUC, AUPRC, precision, recall and confusion counts at the threshold). The threshold is the one chosen
   on the model's training rows and recorded with it (`decision_threshold` overrides it; 0.5 for a model
   without one).
4. **report** — `<reports_dir>/<run>/report.json` and `report.png` (ROC curve, precision-recall curve and
   score histogram of the guest's rows); its log prints both paths, AUC, AUPRC, recall and precision at
   the threshold, and every FATE job id.
"""


@dag(
    dag_id="fate_predict",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args=PIPELINE_DEFAULT_ARGS,
    tags=[*TAGS_BASE, "credit-card", "predict"],
    doc_md=DOC,
    params=merged(common_params(), table_params(), predict_params()),
    dagrun_timeout=timedelta(hours=6),
)
def fate_predict() -> None:
    model, predictions = predict_stage(validate_federation())
    report(model, predictions)


fate_predict()
