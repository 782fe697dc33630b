"""Choosing the model, reading FATE's prediction output, writing a party's predictions, the run report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fateops.exceptions import ConfigError
from fateops.federation import load_federation
from fateops.pipeline.predicting import ChosenModel, choose_model, predict_spec, tidy_scores, write_party_predictions
from fateops.pipeline.reporting import ReportInputs, assemble_report, job_ids
from fateops.pipeline.tables import party_tables
from fateops.registry import ModelRegistry, PromotionRule, RegistryError

OUTPUT = Path(__file__).resolve().parents[1] / "fixtures" / "pipeline" / "fate_predict_output.csv"


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    reg = ModelRegistry(tmp_path / "registry", rule=PromotionRule(threshold=0.9, tolerance=0.01))
    reg.record(model_id="m1", model_version="0", job_id="j1", auc=0.95, ks=0.8, params={"epochs": 5, "batch_size": 64})
    reg.record(model_id="m2", model_version="0", job_id="j2", auc=0.80, ks=0.6)
    return reg


def test_the_promoted_model_is_chosen_by_default(registry: ModelRegistry) -> None:
    model = choose_model(registry)
    assert (model.model_id, model.source, model.job_id, model.auc) == ("m1", "promoted", "j1", 0.95)


def test_a_given_model_wins_and_keeps_its_registry_scores(registry: ModelRegistry) -> None:
    assert choose_model(registry, "m2", "0").source == "given" and choose_model(registry, "m2", "0").auc == 0.80
    outside = choose_model(registry, " other ", 0)
    assert (outside.model_id, outside.model_version, outside.auc) == ("other", "0", None)
    assert "not in the registry" in outside.source
    with pytest.raises(ConfigError, match="model version"):
        choose_model(registry, "m2", "")


def test_no_promoted_model_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="no model has been promoted") as err:
        choose_model(ModelRegistry(tmp_path))
    assert "fate_train" in err.value.fix


def test_predict_spec_loads_the_model_with_its_training_batch_size() -> None:
    federation = load_federation()
    model = ChosenModel("m1", "0", "promoted", params={"epochs": 5, "batch_size": 64, "unknown": 1})
    spec = predict_spec(federation, party_tables(federation, "ns"), "test", model, timeout_s=600)["dag"]
    assert spec["stage"] == "predict"
    assert spec["conf"]["model_warehouse"] == {"model_id": "m1", "model_version": "0"}
    assert spec["tasks"]["homo_lr_0"]["parameters"]["batch_size"] == 64
    assert spec["party_tasks"]["guest_9999"]["tasks"]["reader_0"]["parameters"]["name"] == "creditcard_9999_test"
    assert "evaluation_0" in spec["tasks"]


def test_fate_output_is_tidied_to_id_label_score_sorted_by_id() -> None:
    tidy = tidy_scores(pd.read_csv(OUTPUT))
    assert list(tidy.columns) == ["id", "Class", "predict_score"]
    assert tidy["id"].is_monotonic_increasing and len(tidy) == 20
    assert int(tidy["Class"].sum()) == 4
    with pytest.raises(Exception, match="predict_score"):
        tidy_scores(pd.DataFrame({"id": [1], "score": [0.1]}))


def test_party_predictions_csv_and_summary(tmp_path: Path) -> None:
    target = tmp_path / "9999" / "predictions" / "run" / "predictions.csv"
    summary = write_party_predictions(tidy_scores(pd.read_csv(OUTPUT)), target, threshold=0.3)
    written = pd.read_csv(target)
    assert list(written.columns) == ["id", "Class", "predict_score", "predicted_fraud"]
    assert summary.rows == 20 and summary.actual_frauds == 4
    assert summary.predicted_frauds == int((written["predict_score"] >= 0.3).sum()) > 0
    assert 0.5 < summary.auc <= 1.0
    assert json.loads(summary.summary_path.read_text())["predicted_frauds"] == summary.predicted_frauds


def test_unlabelled_predictions_have_no_auc(tmp_path: Path) -> None:
    frame = tidy_scores(pd.read_csv(OUTPUT).drop(columns=["label"]))
    summary = write_party_predictions(frame, tmp_path / "p.csv", threshold=0.5)
    assert "Class" not in frame.columns and summary.auc is None and summary.actual_frauds is None


def test_run_report_from_the_guests_predictions(tmp_path: Path) -> None:
    csv = tmp_path / "guest.csv"
    summary = write_party_predictions(tidy_scores(pd.read_csv(OUTPUT)), csv, threshold=0.5)
    predictions = [{"party_id": 9999, "job_id": "p1", "predictions_csv": str(csv), "rows": summary.rows,
                    "auc": summary.auc},
                   {"party_id": 10000, "job_id": "p1", "predictions_csv": "/elsewhere.csv", "rows": 5, "auc": 0.9}]
    inputs = ReportInputs(run_id="manual__2026-01-01T00:00:00+00:00", model={"model_id": "m1", "job_id": "t0"},
                          predictions=predictions, guest_party_id=9999, training={"job_id": "t1", "auc": 0.93},
                          tables=[{"party_id": 9999, "split": "train", "rows": 80, "upload_job_id": "u1"}],
                          synthetic=True)
    assert job_ids(inputs) == {"upload 9999/train": "u1", "train": "t1", "predict": "p1"}
    report = assemble_report(inputs, directory=tmp_path / "reports")
    assert report.json_path.parent == tmp_path / "reports" / "manual__2026-01-01T00_00_00_00_00"
    assert report.png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    content = json.loads(report.json_path.read_text())
    assert content["computed"]["rows"] == 20 and content["computed"]["auc"] == pytest.approx(summary.auc)
    assert content["job_ids"]["train"] == "t1" and content["counts"]["synthetic_data"] is True
    assert content["metrics"]["prediction"]["10000"]["auc"] == 0.9
