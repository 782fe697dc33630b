"""MLflow tracking and model registry: every training and prediction run, and which model is champion.

No Airflow imports: :mod:`fateops.airflow` resolves the tracking URI (connection or environment) and
the Airflow ids, and hands them in.

* :mod:`~fateops.tracking.store` — where MLflow lives (embedded SQLite or a server), timeouts, errors;
* :mod:`~fateops.tracking.registry` — ``<federation>-fraud`` versions, our promotion rule, the alias;
* :mod:`~fateops.tracking.runs` — the training and prediction runs (params, metrics, lineage, artifacts).
"""

from fateops.tracking.registry import CHAMPION, MlflowModelRegistry, model_name
from fateops.tracking.runs import AirflowIds, log_prediction_run, log_training_run
from fateops.tracking.store import TrackingLocation, TrackingUnavailable, client, embedded_location, location

__all__ = ["CHAMPION", "AirflowIds", "MlflowModelRegistry", "TrackingLocation", "TrackingUnavailable", "client",
           "embedded_location", "location", "log_prediction_run", "log_training_run", "model_name"]
