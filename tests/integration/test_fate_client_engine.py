"""The FATE Flow client and our job specs against a REAL FATE 2.2 standalone engine.

Uses the engine at ``$FATEOPS_FATE_URL`` when it answers; otherwise the session's local engine
fixture (``tests/engine_fixtures.py``) starts one. Every table lives in a fresh namespace
``fateops_test_<random>`` and is deleted at the end. Jobs are awaited with bounded deadlines; the
timings printed (``-s``) are measurements, never assertions.
"""

from __future__ import annotations

import csv
import os
import random
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fateops.exceptions import FateFlowError, FateFlowUnavailable
from fateops.fate import (
    DEFAULT_URL,
    AsyncFateFlowClient,
    FateFlowClient,
    JobSnapshot,
    JobStatus,
    PartyTables,
    RetryPolicy,
    TableInfo,
    csv_meta,
    homo_lr_train_job,
    log_excerpt,
    metric_values,
    predict_job,
    reader_job,
    toy_example_job,
)
from fateops.fate import _flows as flows
from fateops.fate.transport import Call, ReturnCode
from fateops.fate.watch import JobWatch, await_job, wait_for_job

pytestmark = [pytest.mark.engine, pytest.mark.timeout(900)]

GUEST, HOST, ARBITER = "9999", "10000", "9999"
JOB_DEADLINE_S = 600  # generous: the engine is shared and the box has 2 cores


@pytest.fixture(scope="module")
def fate_base_url(request: pytest.FixtureRequest) -> str:
    url = os.environ.get("FATEOPS_FATE_URL", DEFAULT_URL)
    try:
        with FateFlowClient(url, retry=RetryPolicy(max_attempts=1), connect_timeout=2.0) as probe:
            probe.health()
        return url
    except FateFlowUnavailable:
        return str(request.getfixturevalue("fate_url"))  # starts fateops' own local engine


@pytest.fixture(scope="module")
def client(fate_base_url: str) -> Iterator[FateFlowClient]:
    with FateFlowClient(fate_base_url) as c:
        yield c


@pytest.fixture(scope="module")
def namespace(client: FateFlowClient) -> Iterator[str]:
    ns = f"fateops_test_{secrets.token_hex(4)}"
    yield ns
    assert client.table_delete(ns, "late") in (True, False)
    assert client.table_query(ns, "late") is None


@pytest.fixture(scope="module")
def bank_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small labelled, standardised dataset: y depends on x0 and x1, so LR reaches a high AUC."""
    rng = random.Random(7)
    path = tmp_path_factory.mktemp("data") / "bank.csv"
    with path.open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["id", "y", "x0", "x1", "x2"])
        for i in range(120):
            x = [rng.gauss(0, 1) for _ in range(3)]
            y = int(1.5 * x[0] - x[1] + rng.gauss(0, 0.5) > 0)
            w.writerow([f"id{i}", y, *(f"{v:.5f}" for v in x)])
    return path


def wait(client: FateFlowClient, job_id: str, what: str) -> tuple[JobSnapshot, float]:
    t0 = time.monotonic()
    wait_for_job(client, job_id, timeout_s=JOB_DEADLINE_S, poll_s=1.0, log=lambda _: None)
    snap = client.query_job(job_id)
    took = time.monotonic() - t0
    print(f"\n[timing] {what}: job {job_id} {snap.overall_status.value} in {took:.1f} s")
    return snap, took


def upload(client: FateFlowClient, path: Path, namespace: str, name: str) -> TableInfo:
    result = client.upload_file(path, namespace, name, csv_meta(), partitions=2)
    snap, _ = wait(client, result.job_id, f"upload {name}")
    assert snap.overall_status is JobStatus.SUCCESS, snap.describe()
    info = client.table_query(namespace, name)
    assert info is not None
    return info


# ------------------------------------------------------------------------------------- server
def test_health_reports_the_flow_version(client: FateFlowClient) -> None:
    info = client.health()
    assert info.version.startswith("2.2")
    assert info.http_port == int(client.settings.base_url.rsplit(":", 1)[1])


def test_fate_provider_lists_its_components_and_the_probe_cleans_up(client: FateFlowClient) -> None:
    probe = f"fateops-probe-test-{secrets.token_hex(3)}"
    provider = client._drive(flows.provider_components("fate", probe_party=probe))
    assert provider.name == "fate" and provider.version.startswith("2.2")
    assert provider.missing({"reader", "toy_example", "homo_lr", "evaluation", "psi", "coordinated_lr"}) == []
    left = client._drive(one_call(Call("GET", "/permission/resource/query", idempotent=True,
                                       params={"party_id": probe})))
    assert left["data"]["component"] == []


def one_call(call: Call) -> flows.Flow[dict]:
    return (yield call)


def test_unknown_job_is_a_typed_error(client: FateFlowClient) -> None:
    with pytest.raises(FateFlowError) as err:
        client.query_job("190001010000000000000")
    assert err.value.code == ReturnCode.JOB_NOT_FOUND
    assert err.value.endpoint == "GET /v2/job/query"


# --------------------------------------------------------------------------------------- toy
async def test_toy_example_succeeds_between_guest_and_host(fate_base_url: str) -> None:
    """The seed's run_toy_example check, driven the way the deferrable trigger drives it (async)."""
    async with AsyncFateFlowClient(fate_base_url) as client:
        assert (await client.health()).version.startswith("2.2")
        submitted = await client.submit_job(toy_example_job(GUEST, HOST, timeout=600))
        assert submitted.model_id == submitted.job_id and submitted.model_version == "0"
        seen: list[str] = []
        t0 = time.monotonic()
        outcome = await await_job(client, JobWatch(submitted.job_id, deadline=time.time() + JOB_DEADLINE_S),
                                  poll_s=1.0, log=seen.append)
        snap = await client.query_job(submitted.job_id)
        print(f"\n[timing] toy example: job {submitted.job_id} {snap.overall_status.value} in "
              f"{time.monotonic() - t0:.1f} s (FATE elapsed {max(p.elapsed_ms or 0 for p in snap.parties)} ms)")
        assert snap.overall_status is JobStatus.SUCCESS and outcome.status == "success"
        assert any("toy_example_0@guest" in line for line in seen)  # task transitions were logged
        assert {(p.role, p.party_id) for p in snap.parties} == {("guest", GUEST), ("host", HOST)}
        assert snap.progress == 100
        assert [t.task_name for t in snap.tasks] == ["toy_example_0", "toy_example_0"]
        assert all(t.timeout_s == 600 for t in snap.tasks)  # dag.conf.task.timeout reached the tasks
        listed = await client.list_jobs(job_id=submitted.job_id)
        assert listed.count == 2 and {j.status for j in listed.jobs} == {JobStatus.SUCCESS}


