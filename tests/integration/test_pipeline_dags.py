"""The credit-card DAGs through ``dag.test()`` against the real FATE engine, at a small size.

Every DAG runs for real: prepare (user-supplied Kaggle-format file), train, predict (promoted and given
model), retrain, and the whole pipeline. Bad data of each kind must fail the run with a message naming
the problem *and* leave the engine without any of the run's tables. Each test module run uses its own
FATE namespace and its own data/reports/registry dirs; the tables are deleted at the end.
Outcomes are asserted (states, values, files); timings are never asserted.
"""

from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fateops.fate.client import FateFlowClient
from fateops.federation import load_federation
from fateops.report import safe_name
from fateops.tracking import MlflowModelRegistry, location
from tests.integration.test_local_dags import run_dag, task_states, xcom

pytestmark = [pytest.mark.engine, pytest.mark.airflow, pytest.mark.timeout(3600)]

PARTIES = (9999, 10000)
# min_steps 0: exactly 5 epochs, as before the rule — these runs test the orchestration, and 2,400 training rows
# a party would otherwise train 100 epochs (every one a federated round) in each of them.
SMALL = {"rows": 6000, "fraud_ratio": 0.02, "min_rows": 100, "auc_threshold": 0.5, "sensor_timeout_s": 1800,
         "job_timeout_s": 1800, "min_steps": 0}
TRAIN_ROWS, TEST_ROWS = 2400, 600  # per party: 6000 rows / 2 parties, 20 % held out


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, fate_engine: Any, airflow_db: Path) -> Iterator[dict[str, Any]]:
    """Own dirs for this module (dag.test runs the tasks in this process, so the environment reaches them)."""
    root = tmp_path_factory.mktemp("pipeline")
    patch = pytest.MonkeyPatch()
    for var, sub in (("FATEOPS_DATA_DIR", "data"), ("FATEOPS_REPORTS_DIR", "reports"),
                     ("FATEOPS_REGISTRY_DIR", "registry")):
        patch.setenv(var, str(root / sub))
    patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow' / 'mlflow.db'}")
    namespaces: list[str] = []
    yield {"root": root, "url": fate_engine.config.base_url, "namespaces": namespaces}
    patch.undo()
    with FateFlowClient(fate_engine.config.base_url) as client:
        for namespace in namespaces:
            for party in PARTIES:
                for split in ("train", "test"):
                    client.table_delete(namespace, f"creditcard_{party}_{split}")


def mlflow_registry() -> MlflowModelRegistry:
    """The registry the DAGs use (``MLFLOW_TRACKING_URI`` of the module's env; the DAGs' default federation —
    the suite's ``$FATEOPS_FEDERATION``)."""
    return MlflowModelRegistry(location(), load_federation().name)


def new_namespace(env: dict[str, Any]) -> str:
    namespace = f"fateops_it_{secrets.token_hex(4)}"
    env["namespaces"].append(namespace)
    return namespace


def tables_in(env: dict[str, Any], namespace: str) -> dict[str, int | None]:
    """Row count of every party table of ``namespace`` in the engine (None: the table does not exist)."""
    counts: dict[str, int | None] = {}
    with FateFlowClient(env["url"]) as client:
        for party in PARTIES:
            for split in ("train", "test"):
                info = client.table_query(namespace, f"creditcard_{party}_{split}")
                counts[f"{party}_{split}"] = None if info is None else info.count
    return counts


def kaggle_file(path: Path, rows: int = 6000) -> Path:
    """A Kaggle-format file as a user would supply it: quoted header names and quoted Class values."""
    from fateops.data.synthetic import sidecar_path, write_synthetic_creditcard

    write_synthetic_creditcard(path, rows=rows, fraud_ratio=0.02, seed=11, kaggle_quoting=True)
    sidecar_path(path).unlink()  # a user's file carries no synthetic marker
    return path


