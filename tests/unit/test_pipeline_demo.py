"""`fateops demo`: the command line, and `down` stopping only what `up` recorded (safe when nothing runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fateops import cli, demo


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FATEOPS_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("FATEOPS_ENGINE_PORT", "9999")  # nothing listens there; nothing may be stopped
    return tmp_path


def test_up_options_from_the_command_line(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[demo.DemoOptions] = []
    monkeypatch.setattr(demo, "up", lambda options, out=print: seen.append(options) or {})
    assert cli.main(["demo", "up", "--rows", "50000", "--port", "8090", "--conf", '{"epochs": 3}']) == 0
    assert cli.main(["demo", "up", "--full"]) == 0
    assert cli.main(["demo", "up"]) == 0
    assert cli.main(["demo", "up", "--predict-with", "champion"]) == 0
    assert seen[0].run_conf() == {"rows": 50000, "predict_with": "trained", "epochs": 3} and seen[0].port == 8090
    assert seen[1].rows == demo.FULL_ROWS and seen[2].rows == demo.DEFAULT_ROWS


def test_bad_conf_is_a_config_error(state: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["demo", "up", "--conf", "{epochs: 3"]) == 2
    assert "--conf is not JSON" in capsys.readouterr().err


def test_down_with_nothing_running_stops_nothing_and_leaves_a_foreign_engine_alone(state: Path) -> None:
    lines: list[str] = []
    assert demo.down(out=lines.append) == {"airflow_stopped": [], "engine_stopped": False, "mlflow_stopped": False}
    assert lines == ["==> Airflow components stopped: none were running", "==> MLflow UI was not running",
                     "==> FATE engine left alone (the demo did not start it)"]


def test_down_forgets_what_up_recorded(state: Path) -> None:
    demo.state_file().write_text(json.dumps({"engine_started": True, "port": 8090,
                                             "airflow_home": str(state / "airflow")}))
    lines: list[str] = []
    assert demo.down(out=lines.append)["airflow_stopped"] == []
    assert lines[2] == "==> FATE engine was not running"
    assert not demo.state_file().exists()


def test_the_closing_lines_show_auc_auprc_and_recall_at_the_threshold() -> None:
    from types import SimpleNamespace

    lines: list[str] = []
    result = {"auc": 0.95, "training_auc": 0.94, "average_precision": 0.61, "report_json": "r.json",
              "report_png": "r.png", "threshold_source": "chosen on the model's training rows",
              "at_threshold": {"threshold": 0.0371, "precision": 0.5, "recall": 0.8, "true_positives": 40,
                               "false_positives": 40, "false_negatives": 10, "true_negatives": 9000}}
    stack = SimpleNamespace(url="http://127.0.0.1:8080", password_file="pw.json")
    demo._print_outcome(result, stack, "run1", 12.0, 30.0, lines.append)
    text = "\n".join(lines)
    assert "the run took 12 s from trigger to end; `demo up` 30 s in all" in text
    assert "AUC (guest's held-out rows" in text and "0.9500" in text
    assert "AUPRC (average precision, same held-out rows):" in text and "0.6100" in text
    assert ("at the decision threshold 0.0371 (chosen on the model's training rows): recall 0.800 "
            "(40 of 50 frauds flagged), precision 0.500 (40 false alarms)") in text


def test_the_mlflow_lines_say_whether_the_run_promoted_and_who_is_champion() -> None:
    """Promoted: the version and its link; not promoted: the rule's reason with the number, and the champion."""
    ui, name = "http://127.0.0.1:5000", "local-demo-fraud"
    runs = {"training": f"{ui}/#/experiments/1/runs/a", "prediction": f"{ui}/#/experiments/1/runs/b"}
    source = "trained by this run, NOT promoted: AUC 0.8712 < threshold 0.9000"
    refused = {"mlflow_runs": runs, "model": {"model_id": "m2", "model_version": "0", "source": source},
               "training": {"model_id": "m2", "model_version": "0", "job_id": "j2", "promoted": False,
                            "decision": "not promoted: AUC 0.8712 < threshold 0.9000"}}
    text = "\n".join(demo.mlflow_lines(refused, ui=ui, name=name, version="2", champion=None))
    assert f"registered model {name}: {ui}/#/models/{name}" in text
    assert f"MLflow training run: {runs['training']}" in text
    assert f"{name} version 2 ({ui}/#/models/{name}/versions/2), NOT promoted — AUC 0.8712 < threshold 0.9000" in text
    assert f"{name}@champion: none yet" in text
    assert "predictions made with m2/0: trained by this run, NOT promoted" in text
    from fateops.registry import ModelRecord

    why = "promoted: AUC 0.9512 ≥ threshold 0.9000 and no model was promoted"
    promoted = {**refused, "training": {**refused["training"], "promoted": True, "decision": why}}
    champion = ModelRecord(model_id="m2", model_version="0", job_id="j2", auc=0.9512, ks=0.8)
    text = "\n".join(demo.mlflow_lines(promoted, ui=ui, name=name, version="2", champion=("2", champion)))
    assert "PROMOTED to @champion — AUC 0.9512 ≥ threshold 0.9000" in text
    assert f"{name}@champion: version 2, FATE model m2/0, AUC 0.9512 — {ui}/#/models/{name}/versions/2" in text
