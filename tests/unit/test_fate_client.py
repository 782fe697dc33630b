"""FATE Flow client plumbing that a real server cannot produce on demand.

Only the error paths use ``httpx.MockTransport`` (5xx, resets, timeouts, malformed bodies, 429);
connection refused is real (a closed local port). Everything else is tested against the real engine
in tests/integration/test_fate_client_engine.py.
"""

from __future__ import annotations

import inspect
import io
import json
import logging
import socket
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from fateops.exceptions import ConfigError, DataValidationError, FateFlowError, FateFlowUnavailable
from fateops.fate import (
    AsyncFateFlowClient,
    FateFlowAuth,
    FateFlowClient,
    FateFlowSettings,
    JobSnapshot,
    JobStatus,
    RetryPolicy,
    TaskInfo,
    csv_meta,
    log_excerpt,
    metric_values,
    toy_example_job,
)
from fateops.fate.auth import sign
from fateops.fate.upload import check_csv

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fate"
FAST = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, jitter=0.0)
SUBMIT_OK = {"code": 0, "message": "success", "job_id": "202611280000000000001",
             "data": {"model_id": "202611280000000000001", "model_version": "0"}}


class Script:
    """A MockTransport handler answering from a list of steps (a Response, a dict body or an exception)."""

    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return httpx.Response(200, json=step)


def client_for(script: Script, **kw: Any) -> FateFlowClient:
    settings = FateFlowSettings(base_url="http://127.0.0.1:9380", retry=kw.pop("retry", FAST), **kw)
    return FateFlowClient.from_settings(settings, transport=httpx.MockTransport(script))


def aclient_for(script: Script, **kw: Any) -> AsyncFateFlowClient:
    settings = FateFlowSettings(base_url="http://127.0.0.1:9380", retry=kw.pop("retry", FAST), **kw)
    return AsyncFateFlowClient.from_settings(settings, transport=httpx.MockTransport(script))


# ------------------------------------------------------------------------------------ envelope
def test_code_not_zero_raises_typed_error_with_code_message_endpoint() -> None:
    script = Script({"code": 1001, "message": "No found job"})
    with client_for(script) as client, pytest.raises(FateFlowError) as err:
        client.query_job("202611280000000000001")
    assert err.value.code == 1001
    assert err.value.endpoint == "GET /v2/job/query"
    assert "No found job" in err.value.message
    assert not isinstance(err.value, FateFlowUnavailable)
    assert len(script.requests) == 1  # an answer, not a transient failure: never retried


def test_invalid_parameter_details_are_kept() -> None:
    script = Script({"code": 5001, "message": "Invalid request.",
                     "data": {"json": {"dag_schema": ["Missing data for required field."]}}})
    with client_for(script) as client, pytest.raises(FateFlowError) as err:
        client.stop_job("123")
    assert err.value.code == 5001
    assert "Missing data for required field" in str(err.value)


@pytest.mark.parametrize("body", [b"<html>502 bad gateway</html>", b'["no", "envelope"]'])
def test_malformed_body_is_an_error_not_retried(body: bytes) -> None:
    script = Script(httpx.Response(200, content=body))
    with client_for(script) as client, pytest.raises(FateFlowError) as err:
        client.health()
    assert not isinstance(err.value, FateFlowUnavailable)
    assert err.value.endpoint == "GET /v2/server/fateflow"
    assert len(script.requests) == 1


def test_http_404_is_a_clear_error() -> None:
    script = Script(httpx.Response(404, text="Not Found"))
    with client_for(script) as client, pytest.raises(FateFlowError, match="HTTP 404"):
        client.list_jobs()
    assert len(script.requests) == 1


# --------------------------------------------------------------------------------------- retries
def test_5xx_on_a_read_is_retried_then_succeeds_and_each_wait_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    ok = {"code": 0, "message": "success", "data": {"flow-1": {"host": "127.0.0.1", "http_port": 9380,
                                                              "grpc_port": 9360, "version": "2.2.0"}}}
    script = Script(httpx.Response(503), httpx.Response(502), ok)
    with caplog.at_level(logging.WARNING, logger="fateops.fate.retry"), client_for(script) as client:
        info = client.health()
    assert (info.version, info.http_port, info.grpc_port) == ("2.2.0", 9380, 9360)
    assert len(script.requests) == 3
    waits = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(waits) == 2 and "HTTP 503" in waits[0] and "retry 1/2" in waits[0]


def test_5xx_on_a_read_gives_up_after_max_attempts() -> None:
    script = Script(httpx.Response(500))
    with client_for(script) as client, pytest.raises(FateFlowUnavailable, match="gave up after 3"):
        client.query_tasks("202611280000000000001")
    assert len(script.requests) == 3


