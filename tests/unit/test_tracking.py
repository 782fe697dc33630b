"""MLflow tracking and registry on the embedded SQLite store (the real MLflow library, no mocks).

One store for the module (creating MLflow's schema is the slow part); each test uses its own
federation, so its own experiment and registered model.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
from fateops.tracking.lock import PromotionLock
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


def _legacy_record(legacy: ModelRegistry, n: int, auc: float, parties: tuple[str, ...]) -> None:
    legacy.record(model_id=f"m{n}", model_version="0", job_id=f"job{n}", auc=auc, ks=0.5,
                  metrics={"parties": {p: {"test_set": {"auc": auc}} for p in parties}})


def test_migrates_only_its_own_federations_json_records(store, tmp_path: Path) -> None:
    """The JSON file has no federation names: a record belongs to the federation of its data parties."""
    legacy = ModelRegistry(tmp_path, rule=RULE)
    _legacy_record(legacy, 1, 0.95, ("9999", "10000"))
    _legacy_record(legacy, 2, 0.91, ("9999", "10000"))
    _legacy_record(legacy, 3, 0.96, ("30000", "40000"))
    legacy.record(model_id="m4", model_version="0", job_id="job4", auc=0.92, ks=0.5)  # names no parties
    banks = _registry(store, "fed-migrate-banks")
    assert banks.migrate(legacy, [9999, 10000]) == (2, 2) and banks.migrate(legacy, [9999, 10000]) == (0, 2)
    assert banks.promoted().model_id == "m1" and [r.model_id for r in banks.history()] == ["m1", "m2"]
    assert [r.model_id for r in legacy.history()] == ["m3", "m4"]  # the others stay for their federation
    tanzu = _registry(store, "fed-migrate-tanzu")
    assert tanzu.migrate(legacy, ["30000", "40000"]) == (1, 1)
    assert tanzu.promoted().model_id == "m3"  # the JSON file's one pointer; the banks got their last promoted
    assert [r.model_id for r in tanzu.history()] == ["m3"] and legacy.path.is_file()
    only = ModelRegistry(tmp_path / "one", rule=RULE)
    _legacy_record(only, 5, 0.95, ("9999",))
    assert _registry(store, "fed-migrate-one").migrate(only, [9999]) == (1, 0)
    assert not only.path.exists() and only.path.with_name("registry.json.migrated").is_file()


@dataclass(frozen=True)
class _SlowRule(PromotionRule):
    """Decides like the rule, but only after the rival's version is registered and it is trying to promote."""

    rival: str = ""
    store_uri: str = ""

    def decide(self, auc, current, average_precision=None):  # type: ignore[override]
        decision = super().decide(auc, current, average_precision)
        mlflow = client(location(self.store_uri))
        for _ in range(200):  # ≤ 10 s: the rival registers, then reaches the lock (or, unlocked, promotes)
            if mlflow.search_model_versions(f"name='fed-race-fraud' and tags.fate_job_id='{self.rival}'"):
                break
            time.sleep(0.05)
        time.sleep(0.5)
        return decision


def _until_lock_held(mlflow, name: str, timeout_s: float = 60) -> None:
    """Order by state, not by a sleep: a loaded machine may take seconds to reach the lock."""
    deadline = time.monotonic() + timeout_s
    while not mlflow.search_registered_models(f"name='{name}'"):
        assert time.monotonic() < deadline, f"{name} was never taken"
        time.sleep(0.02)


def test_concurrent_promotions_leave_the_better_model_champion(store) -> None:
    """Two trainings finish together against the same old champion: the worse decides first and moves the
    alias while the better waits; the better, judged against the new champion, ends holding it."""
    where, _ = store
    _record(_registry(store, "fed-race"), 1, 0.91)
    worse = MlflowModelRegistry(where, "fed-race", rule=_SlowRule(threshold=0.9, tolerance=0.01, rival="job3",
                                                                  store_uri=where.uri), mlflow=client(where))
    better = MlflowModelRegistry(where, "fed-race", rule=RULE, mlflow=client(where))
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(_record, worse, 2, 0.93)
        _until_lock_held(better.client, "fed-race-fraud.promotion-lock")  # the worse one is inside its decision
        fast = pool.submit(_record, better, 3, 0.95)
        worse_record, better_record = slow.result(timeout=60), fast.result(timeout=60)
    assert worse_record.was_promoted and better_record.was_promoted
    assert better.promoted().model_id == "m3"
    assert "promoted m2/0 AUC 0.9300" in better_record.decision  # judged against the worse, not the old champion
    assert better.client.get_model_version(better.name, "3").tags["decision"] == better_record.decision
    assert "fed-race-fraud.promotion-lock" not in {m.name for m in better.client.search_registered_models()}


def test_a_dead_holders_promotion_lock_is_broken_and_a_live_one_times_out(store) -> None:
    where, mlflow = store
    mlflow.create_registered_model("fed-lock.promotion-lock", tags={"holder": "gone"})
    with pytest.raises(TrackingUnavailable) as held, PromotionLock(mlflow, where, "fed-lock", timeout_s=0.3,
                                                                    stale_after_s=60, poll_s=0.05):
        pass
    assert "fed-lock.promotion-lock" in str(held.value) and "delete the registered model" in held.value.fix
    with PromotionLock(mlflow, where, "fed-lock", stale_after_s=0.2, poll_s=0.05) as lock:
        assert mlflow.get_registered_model(lock.name).tags["holder"] == lock.holder
    assert not mlflow.search_registered_models(f"name='{lock.name}'")


def test_a_lock_released_between_the_stores_insert_and_read_back_is_taken_on_the_next_try(
        store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real store's interleaving CI met: the taker's insert hits the held name, the holder releases,
    then MLflow's read-back of the name (to word its "already exists") finds nothing."""
    where, mlflow = store
    holder = PromotionLock(mlflow, where, "fed-handover")
    holder.__enter__()
    registry_store = mlflow._get_registry_client().store
    read_back = registry_store.get_registered_model
    released = []

    def release_then_read(name: str):
        if not released:  # the holder finishes exactly between the insert and the read-back
            released.append(name)
            holder.__exit__(None, None, None)
        return read_back(name)

    monkeypatch.setattr(registry_store, "get_registered_model", release_then_read)
    with PromotionLock(mlflow, where, "fed-handover", timeout_s=10, poll_s=0.05) as taker:
        assert released == [taker.name]
        assert mlflow.get_registered_model(taker.name).tags["holder"] == taker.holder
    assert not mlflow.search_registered_models(f"name='{taker.name}'")


def test_an_unreachable_server_fails_naming_the_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    where = location("http://127.0.0.1:1")
    with pytest.raises(TrackingUnavailable) as failed:
        MlflowModelRegistry(where, "fed-down").promoted()
    assert where.uri in str(failed.value)


def test_a_failing_server_is_retried_with_backoff_and_the_model_registers_later(
        store, monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow retries a 503 (our HTTP_DEFAULTS: 5 times, backoff 2); then the task fails naming the URI, and
    its Airflow retry registers the same FATE model once the store answers (nothing is lost: FATE keeps it)."""
    hits = []

    class Unavailable(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")  # the count, not the wait
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
    down = location(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        with pytest.raises(TrackingUnavailable) as failed:
            _record(MlflowModelRegistry(down, "fed-down-later", rule=RULE), 1, 0.95)
    finally:
        server.shutdown()
    assert len(hits) == 3 and down.uri in str(failed.value), failed.value  # the first call and its 2 retries
    registry = _registry(store, "fed-down-later")
    assert _record(registry, 1, 0.95).was_promoted and len(registry.history()) == 1
