"""fate_retrain — retrain the fraud model weekly and whenever every party has uploaded fresh tables."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import AssetOrTimeSchedule, dag, task

from fateops.airflow.assets import fresh_party_data
from fateops.airflow.defaults import TAGS_BASE
from fateops.airflow.kubernetes import validate_federation
from fateops.airflow.pipeline_common import PIPELINE_DEFAULT_ARGS
from fateops.airflow.pipeline_params import common_params, merged, table_params, train_params
from fateops.airflow.retrain_schedule import retrain_timetable
from fateops.airflow.train_stage import train_stage

TIMETABLE = retrain_timetable()

DOC = f"""
### Retrain on a schedule and on fresh data

The same train stage as `fate_train` (check tables → homo LR + evaluation → metrics → registry with the
promotion rule), started automatically:

* **on a schedule** — `{TIMETABLE.expression if TIMETABLE else "none"}` (default `@weekly`); set the Airflow Variable
  `fateops_retrain_schedule` *as an environment variable* (`AIRFLOW_VAR_FATEOPS_RETRAIN_SCHEDULE`, read when the
  file is parsed, no database access) or `FATEOPS_RETRAIN_SCHEDULE` to a cron expression or preset
  (`@daily`), or to `none` for data-triggered runs only;
* **on fresh data** — when *every* party table `fate://experiment/creditcard_<party_id>_<train|test>` has
  received an Asset event, i.e. `fate_dataset_prepare` (or the pipeline) uploaded and verified all of them.

A retrained model replaces the promoted one only if the registry's rule agrees (`auc_threshold`,
`auc_tolerance`), so a bad batch of data never silently degrades predictions.
"""


@task(retries=0)
def retrain_summary(registered: dict[str, Any], triggering_asset_events: Any = None) -> dict[str, Any]:
    """Why this run started and what came of it."""
    events = {str(asset.uri): len(evs) for asset, evs in (triggering_asset_events or {}).items()}
    print("triggered by " + (", ".join(f"{uri} ({n} event(s))" for uri, n in sorted(events.items()))
                             if events else "the schedule or by hand"))
    print(f"FATE training job {registered['job_id']}: {registered['decision']}")
    return {**registered, "triggered_by": events}


@dag(
    dag_id="fate_retrain",
    schedule=AssetOrTimeSchedule(timetable=TIMETABLE, assets=fresh_party_data()) if TIMETABLE else fresh_party_data(),
    catchup=False,
    max_active_runs=1,
    default_args=PIPELINE_DEFAULT_ARGS,
    tags=[*TAGS_BASE, "credit-card", "train", "retrain"],
    doc_md=DOC,
    params=merged(common_params(), table_params(), train_params()),
    dagrun_timeout=timedelta(hours=6),
)
def fate_retrain() -> None:
    retrain_summary(train_stage(validate_federation()))


fate_retrain()