@pytest.mark.parametrize("method", ["submit", "stop", "rerun", "upload"])
def test_5xx_on_a_non_idempotent_post_is_not_retried(method: str, tmp_path: Path) -> None:
    script = Script(httpx.Response(500))
    csv = tmp_path / "d.csv"
    csv.write_text("id,y,x0\na,1,0.5\n")
    calls: dict[str, Callable[[FateFlowClient], Any]] = {
        "submit": lambda c: c.submit_job(toy_example_job(9999, 10000)),
        "stop": lambda c: c.stop_job("202611280000000000001"),
        "rerun": lambda c: c.rerun_job("202611280000000000001"),
        "upload": lambda c: c.upload_file(csv, "ns", "t", csv_meta()),
    }
    with client_for(script) as client, pytest.raises(FateFlowUnavailable, match="not repeated"):
        calls[method](client)
    assert len(script.requests) == 1


def test_read_timeout_on_submit_is_not_retried_but_on_a_get_it_is() -> None:
    submit = Script(httpx.ReadTimeout("timed out"))
    with client_for(submit) as client, pytest.raises(FateFlowUnavailable, match="may have reached"):
        client.submit_job(toy_example_job(9999, 10000))
    assert len(submit.requests) == 1

    query = Script(httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("reset"),
                   {"code": 0, "message": "success", "data": []})
    with client_for(query) as client:
        assert client.query_tasks("202611280000000000001") == []
    assert len(query.requests) == 3


def test_connect_error_is_retried_even_for_submit_because_nothing_was_sent() -> None:
    script = Script(httpx.ConnectError("connection refused"), SUBMIT_OK)
    with client_for(script) as client:
        result = client.submit_job(toy_example_job(9999, 10000))
    assert result.job_id == "202611280000000000001" and result.model_version == "0"
    assert len(script.requests) == 2
    assert json.loads(script.requests[-1].content)["dag_schema"]["dag"]["tasks"]["toy_example_0"]


def test_429_honours_retry_after_even_for_submit(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("fateops.fate.client.time.sleep", slept.append)
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}), SUBMIT_OK)
    with client_for(script, retry=RetryPolicy(max_attempts=3, max_retry_after=5.0)) as client:
        client.submit_job(toy_example_job(9999, 10000))
    assert slept == [5.0]  # capped by max_retry_after


