"""Airflow glue for MLflow: which tracking store a task uses, and the Airflow ids a run is tagged with.

Shared use (Airflow on many workers): an Airflow connection ``mlflow_default`` (type http; host, port,
schema http/https) or ``MLFLOW_TRACKING_URI`` names the tracking server. Otherwise every task uses
the embedded SQLite store under the state dir. ``FATEOPS_MLFLOW_UI_URL`` (``make demo`` sets it) is
where the task log's run links point when the store is embedded.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fateops.federation import Federation
    from fateops.registry import ModelRegistry
    from fateops.tracking import AirflowIds, MlflowModelRegistry, TrackingLocation

MLFLOW_CONN_ID = "mlflow_default"


def tracking_location() -> TrackingLocation:
    """The ``mlflow_default`` connection's server if it exists, else ``MLFLOW_TRACKING_URI``, else embedded."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from fateops.tracking import location

    try:
        conn = BaseHook.get_connection(MLFLOW_CONN_ID)
    except AirflowNotFoundException:
        return location()
    scheme = conn.schema or "http"
    port = f":{conn.port}" if conn.port else ""
    return location(f"{scheme}://{conn.host}{port}")


def ui_url() -> str | None:
    """Where a person looks at runs (a server's own URL is its UI; the embedded store needs ``mlflow ui``)."""
    return os.environ.get("FATEOPS_MLFLOW_UI_URL") or None


def airflow_ids() -> AirflowIds:
    """The running task's dag/run/task ids and try number."""
    from airflow.sdk import get_current_context

    from fateops.tracking import AirflowIds

    ti = get_current_context()["ti"]
    return AirflowIds(dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, try_number=ti.try_number)


def model_registry(federation: Federation, legacy: ModelRegistry | None = None,
                   **kwargs: object) -> MlflowModelRegistry:
    """The federation's MLflow registry; this federation's records of a JSON registry left by an older
    fateops are moved into it once (the other federations' stay in the file for their own first run)."""
    from fateops.pipeline.tables import data_parties
    from fateops.tracking import MlflowModelRegistry

    registry = MlflowModelRegistry(tracking_location(), federation.name, **kwargs)  # type: ignore[arg-type]
    if legacy is not None and legacy.path.is_file():
        parties = [p.party_id for p in data_parties(federation)]
        added, left = registry.migrate(legacy, parties)
        where = f"{legacy.path} ({left} record(s) of other federations left there)" if left else \
            f"{legacy.path} (now {legacy.path.name}.migrated)"
        print(f"migrated {added} model(s) of parties {parties} from {where} into {registry.path}")
    return registry
