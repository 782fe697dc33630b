"""The training job spec built from Params, FATE's evaluation records read back, the registry decision."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from fateops.exceptions import ConfigError, FateFlowError
from fateops.federation import load_federation
from fateops.pipeline.tables import party_tables
from fateops.pipeline.training import (
    FULL_SIZE_STEPS,
    MAX_EPOCHS_FOR_MIN_STEPS,
    TrainResult,
    TrainSettings,
    flatten_scores,
    headline_scores,
    register_result,
    train_job,
    train_result,
)
from fateops.registry import ModelRegistry, PromotionRule

RECORDS = Path(__file__).resolve().parents[1] / "fixtures" / "pipeline" / "evaluation_guest_records.json"


def test_settings_from_params_take_the_dag_names_and_keep_the_panel_defaults() -> None:
    # The defaults chosen on bench/parity.py's panel (README, "Training defaults").
    assert TrainSettings.from_params({}) == TrainSettings(epochs=5, batch_size=100, learning_rate=1.0,
                                                          lr_decay_to=0.02, penalty="l2", alpha=1e-5,
                                                          optimizer="sgd", min_steps=5700, min_batch_size=25)
    assert TrainSettings.from_params({"lr_decay_to": None}).lr_decay_to is None  # an emptied form field: constant
    assert TrainSettings.from_params({"min_steps": None}).min_steps is None  # an emptied form field: no rule
    assert TrainSettings.from_params({"min_steps": 2000.0}).min_steps == 2000  # a form's number
    assert TrainSettings.from_params({"min_batch_size": None}).min_batch_size is None  # always batch_size
    assert TrainSettings.from_params({"min_batch_size": 10.0}).min_batch_size == 10
    chosen = TrainSettings.from_params({"epochs": "10", "learning_rate": 0.3, "penalty": "L1", "optimizer": "ADAM",
                                        "auc_threshold": 0.9})
    assert (chosen.epochs, chosen.learning_rate, chosen.penalty, chosen.optimizer) == (10, 0.3, "l1", "adam")


@pytest.mark.parametrize(("field", "value"), [("epochs", 0), ("batch_size", 0), ("learning_rate", -1.0),
                                              ("penalty", "l3"), ("optimizer", "newton"), ("lr_decay_to", 0.0),
                                              ("lr_decay_to", 1.5), ("min_steps", -1), ("min_steps", 2.5),
                                              ("min_steps", "many"), ("min_steps", 2_000_000),
                                              ("min_batch_size", -1), ("min_batch_size", 12.5),
                                              ("min_batch_size", True), ("min_batch_size", 200_000)])
def test_bad_hyper_parameters_fail_before_a_job_is_submitted(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as err:
        TrainSettings(**{field: value})
    assert err.value.field == field


def test_a_bad_min_steps_param_names_the_field_and_the_fix() -> None:
    with pytest.raises(ConfigError, match="whole number of optimizer steps") as err:
        TrainSettings.from_params({"min_steps": "lots"})
    assert err.value.field == "min_steps" and "0 or null" in str(err.value)


def test_a_bad_min_batch_size_param_names_the_field_and_the_fix() -> None:
    with pytest.raises(ConfigError, match="whole number of rows") as err:
        TrainSettings.from_params({"min_batch_size": "small"})
    assert err.value.field == "min_batch_size" and "0 or null" in str(err.value)


def _full_size_party_rows() -> int:
    """The largest party's training rows of the demo's job: Kaggle's 284,807 rows split over 2 parties
    (stratified: 142,404 rows), 20 % held out → 113,923."""
    return 142_404 - math.ceil(0.2 * 142_404)


def test_min_steps_leaves_the_full_size_job_exactly_as_it_was() -> None:
    rows = _full_size_party_rows()
    assert rows == 113_923
    default, without = TrainSettings(), TrainSettings(min_steps=0)
    for rules in (default, TrainSettings(min_batch_size=0)):  # min_batch_size leaves it too
        assert rules.epochs_for(rows) == without.epochs_for(rows) == 5
        assert rules.batch_for(rows) == without.batch_for(rows) == 100
        assert rules.learning_rate_for(rows) == 1.0
        assert rules.steps(rows) == without.steps(rows) == 5 * 1140 == FULL_SIZE_STEPS
        assert rules.homo_lr_kwargs(train_rows=rows) == without.homo_lr_kwargs(train_rows=rows)
    kwargs = default.homo_lr_kwargs(train_rows=rows)
    assert (kwargs["epochs"], kwargs["batch_size"], kwargs["learning_rate"]) == (5, 100, 1.0)
    assert kwargs["lr_scheduler_params"]["total_iters"] == 5700


def test_min_steps_gives_a_small_table_more_epochs_and_sizes_the_decay_on_them() -> None:
    settings = TrainSettings(min_batch_size=0)  # 20k rows over 2 parties: 8,000 training rows each, 80 batches
    assert settings.epochs_for(8000) == 72  # ⌈5,700 / 80⌉
    kwargs = settings.homo_lr_kwargs(train_rows=8000)
    assert kwargs["epochs"] == 72 and "min_steps" not in kwargs and kwargs["batch_size"] == 100
    assert kwargs["lr_scheduler_params"]["total_iters"] == 72 * 80 == settings.steps(8000)
    spec = train_job(load_federation(), party_tables(load_federation(), "ns"), settings, timeout_s=900,
                     train_rows=8000)["dag"]
    assert spec["tasks"]["homo_lr_0"]["parameters"]["epochs"] == 72
    assert spec["tasks"]["homo_lr_0"]["parameters"]["learning_rate_scheduler"]["scheduler_params"][
        "total_iters"] == 5760
    # never fewer than `epochs`, and a tiny table stops at MAX_EPOCHS_FOR_MIN_STEPS rounds
    assert TrainSettings(epochs=80).epochs_for(8000) == 80
    assert settings.epochs_for(1000) == MAX_EPOCHS_FOR_MIN_STEPS
    assert TrainSettings(min_steps=None).epochs_for(8000) == TrainSettings(min_steps=0).epochs_for(8000) == 5


@pytest.mark.parametrize(("train_rows", "epochs", "batch", "learning_rate", "steps"), [
    (75_949, 8, 67, 0.67, 8 * 1134),    # 284,807 rows over 3 parties
    (40_000, 15, 36, 0.36, 15 * 1112),  # 100k rows over 2 parties
    (26_667, 22, 25, 0.25, 22 * 1067),  # 100k rows over 3 parties: the cell batch 100 missed
    (8_000, 72, 25, 0.25, 72 * 320),    # 20k rows over 2 parties
    (2_400, 100, 25, 0.25, 100 * 96),   # the integration tests' tables
])
def test_min_batch_size_cuts_a_small_tables_batches_not_its_epochs(train_rows: int, epochs: int, batch: int,
                                                                   learning_rate: float, steps: int) -> None:
    """The epochs (the rows processed: the cost) stay min_steps' at batch 100; a smaller table's epoch is cut
    into the full-size epoch's 1,140 batches (down to 25 rows), the first rate scaled by batch ÷ 100."""
    settings = TrainSettings()
    assert settings.epochs_for(train_rows) == TrainSettings(min_batch_size=0).epochs_for(train_rows) == epochs
    assert settings.batch_for(train_rows) == batch
    assert settings.learning_rate_for(train_rows) == pytest.approx(learning_rate)
    assert settings.steps(train_rows) == steps
    kwargs = settings.homo_lr_kwargs(train_rows=train_rows)
    assert (kwargs["epochs"], kwargs["batch_size"]) == (epochs, batch) and "min_batch_size" not in kwargs
    assert kwargs["learning_rate"] == pytest.approx(learning_rate)
    assert kwargs["lr_scheduler_params"]["total_iters"] == steps
    params = train_job(load_federation(), party_tables(load_federation(), "ns"), settings, timeout_s=900,
                       train_rows=train_rows)["dag"]["tasks"]["homo_lr_0"]["parameters"]
    assert (params["epochs"], params["batch_size"]) == (epochs, batch)
    assert params["optimizer"]["optimizer_params"]["lr"] == pytest.approx(learning_rate)