def test_backoff_grows_exponentially_within_jitter_and_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, jitter=0.25)
    for attempt, nominal in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 8.0)]:
        delays = [policy.backoff(attempt) for _ in range(50)]
        assert all(nominal * 0.75 <= d <= nominal * 1.25 for d in delays)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_connection_refused_becomes_unavailable_after_retries(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with caplog.at_level(logging.WARNING, logger="fateops.fate.retry"), \
            FateFlowClient(url, retry=FAST, connect_timeout=2.0) as client, \
            pytest.raises(FateFlowUnavailable) as err:
        client.health()
    assert err.value.endpoint == "GET /v2/server/fateflow"
    assert "ConnectError" in err.value.message
    assert "engine status" in err.value.fix
    assert sum("retry" in r.getMessage() for r in caplog.records) == FAST.max_attempts - 1


# ------------------------------------------------------------------------------------------ async
UPLOAD_OK = {"code": 0, "message": "success", "job_id": "202611280000000000009",
             "data": {"name": "t", "namespace": "ns"}}


def _assert_multipart(request: httpx.Request) -> None:
    body = request.content.decode()
    assert request.url.path == "/v2/data/component/upload/file"
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert 'name="file"; filename="d.csv"' in body and "id,y,x0" in body
    for field, value in (("head", "true"), ("partitions", "2"), ("extend_sid", "true"), ("namespace", "ns")):
        assert f'name="{field}"\r\n\r\n{value}\r\n' in body
    assert '"label_name": "y"' in body


async def test_upload_sends_the_file_and_form_fields_from_both_clients(tmp_path: Path) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text("id,y,x0\na,1,0.5\n")
    sync_script, async_script = Script(UPLOAD_OK), Script(UPLOAD_OK)
    with client_for(sync_script) as client:
        assert client.upload_file(csv, "ns", "t", csv_meta(), partitions=2).job_id == "202611280000000000009"
    async with aclient_for(async_script) as aclient:
        result = await aclient.upload_file(csv, "ns", "t", csv_meta(), partitions=2)
    assert (result.job_id, result.namespace, result.name) == ("202611280000000000009", "ns", "t")
    _assert_multipart(sync_script.requests[0])
    _assert_multipart(async_script.requests[0])


async def test_async_client_has_the_same_retry_semantics() -> None:
    reads = Script(httpx.Response(503), {"code": 0, "message": "success", "data": {"count": 0, "data": []}})
    async with aclient_for(reads) as client:
        page = await client.list_jobs(limit=5)
    assert page.count == 0 and len(reads.requests) == 2

    submit = Script(httpx.Response(503))
    async with aclient_for(submit) as client:
        with pytest.raises(FateFlowUnavailable, match="not repeated"):
            await client.submit_job(toy_example_job(9999, 10000))
    assert len(submit.requests) == 1

    missing = Script({"code": 7001, "message": "No found table"})
    async with aclient_for(missing) as client:
        assert await client.table_query("ns", "t") is None
        assert await client.table_delete("ns", "t") is False


def test_sync_and_async_clients_offer_the_same_methods_and_signatures() -> None:
    def public(cls: type) -> dict[str, inspect.Signature]:
        return {n: inspect.signature(f) for n, f in vars(cls).items()
                if callable(f) and not n.startswith("_") and n not in ("close", "from_settings")}

    sync, async_ = public(FateFlowClient), public(AsyncFateFlowClient)
    assert sync.keys() == async_.keys()
    for name in sync:
        assert [p.name for p in sync[name].parameters.values()] == \
               [p.name for p in async_[name].parameters.values()], name
        assert inspect.iscoroutinefunction(getattr(AsyncFateFlowClient, name)), name


# -------------------------------------------------------------------------------------- validation
def test_identifiers_are_checked_before_anything_is_sent() -> None:
    script = Script({"code": 0, "data": []})
    with client_for(script) as client:
        with pytest.raises(ConfigError) as err:
            client.task_log("202611280000000000001", "guest", "9999", "reader_0; cat /etc/passwd")
        assert err.value.field == "task_name"
        with pytest.raises(ConfigError) as err:
            client.query_metrics("1", "boss", "9999", "evaluation_0")
        assert err.value.field == "role"
        with pytest.raises(ConfigError, match=r"not \{'dag_schema'"):
            client.submit_job({"dag_schema": toy_example_job(9999, 10000)})
    assert script.requests == []


def test_settings_normalise_the_url_and_reject_garbage() -> None:
    assert FateFlowSettings(base_url="http://h:9380/v2/").api_url == "http://h:9380/v2"
    for bad in ("127.0.0.1:9380", "ftp://h:1", "http://h:9380/fate"):
        with pytest.raises(ConfigError) as err:
            FateFlowSettings(base_url=bad)
        assert err.value.field == "base_url"
    with pytest.raises(ConfigError):
        FateFlowSettings(read_timeout=0)


def test_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FATEOPS_FATE_URL", "http://10.1.2.3:9380")
    with FateFlowClient() as client:
        assert client.settings.api_url == "http://10.1.2.3:9380/v2"


# ------------------------------------------------------------------------------------------- auth
def test_signature_matches_fate_clients_own_signer() -> None:
    vectors = json.loads((FIXTURES / "auth_vectors.json").read_text())
    for v in vectors:
        auth = FateFlowAuth(v["app_id"], v["app_token"], v["user_name"])
        expected = v["headers"]
        assert auth.headers(now_ms=int(expected["Timestamp"]), nonce=expected["Nonce"]) == expected


def test_auth_headers_are_sent_fresh_and_the_token_never_shows() -> None:
    script = Script({"code": 0, "message": "success", "data": {"count": 0, "data": []}})
    auth = FateFlowAuth("fateops", "very-secret-token", "alice")
    with client_for(script, auth=auth) as client:
        client.list_jobs()
        client.list_jobs()
        shown = repr(client) + repr(client.settings) + repr(auth)
    assert "very-secret-token" not in shown
    first, second = (r.headers for r in script.requests)
    for h in (first, second):
        assert h["appId"] == "fateops" and h["userName"] == "alice"
        assert len(h["Nonce"]) == 4 and h["Nonce"].isdigit()
        assert h["Signature"] == sign("fateops", "very-secret-token", "alice", h["Nonce"], h["Timestamp"])
        assert "very-secret-token" not in str(dict(h))


def test_no_auth_headers_by_default() -> None:
    script = Script({"code": 0, "message": "success", "data": {"count": 0, "data": []}})
    with client_for(script) as client:
        client.list_jobs()
    assert "Signature" not in script.requests[0].headers


# ----------------------------------------------------------------------------------------- models
def _party(role: str, pid: str, status: str, progress: int = 0) -> dict[str, Any]:
    return {"job_id": "1", "role": role, "party_id": pid, "status": status, "progress": progress,
            "model_id": "1", "model_version": "0"}


def _task(name: str, role: str, pid: str, status: str, version: int = 0, report: str = "") -> TaskInfo:
    return TaskInfo.from_api({"job_id": "1", "task_name": name, "role": role, "party_id": pid, "status": status,
                              "task_version": version, "error_report": report})


@pytest.mark.parametrize(
    ("statuses", "overall", "terminal"),
    [
        (["waiting", "waiting"], JobStatus.WAITING, False),
        (["running", "waiting"], JobStatus.RUNNING, False),
        (["success", "running"], JobStatus.RUNNING, False),
        (["success", "success"], JobStatus.SUCCESS, True),
        (["failed", "canceled"], JobStatus.FAILED, True),
        (["canceled", "timeout"], JobStatus.TIMEOUT, True),
        (["canceled", "canceled"], JobStatus.CANCELED, True),
        (["success", "brand-new-status"], JobStatus.UNKNOWN, False),
    ],
)
def test_overall_status_needs_every_party(statuses: list[str], overall: JobStatus, terminal: bool) -> None:
    snap = JobSnapshot.from_api("1", [_party("guest", "9999", statuses[0], 40), _party("host", "10000",
                                                                                     statuses[1], 60)])
    assert snap.overall_status is overall
    assert snap.is_terminal is terminal
    assert snap.progress == 40


def test_failed_tasks_use_the_newest_version_and_put_real_failures_first() -> None:
    snap = JobSnapshot.from_api("1", [_party("guest", "9999", "failed")], tasks=[
        _task("reader_0", "guest", "9999", "failed", 0, "No found table"),
        _task("reader_0", "guest", "9999", "success", 1),
        _task("homo_lr_0", "host", "10000", "canceled"),
        _task("homo_lr_0", "guest", "9999", "failed", 0, "boom"),
    ])
    assert [t.key for t in snap.failed_tasks()] == ["homo_lr_0@guest:9999", "homo_lr_0@host:10000"]
    assert snap.failed_task_names() == ["homo_lr_0"]
    assert snap.failed_tasks()[0].error_report == "boom"
    check = _task("reader_0", "guest", "9999", "failed",
                  report='Check failed[{"code":7001,"message":"No found table"}\n]')
    assert check.error_summary == 'Check failed[{"code":7001,"message":"No found table"}'
    trace = _task("t", "guest", "9999", "failed",
                  report="Traceback (most recent call last):\n  File x\nValueError: bad\n")
    assert trace.error_summary == "ValueError: bad"
    assert "guest:9999=failed" in snap.describe()


def test_metric_values_reads_scalar_scores_per_dataset() -> None:
    records = [{"name": "evaluation", "type": "evaluation", "data": {
        "homo_lr_0": {"train_set": [{"metric": "auc", "val": 0.91}, {"metric": "ks", "val": 0.7},
                                    [{"metric": "lift", "val": [1, 2]}]],
                      "validate_set": [{"metric": "auc", "val": 0.88}]},
        "homo_lr_1": {"test_set": [{"metric": "binary_precision", "val": 1}]}}}]
    assert metric_values(records) == {"homo_lr_0": {"train_set": {"auc": 0.91, "ks": 0.7},
                                                    "validate_set": {"auc": 0.88}},
                                      "homo_lr_1": {"test_set": {"binary_precision": 1.0}}}


def _tar(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_log_excerpt_prefers_the_task_error_log_and_keeps_the_tail() -> None:
    tar = _tar({
        "guest/9999/reader_0/root/ERROR": "\n".join(f"line {i}" for i in range(100)) + "\nNo found table\n",
        "guest/9999/reader_0/root/INFO": "all good\n",
        "host/10000/reader_0/root/ERROR": "host problem\n",
    })
    text = log_excerpt(tar, role="guest", party_id="9999", task_name="reader_0", max_lines=5)
    assert text.splitlines()[-1] == "No found table"
    assert len(text.splitlines()) == 5 and "host problem" not in text
    assert log_excerpt(tar, role="host", party_id="10000", task_name="psi_0") == ""


def test_upload_checks_the_csv_header_against_meta(tmp_path: Path) -> None:
    csv = tmp_path / "bank.csv"
    csv.write_text("id,Class,V1\n1,0,0.3\n")
    assert check_csv(csv, csv_meta(label_name="Class")) == ["id", "Class", "V1"]
    with pytest.raises(DataValidationError, match="'y'"):
        check_csv(csv, csv_meta())
    with pytest.raises(DataValidationError, match="does not exist"):
        check_csv(tmp_path / "nope.csv", csv_meta())
    assert csv_meta(label_name=None) == {"delimiter": ",", "dtype": "float64", "match_id_name": "id",
                                         "input_format": "dense"}
