"""The model registry: the promotion rule, idempotent recording, atomic file, concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from fateops.exceptions import ConfigError
from fateops.registry import REGISTRY_FILE, ModelRegistry, PromotionRule, RegistryError


def _record(registry: ModelRegistry, n: int, auc: float, **extra: object):
    return registry.record(model_id=f"m{n}", model_version=str(n), job_id=f"job{n}", auc=auc, ks=auc / 2,
                           metrics={"precision": 0.5}, params={"max_iter": 5}, dataset={"rows": 100}, **extra)


def test_first_model_above_threshold_is_promoted(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, rule=PromotionRule(threshold=0.9, tolerance=0.01))
    assert registry.promoted() is None and registry.history() == []
    record = _record(registry, 1, 0.95)
    assert record.was_promoted and "no model was promoted" in record.decision
    assert registry.promoted() == record
    assert registry.get("m1", 1) == record and registry.get("m1", "2") is None


def test_below_threshold_is_never_promoted(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, rule=PromotionRule(threshold=0.9, tolerance=0.01))
    record = _record(registry, 1, 0.89)
    assert not record.was_promoted and "< threshold" in record.decision
    assert registry.promoted() is None


@pytest.mark.parametrize(("new_auc", "promoted"), [(0.96, True), (0.95, True), (0.941, True), (0.939, False)])
def test_tolerance_against_the_promoted_model(tmp_path: Path, new_auc: float, promoted: bool) -> None:
    registry = ModelRegistry(tmp_path, rule=PromotionRule(threshold=0.9, tolerance=0.01))
    _record(registry, 1, 0.95)
    record = _record(registry, 2, new_auc)
    assert record.was_promoted is promoted
    assert registry.promoted().model_id == ("m2" if promoted else "m1")


def test_recording_the_same_job_twice_is_idempotent(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    first = _record(registry, 1, 0.95)
    before = (tmp_path / REGISTRY_FILE).read_bytes()
    assert _record(registry, 1, 0.95) == first
    assert (tmp_path / REGISTRY_FILE).read_bytes() == before
    assert len(registry.history()) == 1
    with pytest.raises(RegistryError, match="job1 is registered as m1/1"):
        registry.record(model_id="other", model_version="1", job_id="job1", auc=0.9, ks=0.5)
    with pytest.raises(RegistryError, match="already registered by another job"):
        registry.record(model_id="m1", model_version="1", job_id="jobX", auc=0.9, ks=0.5)


def test_history_order_file_content_and_manual_promotion(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    _record(registry, 1, 0.95)
    _record(registry, 2, 0.97)
    assert [r.job_id for r in registry.history()] == ["job1", "job2"]
    state = json.loads((tmp_path / REGISTRY_FILE).read_text())
    assert state["promoted"] == {"model_id": "m2", "model_version": "2"}
    assert state["models"][0]["params"] == {"max_iter": 5} and state["models"][0]["created_at"]
    assert registry.promote("m1", 1).model_id == "m1"  # rollback by hand
    assert ModelRegistry(tmp_path).promoted().model_id == "m1"  # a fresh instance reads the file
    with pytest.raises(RegistryError, match="not registered"):
        registry.promote("m9", 9)
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temp files


@pytest.mark.parametrize("value", [1.2, -0.1, float("nan"), "0.9"])
def test_metrics_must_be_probabilities(tmp_path: Path, value: object) -> None:
    with pytest.raises(ConfigError):
        ModelRegistry(tmp_path).record(model_id="m", model_version="1", job_id="j", auc=value, ks=0.1)


def test_rule_bounds_and_corrupt_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        PromotionRule(threshold=1.5)
    (tmp_path / REGISTRY_FILE).write_text("{not json")
    with pytest.raises(RegistryError, match="cannot read"):
        ModelRegistry(tmp_path).history()


def _writer(directory: str, worker: int) -> None:
    registry = ModelRegistry(directory)
    for i in range(10):
        registry.record(model_id=f"w{worker}", model_version=str(i), job_id=f"w{worker}-{i}", auc=0.95, ks=0.5)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(str(tmp_path), w)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert len(ModelRegistry(tmp_path).history()) == 30


def test_auprc_and_decision_threshold_are_recorded_and_an_auprc_floor_gates_promotion(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, rule=PromotionRule(threshold=0.9, min_average_precision=0.5))
    low = _record(registry, 1, 0.97, average_precision=0.31, decision_threshold=0.42)
    assert not low.was_promoted and "AUPRC 0.3100 < AUPRC threshold 0.5000" in low.decision
    high = _record(registry, 2, 0.95, average_precision=0.72, decision_threshold=0.37)
    assert high.was_promoted and registry.promoted() == high
    assert (registry.get("m2", "2").average_precision, registry.get("m2", "2").decision_threshold) == (0.72, 0.37)
    unknown = _record(registry, 3, 0.99)
    assert not unknown.was_promoted and "AUPRC unknown" in unknown.decision
    with pytest.raises(ConfigError, match="decision_threshold"):
        _record(registry, 4, 0.95, decision_threshold=1.5)
    with pytest.raises(ConfigError, match="AUPRC threshold"):
        PromotionRule(min_average_precision=2)


def test_records_written_before_auprc_existed_still_read(tmp_path: Path) -> None:
    old = {"model_id": "m0", "model_version": "0", "job_id": "j0", "auc": 0.95, "ks": 0.8, "was_promoted": True,
           "decision": "promoted: old"}
    (tmp_path / REGISTRY_FILE).write_text(json.dumps({"schema": 1, "models": [old],
                                                      "promoted": {"model_id": "m0", "model_version": "0"}}))
    promoted = ModelRegistry(tmp_path).promoted()
    assert promoted is not None and promoted.average_precision is None and promoted.decision_threshold is None