def test_min_batch_size_never_raises_the_batch_and_follows_min_steps() -> None:
    assert TrainSettings(batch_size=10).batch_for(8000) == 10  # a batch asked below the floor is kept
    assert TrainSettings(min_batch_size=50).batch_for(8000) == 50
    assert TrainSettings(min_batch_size=None).batch_for(8000) == 100
    assert TrainSettings(min_steps=0).batch_for(8000) == TrainSettings(min_steps=None).batch_for(8000) == 100
    assert TrainSettings(min_steps=0).learning_rate_for(8000) == 1.0


def test_the_settings_recorded_are_the_epochs_the_job_ran_and_rebuild_the_same_job() -> None:
    asked = TrainSettings()
    for rows in (8000, 26_667, 75_949):
        ran = asked.as_run(rows)
        assert ran.epochs == asked.epochs_for(rows) and ran.batch_size == asked.batch_for(rows)
        assert ran.learning_rate == asked.learning_rate_for(rows) and ran.min_steps == asked.min_steps
        assert ran.homo_lr_kwargs(train_rows=rows) == asked.homo_lr_kwargs(train_rows=rows)
        assert ran.steps(rows) == asked.steps(rows) and ran.as_run(rows) == ran
        assert TrainSettings(**ran.as_dict()) == ran  # what collect_metrics rebuilds from the plan's XCom
    small = asked.as_run(8000)
    assert (small.epochs, small.batch_size, small.learning_rate) == (72, 25, 0.25)
    assert asked.as_run(_full_size_party_rows()) == asked


def test_a_constant_rate_leaves_fates_default_scheduler() -> None:
    kwargs = TrainSettings(lr_decay_to=None).homo_lr_kwargs(train_rows=10_000)
    assert "lr_scheduler" not in kwargs and "lr_decay_to" not in kwargs


