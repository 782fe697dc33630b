"""MLflow tracking and registry on the embedded SQLite store (the real MLflow library, no mocks).

One store for the module (creating MLflow's schema is the slow part); each test uses its own
federation, so its own experiment and registered model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fateops.registry import ModelRegistry, PromotionRule, RegistryError
from fateops.tracking import (
    CHAMPION,
    AirflowIds,
    MlflowModelRegistry,
    TrackingUnavailable,
    client,
    embedded_location,
    location,
    log_prediction_run,
    log_training_run,
)
from fateops.tracking.store import TrackingLocation

RULE = PromotionRule(threshold=0.9, tolerance=0.01)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    where = embedded_location(tmp_path_factory.mktemp("mlflow"))
    return where, client(where)


def _registry(store, federation: str) -> MlflowModelRegistry:
    where, mlflow = store
    return MlflowModelRegistry(where, federation, rule=RULE, mlflow=mlflow)


def _record(registry: MlflowModelRegistry, n: int, auc: float, **extra: object):
    return registry.record(model_id=f"m{n}", model_version="0", job_id=f"job{n}", auc=auc, ks=auc / 2,
                           params={"max_iter": 5}, dataset={"tables": [{"uri": "fate://x", "rows": 10}]},
                           average_precision=0.7, decision_threshold=0.3, **extra)


def _result(job_id: str = "202611290001") -> dict:
    return {"job_id": job_id, "model_id": "model_a", "model_version": "0",
            "parties": {"9999": {"test_set": {"auc": 0.95, "ks": 0.8}}, "10000": {"test_set": {"auc": 0.93}}},
            "headline": {"auc": 0.95, "ks": 0.8}, "headline_source": "guest 9999 test_set",
            "settings": {"max_iter": 30, "learning_rate": 0.15},
            "fraud": {"average_precision": 0.72, "decision_threshold": 0.31, "threshold_rule": "maximise F1",
                      "held_out_at_threshold": {"precision": 0.8, "recall": 0.7, "true_positives": 7}}}


def test_embedded_location_lives_under_the_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("FATEOPS_STATE_DIR", str(tmp_path))
    where = location()
    assert where.embedded and where.uri == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    assert where.artifact_root == tmp_path / "mlflow" / "artifacts"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5990")
    assert location() == TrackingLocation(uri="http://127.0.0.1:5990")
    assert location().run_url("1", "abc") == "http://127.0.0.1:5990/#/experiments/1/runs/abc"


def test_training_run_has_params_metrics_lineage_and_artifacts(store, tmp_path: Path) -> None:
    where, mlflow = store
    validation = tmp_path / "validation"
    validation.mkdir()
    (validation / "9999_train.json").write_text('{"success": true}')
    tables = [{"uri": "fate://fed/9999/train", "rows": 700, "split": "train"},
              {"uri": "fate://fed/9999/test", "rows": 300, "split": "test"}]
    ids = AirflowIds(dag_id="fate_train", run_id="manual__1", task_id="register_model", try_number=1)
    run = log_training_run(mlflow, where, federation="fed-run", result=_result(), tables=tables,
                           artifacts=[validation], airflow=ids)
    data = mlflow.get_run(run.run_id)
    assert data.info.status == "FINISHED" and mlflow.get_experiment(run.experiment_id).name == "fed-run"
    assert data.data.params["fate.job_id"] == "202611290001" and data.data.params["homo_lr.max_iter"] == "30"
    assert data.data.metrics["auc"] == 0.95 and data.data.metrics["average_precision"] == 0.72
    assert data.data.metrics["party_10000.test_set.auc"] == 0.93 and data.data.metrics["held_out.recall"] == 0.7
    assert data.data.tags["airflow.dag_id"] == "fate_train" and data.data.tags["airflow.task_id"] == "register_model"
    assert {d.dataset.name for d in data.inputs.dataset_inputs} == {t["uri"] for t in tables}
    files = {f.path for f in mlflow.list_artifacts(run.run_id)} | {
        f.path for f in mlflow.list_artifacts(run.run_id, "validation")}
    assert {"lineage.json", "train_result.json", "validation/9999_train.json"} <= files
    lineage = json.loads(Path(mlflow.download_artifacts(run.run_id, "lineage.json", str(tmp_path))).read_text())
    assert lineage["tables"][0]["rows"] == 700
    assert str(where.artifact_root) in data.info.artifact_uri  # the embedded store keeps files under our dir
    again = log_training_run(mlflow, where, federation="fed-run", result=_result(), tables=tables)  # a retried task
    assert again.run_id == run.run_id


def test_prediction_run_records_the_model_and_row_counts(store) -> None:
    where, mlflow = store
    run = log_prediction_run(mlflow, where, federation="fed-predict", job_id="p1", registered_model="fed-predict-fraud",
                             model={"model_id": "m1", "model_version": "0", "source": "promoted",
                                    "applied_threshold": 0.3, "threshold_source": "chosen on training rows"},
                             predictions=[{"party_id": 9999, "rows": 300, "predicted_frauds": 4, "auc": 0.9}],
                             report={"auc": 0.9})
    data = mlflow.get_run(run.run_id).data
    assert data.params["fate.model_id"] == "m1" and data.params["model_source"] == "promoted"
    assert data.metrics["party_9999.rows"] == 300 and data.metrics["auc"] == 0.9
    assert data.tags["fateops.kind"] == "prediction"


def test_promotion_sets_the_champion_alias_and_a_worse_auc_does_not_move_it(store) -> None:
    registry = _registry(store, "fed-alias")
    assert registry.promoted() is None and registry.history() == []
    first = _record(registry, 1, 0.95)
    assert first.was_promoted and str(registry.champion_version().version) == "1"
    worse = _record(registry, 2, 0.92)
    assert not worse.was_promoted and "< promoted" in worse.decision
    assert str(registry.champion_version().version) == "1"
    champion = registry.promoted()
    assert champion is not None and (champion.model_id, champion.auc, champion.decision_threshold) == ("m1", 0.95, 0.3)
    assert champion.params == {"max_iter": 5}
    better = _record(registry, 3, 0.97)
    assert better.was_promoted and str(registry.champion_version().version) == "3"
    assert [r.model_id for r in registry.history()] == ["m1", "m2", "m3"]
    registry.promote("m1", "0")  # a rollback by hand
    assert registry.promoted().model_id == "m1"
    version = registry.client.get_model_version(registry.name, "2")
    assert version.tags["fate_job_id"] == "job2" and version.tags["fate_model_id"] == "m2"


def test_a_retried_registration_stays_one_version(store) -> None:
    registry = _registry(store, "fed-retry")
    first = _record(registry, 1, 0.95)
    again = _record(registry, 1, 0.95)
    assert again.decision == first.decision and len(registry.history()) == 1
    with pytest.raises(RegistryError):
        registry.record(model_id="other", model_version="0", job_id="job1", auc=0.95, ks=0.5)
    with pytest.raises(RegistryError):
        registry.record(model_id="m1", model_version="0", job_id="job-other", auc=0.95, ks=0.5)


def test_a_retry_after_a_lost_alias_sets_it(store) -> None:
    """The first try died between registering the version and moving the alias."""
    registry = _registry(store, "fed-lost-alias")
    _record(registry, 1, 0.95)
    registry.client.delete_registered_model_alias(registry.name, CHAMPION)
    _record(registry, 1, 0.95)
    assert str(registry.champion_version().version) == "1"


def test_migrates_a_json_registry_once(store, tmp_path: Path) -> None:
    legacy = ModelRegistry(tmp_path, rule=RULE)
    for n, auc in ((1, 0.95), (2, 0.91)):
        legacy.record(model_id=f"m{n}", model_version="0", job_id=f"job{n}", auc=auc, ks=0.5)
    registry = _registry(store, "fed-migrate")
    assert registry.migrate(legacy) == 2 and registry.migrate(legacy) == 0
    assert registry.promoted().model_id == "m1" and len(registry.history()) == 2


def test_an_unreachable_server_fails_naming_the_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    where = location("http://127.0.0.1:1")
    with pytest.raises(TrackingUnavailable) as failed:
        MlflowModelRegistry(where, "fed-down").promoted()
    assert where.uri in str(failed.value)