def test_stopping_a_running_job_cancels_it(client: FateFlowClient) -> None:
    job_id = client.submit_job(toy_example_job(GUEST, HOST, data_num=20000, timeout=600)).job_id
    deadline = time.monotonic() + JOB_DEADLINE_S
    while client.query_job(job_id, with_tasks=False).overall_status is not JobStatus.RUNNING:
        assert time.monotonic() < deadline, "job never started running"
        time.sleep(0.5)
    client.stop_job(job_id)
    snap, _ = wait(client, job_id, "stopped toy")
    assert snap.overall_status is JobStatus.CANCELED
    assert {p.status for p in snap.parties} == {JobStatus.CANCELED}


# ---------------------------------------------------------------------- failure, upload, rerun
@pytest.fixture(scope="module")
def failed_reader(client: FateFlowClient, namespace: str) -> JobSnapshot:
    """A reader job on table ``late`` before it exists: fails naming reader_0."""
    assert client.table_query(namespace, "late") is None
    job = reader_job(GUEST, HOST, (namespace, "late"), [(namespace, "late")], timeout=300)
    snap, _ = wait(client, client.submit_job(job).job_id, "reader on a missing table")
    return snap


@pytest.fixture(scope="module")
def late_table(client: FateFlowClient, namespace: str, bank_csv: Path, failed_reader: JobSnapshot) -> TableInfo:
    """``late`` uploaded only after the reader failed on it (so the rerun can succeed)."""
    return upload(client, bank_csv, namespace, "late")


def test_reader_on_a_missing_table_fails_naming_the_task(client: FateFlowClient, failed_reader: JobSnapshot) -> None:
    assert failed_reader.overall_status is JobStatus.FAILED
    assert failed_reader.failed_task_names() == ["reader_0"]
    guest_task = next(t for t in failed_reader.failed_tasks() if t.role == "guest")
    assert "No found table" in guest_task.error_summary
    excerpt = client.task_error_excerpt(failed_reader.job_id, "guest", GUEST, "reader_0")
    assert "No found table" in excerpt and "late" in excerpt
    logs = client.download_job_log(failed_reader.job_id)
    assert "No found table" in log_excerpt(logs, role="host", party_id=HOST, task_name="reader_0")


def _rerun(client: FateFlowClient, job_id: str, what: str) -> JobSnapshot:
    client.rerun_job(job_id)
    deadline = time.monotonic() + 120
    while client.query_job(job_id, with_tasks=False).is_terminal:  # the rerun first flips the job back
        assert time.monotonic() < deadline, "rerun did not restart the job"
        time.sleep(0.5)
    snap, _ = wait(client, job_id, what)
    return snap


def test_rerun_runs_the_failed_tasks_again_as_a_new_version(client: FateFlowClient,
                                                            failed_reader: JobSnapshot) -> None:
    snap = _rerun(client, failed_reader.job_id, "rerun with the table still missing")
    assert snap.job_id == failed_reader.job_id
    assert snap.overall_status is JobStatus.FAILED
    assert {(t.task_name, t.task_version, t.status) for t in snap.tasks} == {("reader_0", 1, JobStatus.FAILED)}