def test_train_job_trains_on_train_tables_and_evaluates_every_test_table() -> None:
    federation = load_federation()
    spec = train_job(federation, party_tables(federation, "ns"), TrainSettings(epochs=7, min_steps=0), timeout_s=900,
                     train_rows=1050)["dag"]
    assert spec["conf"]["task"]["timeout"] == 900
    assert set(spec["tasks"]) == {"reader_0", "homo_lr_0", "reader_2", "homo_lr_1", "evaluation_0"}
    assert spec["tasks"]["homo_lr_0"]["parameters"]["epochs"] == 7
    assert spec["tasks"]["homo_lr_0"]["parameters"]["optimizer"] == {
        "alpha": 1e-5, "method": "sgd", "optimizer_params": {"lr": 1.0}, "penalty": "l2"}
    # the rate decays over every step of the largest party: 7 epochs × ceil(1050 / 100) batches
    assert spec["tasks"]["homo_lr_0"]["parameters"]["learning_rate_scheduler"] == {
        "method": "linear", "scheduler_params": {"start_factor": 1.0, "end_factor": 0.02, "total_iters": 77}}
    assert spec["tasks"]["homo_lr_0"]["parameters"]["batch_size"] == 100
    assert spec["tasks"]["homo_lr_1"]["parameters"]["batch_size"] == 100
    assert spec["party_tasks"]["guest_9999"]["tasks"]["reader_0"]["parameters"] == {
        "name": "creditcard_9999_train", "namespace": "ns"}
    assert spec["party_tasks"]["host_10000"]["tasks"]["reader_2"]["parameters"] == {
        "name": "creditcard_10000_test", "namespace": "ns"}
    roles = {p["role"]: p["party_id"] for p in spec["parties"]}
    assert roles == {"guest": ["9999"], "host": ["10000"], "arbiter": ["9999"]}
    assert set(spec["tasks"]["evaluation_0"]["parameters"]["metrics"]) >= {"auc", "ks", "binary_precision",
                                                                           "binary_recall"}


def test_real_evaluation_records_flatten_to_train_and_test_scores() -> None:
    scores = flatten_scores(json.loads(RECORDS.read_text()))
    assert set(scores) == {"train_set", "test_set"}
    assert scores["test_set"]["auc"] == pytest.approx(0.9221141581632654)
    assert set(scores["test_set"]) == {"auc", "ks", "binary_precision", "binary_recall", "binary_accuracy"}
    headline, source = headline_scores({"9999": scores, "10000": {}}, "9999")
    assert source == "party 9999 test_set"
    assert headline == {"auc": scores["test_set"]["auc"], "ks": scores["test_set"]["ks"],
                        "precision": 1.0, "recall": 0.1875, "accuracy": 0.98375}


def test_no_guest_scores_is_an_error_naming_the_guest() -> None:
    with pytest.raises(FateFlowError, match="guest 9999"):
        headline_scores({"10000": {"test_set": {"auc": 0.9}}}, "9999")


def _result(job: str, auc: float | None) -> TrainResult:
    return TrainResult(job_id=job, model_id=job, model_version="0", parties={"9999": {"test_set": {"auc": auc}}},
                       headline={"auc": auc, "ks": 0.5}, headline_source="party 9999 test_set",
                       settings=TrainSettings().as_dict())


def test_registration_applies_the_promotion_rule(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, rule=PromotionRule(threshold=0.9, tolerance=0.01))
    first = register_result(_result("j1", 0.95), registry, dataset={"tables": ["fate://ns/a"]})
    assert first.was_promoted and first.params["epochs"] == TrainSettings().epochs
    assert first.dataset == {"tables": ["fate://ns/a"]}
    assert not register_result(_result("j2", 0.93), registry).was_promoted
    assert registry.promoted().job_id == "j1"
    with pytest.raises(FateFlowError, match="no AUC"):
        register_result(_result("j3", None), registry)


def test_train_result_keeps_every_partys_scores_from_its_own_records() -> None:
    records = json.loads(RECORDS.read_text())
    result = train_result(load_federation(), {"9999": records, "10000": []}, job_id="j", model_id="m",
                          model_version=0, settings=TrainSettings())
    assert result.model_version == "0" and result.parties["10000"] == {}
    assert result.auc == pytest.approx(0.9221141581632654) and result.settings == TrainSettings().as_dict()
    assert TrainResult(**result.as_dict()) == result  # what travels through XCom rebuilds the same result



def test_the_trigger_forms_training_defaults_are_the_panel_defaults() -> None:
    """A DAG run with an untouched form trains exactly TrainSettings() — one source for the chosen values."""
    from fateops.airflow.pipeline_params import train_params

    params = train_params()
    assert TrainSettings.from_params({name: param.value for name, param in params.items()}) == TrainSettings()
    for name in ("epochs", "batch_size", "learning_rate", "lr_decay_to", "min_steps", "min_batch_size", "alpha",
                 "optimizer"):
        assert "panel" in str(params[name].description) or name == "batch_size", \
            f"{name}: its description says why (the panel)"