# ------------------------------------------------------------------------------------------ prepare
@pytest.fixture(scope="module")
def prepared(env: dict[str, Any]) -> dict[str, Any]:
    """fate_dataset_prepare on a user-supplied Kaggle-quoted file."""
    source = kaggle_file(env["root"] / "user" / "creditcard.csv")
    assert source.read_text().startswith('"Time","V1"') and ',"1"\n' in source.read_text()
    namespace = new_namespace(env)
    dag_run = run_dag("fate_dataset_prepare", {**SMALL, "dataset_path": str(source), "namespace": namespace})
    return {"dag_run": dag_run, "namespace": namespace, "source": source}


def test_kaggle_quoting_is_accepted_and_every_table_is_uploaded_and_verified(env, prepared) -> None:
    dag_run = prepared["dag_run"]
    assert str(dag_run.state) == "success", task_states(dag_run)
    assert tables_in(env, prepared["namespace"]) == {
        "9999_train": TRAIN_ROWS, "9999_test": TEST_ROWS, "10000_train": TRAIN_ROWS, "10000_test": TEST_ROWS}
    ready = xcom(dag_run, "tables_ready")
    assert ready["source"] == {"path": str(prepared["source"].resolve()), "synthetic": False, "rows": None,
                               "frauds": None, "seed": None}
    assert {t["uri"] for t in ready["tables"]} == {
        f"fate://{prepared['namespace']}/creditcard_{p}_{s}" for p in PARTIES for s in ("train", "test")}
    assert all(t["upload_job_id"] for t in ready["tables"])


def test_each_party_keeps_only_its_own_slice_and_the_validation_results(env, prepared) -> None:
    data, reports = env["root"] / "data", env["root"] / "reports"
    raw = {p: pd.read_csv(data / str(p) / "raw" / "creditcard.csv") for p in PARTIES}
    assert len(raw[9999]) + len(raw[10000]) == 6000
    assert not set(raw[9999]["Time"].astype(str) + raw[9999]["V1"].astype(str)) & set(
        raw[10000]["Time"].astype(str) + raw[10000]["V1"].astype(str)), "a transaction went to both parties"
    run_dir = reports / safe_name(prepared["dag_run"].run_id)
    artifacts = sorted((run_dir / "validation").glob("*.json"))
    assert [a.name for a in artifacts] == ["10000_test.json", "10000_train.json", "9999_test.json", "9999_train.json"]
    assert all(json.loads(a.read_text())["success"] for a in artifacts)


def test_an_asset_event_is_published_per_uploaded_table(prepared) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.uri, AssetEvent.extra).join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_run_id == prepared["dag_run"].run_id)).all()
    events = {uri: extra for uri, extra in rows}
    assert set(events) == {f"fate://{prepared['namespace']}/creditcard_{p}_{s}"
                           for p in PARTIES for s in ("train", "test")}
    assert events[f"fate://{prepared['namespace']}/creditcard_9999_test"]["rows"] == TEST_ROWS