def test_upload_creates_a_table_with_its_schema(late_table: TableInfo, namespace: str) -> None:
    assert (late_table.namespace, late_table.name, late_table.count) == (namespace, "late", 120)
    assert late_table.columns == ("x0", "x1", "x2")
    assert (late_table.label_name, late_table.match_id_name) == ("y", "id")


def test_rerun_after_fixing_the_input_succeeds(client: FateFlowClient, failed_reader: JobSnapshot,
                                               late_table: TableInfo) -> None:
    """The seed's "retry from the failed step": same job id, only the failed task re-runs."""
    before = max(t.task_version for t in client.query_tasks(failed_reader.job_id, role="guest"))
    snap = _rerun(client, failed_reader.job_id, "rerun after uploading the table")
    assert snap.overall_status is JobStatus.SUCCESS
    assert {(t.task_name, t.task_version, t.status) for t in snap.tasks} == \
        {("reader_0", before + 1, JobStatus.SUCCESS)}
    # FATE 2.2's task query answers the newest version of each task only: the rerun replaced version `before`
    versions = sorted({t.task_version for t in client.query_tasks(failed_reader.job_id, role="guest")})
    assert versions == [before + 1]


# ------------------------------------------------------------------------- train, metrics, predict
@pytest.fixture(scope="module")
def trained(client: FateFlowClient, namespace: str, late_table: TableInfo) -> JobSnapshot:
    """Homo LR on the uploaded table (both parties read it), validated on it, evaluated with AUC/KS/…"""
    t = (namespace, "late")
    job = homo_lr_train_job(GUEST, HOST, ARBITER, t, [t], validate_tables=PartyTables.of(t, [t]), epochs=3,
                            batch_size=32, learning_rate=0.3, timeout=600)
    snap, _ = wait(client, client.submit_job(job).job_id, "homo LR train + evaluation")
    assert snap.overall_status is JobStatus.SUCCESS, [(t.key, t.error_summary) for t in snap.failed_tasks()]
    return snap


def test_evaluation_metrics_are_queryable(client: FateFlowClient, trained: JobSnapshot) -> None:
    records = client.query_metrics(trained.job_id, "guest", GUEST, "evaluation_0")
    scores = metric_values(records)["homo_lr_0"]
    assert set(scores) == {"train_set", "validate_set"}
    for name in ("auc", "ks", "binary_precision", "binary_recall", "binary_accuracy"):
        assert 0.0 <= scores["train_set"][name] <= 1.0, name
    assert scores["train_set"]["auc"] > 0.8  # the label is a noisy linear function of x0, x1
    print(f"\n[metrics] homo LR guest train_set {scores['train_set']}")


def test_model_and_output_data_download(client: FateFlowClient, trained: JobSnapshot, tmp_path: Path) -> None:
    model = client.query_model(trained.job_id, "guest", GUEST, "homo_lr_0")
    assert model, "empty model"
    files = client.download_model(trained.job_id, "guest", GUEST, "homo_lr_0", tmp_path / "model")
    assert files and all(f.is_file() and f.is_relative_to(tmp_path / "model") for f in files)
    csvs = client.download_output_data(trained.job_id, "guest", GUEST, "homo_lr_0", tmp_path / "data")
    assert len(csvs) == 1
    with csvs[0].open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 240  # train_set + validate_set rows
    assert {"predict_score", "type"} <= set(rows[0])
    assert {r["type"] for r in rows} == {"train_set", "validate_set"}


def test_export_model_writes_files_on_the_server(client: FateFlowClient, trained: JobSnapshot,
                                                 tmp_path: Path) -> None:
    export_dir = tmp_path / "export"
    written = client.export_model(trained.model_id, trained.model_version, "guest", GUEST, str(export_dir))
    assert client.settings.base_url.startswith("http://127.0.0.1"), "the engine shares this host's files"
    on_disk = [p for p in export_dir.rglob("*") if p.is_file()]
    assert on_disk, f"nothing exported under {export_dir}"
    assert all(Path(p).exists() for p in written)  # FATE may or may not list them; any it lists exist


def test_predict_with_the_trained_model(client: FateFlowClient, namespace: str, trained: JobSnapshot) -> None:
    t = (namespace, "late")
    job = predict_job(GUEST, HOST, ARBITER, t, [t], trained.model_id, trained.model_version, evaluate=True,
                      timeout=600)
    snap, _ = wait(client, client.submit_job(job).job_id, "homo LR predict + evaluation")
    assert snap.overall_status is JobStatus.SUCCESS, [(t.key, t.error_summary) for t in snap.failed_tasks()]
    scores = metric_values(client.query_metrics(snap.job_id, "guest", GUEST, "evaluation_0"))
    assert scores["homo_lr_0"]["test_set"]["auc"] > 0.8
