"""The MLflow registry and runs against a real ``mlflow server`` on 127.0.0.1, reached through the
``mlflow_default`` Airflow connection (the shared-use path: Airflow on several workers)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from fateops.airflow.tracking import tracking_location
from fateops.localstack.mlflow import MlflowServer
from fateops.pipeline.predicting import choose_model
from fateops.registry import PromotionRule
from fateops.tracking import MlflowModelRegistry, client, embedded_location, log_training_run

pytestmark = [pytest.mark.timeout(900)]

PORTS = range(5990, 6000)  # the tests' MLflow ports (127.0.0.1 only)


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    pytest.skip(f"no free MLflow test port in {PORTS.start}–{PORTS.stop - 1}")


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("mlflow-server")
    server = MlflowServer(port=_free_port(), store=embedded_location(home / "store"), home=home)
    try:
        yield server.start(timeout_s=600)
    finally:
        server.stop()


def test_runs_and_registry_through_the_connection(mlflow_server: str, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", f'{{"conn_type": "http", "host": "127.0.0.1", '
                                                      f'"port": {mlflow_server.rsplit(":", 1)[1]}}}')
    where = tracking_location()
    assert where.uri == mlflow_server and not where.embedded
    mlflow = client(where)
    report = tmp_path / "report.json"
    report.write_text('{"auc": 0.95}')
    result = {"job_id": "job-a", "model_id": "m-a", "model_version": "0", "parties": {},
              "headline": {"auc": 0.95, "ks": 0.8}, "settings": {"max_iter": 3},
              "fraud": {"average_precision": 0.7, "decision_threshold": 0.3}}
    run = log_training_run(mlflow, where, federation="fed-server", result=result,
                           tables=[{"uri": "fate://ns/t", "rows": 10}], artifacts=[report])
    assert run.url == f"{mlflow_server}/#/experiments/{run.experiment_id}/runs/{run.run_id}"
    assert mlflow.get_run(run.run_id).data.metrics["auc"] == 0.95
    assert "report.json" in {a.path for a in mlflow.list_artifacts(run.run_id)}  # proxied by the server

    registry = MlflowModelRegistry(where, "fed-server", rule=PromotionRule(threshold=0.9, tolerance=0.01))
    for _ in range(2):  # the second is a retried task: still one version
        first = registry.record(model_id="m-a", model_version="0", job_id="job-a", auc=0.95, ks=0.8,
                                run_id=run.run_id, decision_threshold=0.3)
    assert first.was_promoted and len(registry.history()) == 1
    worse = registry.record(model_id="m-b", model_version="0", job_id="job-b", auc=0.91, ks=0.7)
    assert not worse.was_promoted
    chosen = choose_model(registry)
    assert (chosen.model_id, chosen.source, chosen.decision_threshold) == ("m-a", "promoted", 0.3)
    assert str(registry.champion_version().run_id) == run.run_id