# ------------------------------------------------------------------------------------------ bad data
def _rewrite(path: Path, edit: Callable[[list[list[str]]], list[list[str]]]) -> None:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    with path.open("w", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerows(edit(rows))


def _column(rows: list[list[str]], name: str) -> int:
    return rows[0].index(name)


def _set(row: int, column: str, value: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def edit(rows: list[list[str]]) -> list[list[str]]:
        rows[row][_column(rows, column)] = value
        return rows
    return edit


def _drop_column(rows: list[list[str]]) -> list[list[str]]:
    at = _column(rows, "V5")
    return [r[:at] + r[at + 1:] for r in rows]


def _extra_column(rows: list[list[str]]) -> list[list[str]]:
    return [r + (["Merchant"] if i == 0 else ["shop"]) for i, r in enumerate(rows)]


BAD_FILES = {
    "missing column": (_drop_column, ["missing column(s) ['V5']"]),
    "extra column": (_extra_column, ["unexpected column(s) ['Merchant']"]),
    "null": (_set(10, "V3", ""), ["line 11", "'V3'", "empty (null)"]),
    "Class = 2": (_set(20, "Class", "2"), ["line 21", "'Class'", "Class must be 0 (genuine) or 1 (fraud)"]),
    "non-numeric Amount": (_set(30, "Amount", "twelve"), ["line 31", "'Amount'", "not a number", "'twelve'"]),
    "empty file": (lambda rows: [], ["the file is empty"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_data_is_refused_clearly_and_nothing_is_uploaded(env, case: str, capfd: pytest.CaptureFixture) -> None:
    edit, expected = BAD_FILES[case]
    source = kaggle_file(env["root"] / "bad" / f"{case.replace(' ', '_')}.csv", rows=3000)
    _rewrite(source, edit)
    namespace = new_namespace(env)
    dag_run = run_dag("fate_dataset_prepare", {**SMALL, "dataset_path": str(source), "namespace": namespace})
    states = task_states(dag_run)
    output = capfd.readouterr()
    log = output.out + output.err
    assert str(dag_run.state) == "failed"
    assert states["split_dataset"] == "failed", states
    assert not any(t.startswith(("upload_table", "wait_upload", "verify_table")) and s == "success"
                   for t, s in states.items())
    for fragment in expected:
        assert fragment in log, (case, fragment)
    assert "fix:" in log
    assert tables_in(env, namespace) == dict.fromkeys(("9999_train", "9999_test", "10000_train", "10000_test"))


def test_a_latin1_zip_is_refused_at_once_with_the_byte_offset_and_nothing_is_uploaded(env, capfd) -> None:
    """Kaggle's zip wrapper is opened, but a Latin-1 byte inside is a data error: no retry, no upload."""
    import zipfile

    source = kaggle_file(env["root"] / "bad" / "latin1.csv", rows=3000)
    data = source.read_bytes().replace(b'"Amount"', b'"Amount \xa3"')  # a Latin-1 pound sign in the header
    archive = source.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("creditcard.csv", data)
    namespace = new_namespace(env)
    dag_run = run_dag("fate_dataset_prepare", {**SMALL, "dataset_path": str(archive), "namespace": namespace})
    output = capfd.readouterr()
    log = output.out + output.err
    split = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "split_dataset")
    assert str(dag_run.state) == "failed" and str(split.state) == "failed"
    assert split.try_number == 1, "a data error must not be retried"
    offset = data.index(b"\xa3")
    assert f"byte offset {offset} (inside the zip)" in log and "iconv" in log
    assert tables_in(env, namespace) == dict.fromkeys(("9999_train", "9999_test", "10000_train", "10000_test"))


def test_duplicate_ids_fail_the_gate_and_nothing_is_uploaded(env, monkeypatch, capfd) -> None:
    """A prepare step that emitted a duplicated id (a bug, or a tampered file): the GX gate refuses it."""
    import fateops.data as data

    real = data.prepare_party

    def prepare_with_duplicate(party: Any, **kwargs: Any) -> Any:
        done = real(party, **kwargs)
        if party.party_id == 10000:
            frame = pd.read_csv(done.train_csv)
            frame.loc[7, "id"] = frame.loc[6, "id"]
            frame.to_csv(done.train_csv, index=False)
        return done

    monkeypatch.setattr(data, "prepare_party", prepare_with_duplicate)
    namespace = new_namespace(env)
    dag_run = run_dag("fate_dataset_prepare", {**SMALL, "namespace": namespace})
    states = task_states(dag_run)
    log = "".join(capfd.readouterr())
    assert str(dag_run.state) == "failed"
    assert states["validate[0]"] == "success" and states["validate[1]"] == "failed", states
    assert states["validation_gate"] == "upstream_failed"
    assert "expect_column_values_to_be_unique on 'id': 2 of 2400 rows fail" in log
    assert "nothing was uploaded" in log
    assert tables_in(env, namespace) == dict.fromkeys(("9999_train", "9999_test", "10000_train", "10000_test"))


# ------------------------------------------------------------------------------------ train / predict
@pytest.fixture(scope="module")
def trained(env: dict[str, Any], prepared: dict[str, Any]) -> Any:
    assert str(prepared["dag_run"].state) == "success"
    return run_dag("fate_train", {**SMALL, "namespace": prepared["namespace"]})


def test_train_records_every_partys_scores_and_promotes_the_model(env, trained) -> None:
    assert str(trained.state) == "success", task_states(trained)
    metrics = xcom(trained, "collect_metrics")
    assert set(metrics["parties"]) == {"9999", "10000"}
    for scores in metrics["parties"].values():
        assert set(scores) == {"train_set", "test_set"}
        assert {"auc", "ks", "binary_precision", "binary_recall"} <= set(scores["test_set"])
    assert metrics["headline_source"] == "party 9999 test_set"
    assert 0.5 < metrics["headline"]["auc"] <= 1.0
    registered = xcom(trained, "register_model")
    assert registered["promoted"] is True and registered["job_id"] == metrics["job_id"]
    registry = mlflow_registry()
    champion = registry.promoted()
    assert champion is not None and champion.key == (registered["model_id"], registered["model_version"])
    run = registry.client.get_run(registered["mlflow_run_id"])  # the MLflow training run
    assert run.data.params["fate.job_id"] == metrics["job_id"] and run.data.tags["airflow.dag_id"] == "fate_train"
    assert run.data.metrics["auc"] == metrics["headline"]["auc"]
    assert run.data.metrics["average_precision"] == registered["average_precision"]
    assert {"party_9999.test_set.auc", "party_10000.test_set.auc"} <= set(run.data.metrics)
    assert len(run.inputs.dataset_inputs) == 4  # both parties' train and test tables
    assert {a.path for a in registry.client.list_artifacts(run.info.run_id)} >= {"lineage.json", "train_result.json"}
    assert str(registry.champion_version().run_id) == run.info.run_id
    # the fraud metrics: AUPRC of the guest's held-out rows, a threshold chosen on its training rows
    fraud = metrics["fraud"]
    assert 0 < registered["average_precision"] == metrics["headline"]["average_precision"] <= 1
    assert 0 < registered["decision_threshold"] == fraud["decision_threshold"] < 1
    assert fraud["threshold_rule"] == "maximise F1 on training rows"
    on_train, held_out = fraud["training_rows"], fraud["held_out_at_threshold"]
    assert sum(on_train[k] for k in ("true_positives", "false_positives", "false_negatives",
                                     "true_negatives")) == TRAIN_ROWS
    assert sum(held_out[k] for k in ("true_positives", "false_positives", "false_negatives",
                                     "true_negatives")) == TEST_ROWS
    stored = champion
    assert (stored.average_precision, stored.decision_threshold) == (registered["average_precision"],
                                                                           registered["decision_threshold"])
    with FateFlowClient(env["url"]) as client:
        assert client.query_job(metrics["job_id"]).overall_status == "success"


def test_predict_with_the_promoted_model_writes_predictions_and_the_report(env, prepared, trained) -> None:
    dag_run = run_dag("fate_predict", {**SMALL, "namespace": prepared["namespace"]})
    assert str(dag_run.state) == "success", task_states(dag_run)
    from sklearn.metrics import average_precision_score

    model = xcom(dag_run, "choose_model")
    registered = xcom(trained, "register_model")
    assert model["source"] == "promoted" and model["job_id"] == registered["job_id"]
    assert model["applied_threshold"] == registered["decision_threshold"]  # recorded with the model, applied here
    result = xcom(dag_run, "report")
    for party in PARTIES:
        path = Path(result["predictions"][str(party)])
        assert path.is_relative_to(env["root"] / "data" / str(party)), "predictions must stay in the party's dir"
        scored = pd.read_csv(path)
        assert len(scored) == TEST_ROWS and list(scored.columns) == ["id", "Class", "predict_score", "predicted_fraud"]
        summary = json.loads(path.with_name("predictions.summary.json").read_text())
        assert summary["rows"] == TEST_ROWS and 0.5 < summary["auc"] <= 1.0
        flagged = scored["predict_score"] >= registered["decision_threshold"]
        assert summary["threshold"] == registered["decision_threshold"]
        assert (scored["predicted_fraud"] == flagged.astype(int)).all()
        fraud = scored["Class"] == 1
        assert summary["at_threshold"]["true_positives"] == int((flagged & fraud).sum())
        assert summary["at_threshold"]["false_positives"] == int((flagged & ~fraud).sum())
        assert summary["average_precision"] == pytest.approx(average_precision_score(fraud, scored["predict_score"]))
        if party == PARTIES[0]:  # the guest's held-out rows: the same numbers as at training time
            assert summary["at_threshold"] == {**xcom(trained, "collect_metrics")["fraud"]["held_out_at_threshold"]}
            assert result["average_precision"] == pytest.approx(summary["average_precision"])
    report = json.loads(Path(result["report_json"]).read_text())
    assert Path(result["report_png"]).read_bytes()[:4] == b"\x89PNG"
    assert report["job_ids"]["predict"] and report["job_ids"]["train (model's own run)"] == model["job_id"]
    assert report["computed"]["rows"] == TEST_ROWS and result["auc"] == report["computed"]["auc"]
    predicted = mlflow_registry().client.get_run(result["mlflow_run_id"])  # the MLflow prediction run
    assert predicted.data.params["fate.model_id"] == model["model_id"]
    assert predicted.data.metrics["party_9999.rows"] == TEST_ROWS
    assert {"report.json", "report.png"} <= {a.path for a in mlflow_registry().client.list_artifacts(
        result["mlflow_run_id"])}


def test_predict_with_a_given_model_on_the_training_rows(prepared, trained) -> None:
    registered = xcom(trained, "register_model")
    dag_run = run_dag("fate_predict", {**SMALL, "namespace": prepared["namespace"], "predict_split": "train",
                                       "model_id": registered["model_id"],
                                       "model_version": registered["model_version"]})
    assert str(dag_run.state) == "success", task_states(dag_run)
    assert xcom(dag_run, "choose_model")["source"] == "given"
    summaries = [xcom(dag_run, "download_predictions", i) for i in (0, 1)]
    assert {s["rows"] for s in summaries} == {TRAIN_ROWS}


def test_predict_without_a_promoted_model_fails_before_submitting(env, prepared, monkeypatch, capfd) -> None:
    monkeypatch.setenv("FATEOPS_REGISTRY_DIR", str(env["root"] / "empty-registry"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{env['root'] / 'empty-mlflow.db'}")
    dag_run = run_dag("fate_predict", {**SMALL, "namespace": prepared["namespace"]})
    states = task_states(dag_run)
    assert str(dag_run.state) == "failed" and states["choose_model"] == "failed"
    assert states["submit_prediction"] == "upstream_failed"
    assert "no model has been promoted yet" in "".join(capfd.readouterr())


def test_retrain_trains_again_and_applies_the_promotion_rule(env, prepared, trained) -> None:
    dag_run = run_dag("fate_retrain", {**SMALL, "namespace": prepared["namespace"], "auc_threshold": 0.99})
    assert str(dag_run.state) == "success", task_states(dag_run)
    summary = xcom(dag_run, "retrain_summary")
    assert summary["job_id"] != xcom(trained, "register_model")["job_id"]
    assert summary["promoted"] is False and "< threshold 0.9900" in summary["decision"]
    registry = mlflow_registry()
    assert len(registry.history()) == 2  # a worse (here: below-threshold) model does not move @champion
    assert registry.promoted().model_id == xcom(trained, "register_model")["model_id"]


# ---------------------------------------------------------------------------------------- pipeline
def test_the_whole_pipeline_runs_end_to_end(env) -> None:
    namespace = new_namespace(env)
    dag_run = run_dag("fate_credit_card_pipeline", {**SMALL, "namespace": namespace})
    states = task_states(dag_run)
    assert str(dag_run.state) == "success", states
    assert all(state == "success" for state in states.values()), states
    assert xcom(dag_run, "federate.summarize")["all_succeeded"] is True
    result = xcom(dag_run, "report")
    report = json.loads(Path(result["report_json"]).read_text())
    assert set(report["job_ids"]) == {"upload 9999/train", "upload 9999/test", "upload 10000/train",
                                      "upload 10000/test", "train", "predict"}
    assert report["counts"]["synthetic_data"] is True
    assert 0.5 < result["auc"] <= 1.0 and 0.5 < result["training_auc"] <= 1.0
    assert tables_in(env, namespace) == {"9999_train": TRAIN_ROWS, "9999_test": TEST_ROWS,
                                         "10000_train": TRAIN_ROWS, "10000_test": TEST_ROWS}
