"""Where MLflow lives: the embedded SQLite store under the state dir, or a shared tracking server.

Embedded (the default, nothing to start): ``sqlite:///<state>/mlflow/mlflow.db`` for runs and the
model registry, artifacts under ``<state>/mlflow/artifacts``. Shared (Airflow on several workers): a
tracking URI, from ``MLFLOW_TRACKING_URI`` or an Airflow connection the Airflow layer resolves and
passes in. Every call to a server carries MLflow's own HTTP timeout and retries with backoff; the
values below are ours, set only when the environment has not chosen them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from fateops.exceptions import FateopsError
from fateops.paths import state_dir

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

T = TypeVar("T")

#: MLflow's HTTP settings for a tracking server: per-request timeout (s), retries, backoff factor.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "30", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "5",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "1"}


class TrackingUnavailable(FateopsError):
    """The MLflow tracking store could not be reached or refused a call: transient, the task retries."""

    default_fix = "check the MLflow tracking server is up (or fix its Airflow connection / MLFLOW_TRACKING_URI)"


@dataclass(frozen=True)
class TrackingLocation:
    """A tracking URI and, for the embedded store, where artifacts go (a server decides its own)."""

    uri: str
    artifact_root: Path | None = None

    @property
    def embedded(self) -> bool:
        return self.uri.startswith("sqlite:")

    def experiment_artifacts(self, experiment: str) -> str | None:
        """The artifact location of a new experiment: under our dir for the embedded store."""
        return (self.artifact_root / experiment).as_uri() if self.artifact_root else None

    def run_url(self, experiment_id: str, run_id: str, ui_url: str | None = None) -> str:
        """Where to look at a run: the server's UI, or the embedded store's UI when one is running."""
        base = ui_url or (None if self.embedded else self.uri)
        if base is None:
            return f"{self.uri} (experiment {experiment_id}, run {run_id}; `mlflow ui --backend-store-uri {self.uri}`)"
        return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def embedded_location(root: Path | None = None) -> TrackingLocation:
    """SQLite + a local artifact dir under ``root`` (default ``<state dir>/mlflow``)."""
    root = (root or state_dir() / "mlflow").resolve()
    return TrackingLocation(uri=f"sqlite:///{root / 'mlflow.db'}", artifact_root=root / "artifacts")


def location(uri: str | None = None) -> TrackingLocation:
    """The given URI, else ``MLFLOW_TRACKING_URI``, else the embedded store."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        return embedded_location()
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///"))
        return TrackingLocation(uri=uri, artifact_root=db.parent / "artifacts")
    return TrackingLocation(uri=uri)


def client(where: TrackingLocation) -> MlflowClient:
    """An MLflow client for runs and the registry at ``where`` (creates the embedded store on first use)."""
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if where.artifact_root is not None:
        where.artifact_root.mkdir(parents=True, exist_ok=True)
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=where.uri, registry_uri=where.uri)


def guarded(where: TrackingLocation, what: str, call: Callable[[], T]) -> T:
    """Run ``call``; any MLflow/connection failure becomes :class:`TrackingUnavailable` naming the URI.

    MLflow has already retried with backoff (``HTTP_DEFAULTS``) by then; Airflow's task retries are
    the next layer, and the FATE model is safe in FATE meanwhile.
    """
    try:
        return call()
    except FateopsError:
        raise
    except Exception as exc:  # MlflowException, requests' ConnectionError, sqlite errors …
        raise unavailable(where, what, exc) from exc


def unavailable(where: TrackingLocation, what: str, exc: Exception) -> TrackingUnavailable:
    """The error for a failed MLflow call: names the URI, the step and the cause."""
    return TrackingUnavailable(f"MLflow at {where.uri}: {what} failed: {type(exc).__name__}: {exc}")
