"""Every client operation, written once as a sans-IO generator.

An operation yields :class:`Call` objects and receives each parsed reply (``dict`` for JSON, ``bytes``
for files); a :class:`FateFlowError` from a call is thrown back into the generator at its ``yield``,
so an operation can treat "not found" as an answer. What it returns is the operation's result. The
sync and the async client only *drive* these generators, which is why their methods are one-liners
with identical behaviour.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fateops.exceptions import ConfigError, FateFlowError
from fateops.fate import archives
from fateops.fate.jobs import TableRef
from fateops.fate.models import (
    JobSnapshot,
    PartyJob,
    ProviderComponents,
    ServerInfo,
    SubmitResult,
    TableInfo,
    TaskInfo,
    UploadResult,
)
from fateops.fate.transport import Call, ReturnCode, checked
from fateops.fate.upload import check_csv

T = TypeVar("T")
Flow = Generator[Call, Any, T]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobList:
    """One page of ``/job/list/query``: ``count`` is the total over all pages (rows are per party)."""

    count: int
    jobs: tuple[PartyJob, ...]


def _data(body: Mapping[str, Any], call: Call) -> Any:
    if "data" not in body:
        raise FateFlowError("answer has no 'data' field", endpoint=call.endpoint)
    return body["data"]


# ------------------------------------------------------------------------------------------- server
def health() -> Flow[ServerInfo]:
    call = Call("GET", "/server/fateflow", idempotent=True)
    servers = _data((yield call), call) or {}
    if not isinstance(servers, dict) or not servers:
        raise FateFlowError("no FATE Flow instance is registered", endpoint=call.endpoint,
                            fix="the server is still starting or its service registry is broken; see its logs")
    instance_id = sorted(servers)[0]
    return ServerInfo.from_api(instance_id, servers[instance_id])


def provider_components(name: str = "fate", probe_party: str | None = None) -> Flow[ProviderComponents]:
    """The provider's registration plus the components the server knows.

    FATE Flow 2.2 has no read-only endpoint listing components; the only route to the server's
    component table is the resource-permission API: granting ``component="*"`` to a party expands to
    every registered component. So this grants ``*`` to a throw-away probe party, reads the grant back
    and revokes exactly what it read (``delete`` with ``*`` is a no-op in 2.2). The probe party is
    never used by a job, so the grant has no effect even with site permission on.
    """
    call = Call("GET", "/provider/query", idempotent=True, params={"name": name})
    rows = _data((yield call), call) or []
    if not rows:
        raise FateFlowError(f"component provider {name!r} is not registered", endpoint=call.endpoint,
                            fix="reinstall the engine (setuptools<81 is needed for FATE to register its "
                                "components) and restart FATE Flow; see its ERROR.log")
    row = max(rows, key=lambda r: str(r.get("version", "")))
    probe = probe_party or f"fateops-probe-{secrets.token_hex(4)}"
    yield Call("POST", "/permission/resource/grant", idempotent=True, json={"party_id": probe, "component": "*"})
    call = Call("GET", "/permission/resource/query", idempotent=True, params={"party_id": probe})
    try:
        granted = _data((yield call), call) or {}
    except FateFlowError:
        log.warning("could not read back component probe party %s; its grant is left in place", probe)
        raise
    components = frozenset(str(c) for c in granted.get("component") or [])
    if components:
        try:
            yield Call("POST", "/permission/resource/delete", idempotent=True,
                       json={"party_id": probe, "component": ",".join(sorted(components))})
        except FateFlowError as exc:
            log.warning("could not revoke component probe party %s: %s", probe, exc)
    return ProviderComponents(name=str(row.get("name", name)), version=str(row.get("version", "")),
                              provider_name=str(row.get("provider_name", "")), device=str(row.get("device", "")),
                              components=components)


# --------------------------------------------------------------------------------------------- data
def upload_file(path: Path | str, namespace: str, name: str, meta: Mapping[str, Any], *, head: bool = True,
                partitions: int = 4, extend_sid: bool = True) -> Flow[UploadResult]:
    table = TableRef(namespace, name)
    path = Path(path)
    check_csv(path, meta, head=head)
    if not isinstance(partitions, int) or isinstance(partitions, bool) or not 1 <= partitions <= 1024:
        raise ConfigError("partitions must be an integer in 1..1024", field="partitions", value=partitions)
    form = {"head": str(bool(head)).lower(), "partitions": str(partitions), "meta": json.dumps(dict(meta)),
            "extend_sid": str(bool(extend_sid)).lower(), "namespace": table.namespace, "name": table.name}
    call = Call("POST", "/data/component/upload/file", idempotent=False, form=form, upload=path, transfer=True)
    body = yield call
    job_id = body.get("job_id")
    if not job_id:
        raise FateFlowError("upload accepted but no job id returned", endpoint=call.endpoint)
    return UploadResult(job_id=str(job_id), namespace=table.namespace, name=table.name)


def table_query(namespace: str, name: str) -> Flow[TableInfo | None]:
    table = TableRef(namespace, name)
    call = Call("GET", "/table/query", idempotent=True, params=table.as_params())
    try:
        body = yield call
    except FateFlowError as exc:
        if exc.code == ReturnCode.TABLE_NOT_FOUND:
            return None
        raise
    return TableInfo.from_api(_data(body, call))


def table_delete(namespace: str, name: str) -> Flow[bool]:
    """Idempotent in effect: ``False`` when the table was already absent."""
    table = TableRef(namespace, name)
    try:
        yield Call("POST", "/table/delete", idempotent=True, json=table.as_params())
    except FateFlowError as exc:
        if exc.code == ReturnCode.TABLE_NOT_FOUND:
            return False
        raise
    return True


# --------------------------------------------------------------------------------------------- jobs
def submit_job(dag_schema: Mapping[str, Any]) -> Flow[SubmitResult]:
    if "dag_schema" in dag_schema and "dag" not in dag_schema:
        raise ConfigError("pass the dag_schema itself, not {'dag_schema': ...}", field="dag_schema")
    if not isinstance(dag_schema.get("dag"), Mapping) or not dag_schema.get("schema_version"):
        raise ConfigError("a dag_schema is {'dag': {...}, 'schema_version': '2.2.0'}", field="dag_schema",
                          fix="build it with fateops.fate.jobs")
    call = Call("POST", "/job/submit", idempotent=False, json={"dag_schema": dict(dag_schema)})
    body = yield call
    data = body.get("data") or {}
    job_id = body.get("job_id")
    if not job_id:
        raise FateFlowError("submit accepted but no job id returned", endpoint=call.endpoint)
    return SubmitResult(job_id=str(job_id), model_id=str(data.get("model_id") or job_id),
                        model_version=str(data.get("model_version", "0")))


def query_tasks(job_id: str, *, role: str | None = None, party_id: str | int | None = None,
                task_name: str | None = None) -> Flow[list[TaskInfo]]:
    """Every task row (all versions; a rerun adds versions). ``[]`` when the job has no tasks yet."""
    params = checked(job_id=job_id)
    for key, value in (("role", role), ("party_id", party_id), ("task_name", task_name)):
        if value is not None:
            params |= checked(**{key: value})
    call = Call("GET", "/job/task/query", idempotent=True, params=params)
    try:
        body = yield call
    except FateFlowError as exc:
        if exc.code == ReturnCode.TASK_NOT_FOUND:
            return []
        raise
    rows = _data(body, call) or []
    return sorted((TaskInfo.from_api(r) for r in rows), key=lambda t: (t.task_name, t.role, t.party_id,
                                                                         t.task_version))


def query_job(job_id: str, *, with_tasks: bool = True) -> Flow[JobSnapshot]:
    """Every party's row of the job (+ its tasks); ``FateFlowError`` code 1001 if there is no such job."""
    params = checked(job_id=job_id)
    call = Call("GET", "/job/query", idempotent=True, params=params)
    rows = _data((yield call), call) or []
    snapshot = JobSnapshot.from_api(params["job_id"], rows)
    if with_tasks:
        snapshot = snapshot.with_tasks((yield from query_tasks(params["job_id"])))
    return snapshot


def list_jobs(*, limit: int = 20, page: int = 1, job_id: str | None = None, status: str | None = None,
              role: str | None = None, party_id: str | int | None = None) -> Flow[JobList]:
    params: dict[str, Any] = {"limit": int(limit), "page": int(page)}
    if job_id is not None:
        params |= checked(job_id=job_id)
    if role is not None:
        params["role"] = [checked(role=role)["role"]]
    if party_id is not None:
        params |= checked(party_id=party_id)
    if status is not None:
        params["status"] = [str(status)]
    call = Call("GET", "/job/list/query", idempotent=True, params=params)
    data = _data((yield call), call) or {}
    return JobList(count=int(data.get("count") or 0),
                   jobs=tuple(PartyJob.from_api(r) for r in data.get("data") or []))


def stop_job(job_id: str) -> Flow[None]:
    """Ask every party to stop the job (it ends ``canceled``). Never retried if the outcome is unknown."""
    yield Call("POST", "/job/stop", idempotent=False, json=checked(job_id=job_id))


def rerun_job(job_id: str) -> Flow[None]:
    """Re-run the failed/canceled/timed-out tasks of a job as a new ``task_version`` (same job id)."""
    yield Call("POST", "/job/rerun", idempotent=False, json=checked(job_id=job_id))


# --------------------------------------------------------------------------------------------- logs
def download_job_log(job_id: str) -> Flow[bytes]:
    """The job's whole log directory as ``tar.gz`` bytes (read-only, so safe to retry)."""
    return (yield Call("POST", "/job/log/download", idempotent=True, json=checked(job_id=job_id), expect="bytes",
                       transfer=True))


def task_log(job_id: str, role: str, party_id: str | int, task_name: str, *, log_type: str = "task_error",
             begin: int | None = None, end: int | None = None) -> Flow[list[str]]:
    params = checked(job_id=job_id, role=role, party_id=party_id, task_name=task_name, log_type=log_type)
    params_any: dict[str, Any] = dict(params)
    if begin is not None:
        params_any["begin"] = int(begin)
    if end is not None:
        params_any["end"] = int(end)
    call = Call("GET", "/log/query", idempotent=True, params=params_any)
    rows = _data((yield call), call) or []
    return [str(r.get("content", "")) for r in rows if isinstance(r, Mapping)]


def task_error_excerpt(job_id: str, role: str, party_id: str | int, task_name: str, *,
                       max_lines: int = 40) -> Flow[str]:
    """The tail of a task's ERROR log, cheaply (two small calls); the log tarball only as a fallback."""
    params = checked(job_id=job_id, role=role, party_id=party_id, task_name=task_name)
    call = Call("GET", "/log/count", idempotent=True, params={**params, "log_type": "task_error"})
    count = int(_data((yield call), call) or 0)
    if count > 0:
        lines = yield from task_log(job_id, role, party_id, task_name, begin=max(1, count - max_lines + 1))
        text = "\n".join(line for line in lines).strip()
        if text:
            return text
    try:
        tar = yield from download_job_log(job_id)
    except FateFlowError as exc:
        if exc.code == ReturnCode.FILE_NOT_FOUND:
            return ""
        raise
    return archives.log_excerpt(tar, role=params["role"], party_id=params["party_id"],
                                task_name=params["task_name"], max_lines=max_lines)


# ------------------------------------------------------------------------------------------ outputs
def _task_params(job_id: str, role: str, party_id: str | int, task_name: str) -> dict[str, str]:
    return checked(job_id=job_id, role=role, party_id=party_id, task_name=task_name)


def query_metrics(job_id: str, role: str, party_id: str | int, task_name: str) -> Flow[list[dict[str, Any]]]:
    """The task's metric records as FATE stores them (see :func:`fateops.fate.metrics.metric_values`)."""
    call = Call("GET", "/output/metric/query", idempotent=True,
                params=_task_params(job_id, role, party_id, task_name))
    data = _data((yield call), call) or []
    return [dict(m) for m in data if isinstance(m, Mapping)]


def query_model(job_id: str, role: str, party_id: str | int, task_name: str) -> Flow[dict[str, Any]]:
    call = Call("GET", "/output/model/query", idempotent=True,
                params=_task_params(job_id, role, party_id, task_name))
    return dict(_data((yield call), call) or {})


def download_model(job_id: str, role: str, party_id: str | int, task_name: str, dest: Path | str) -> Flow[list[Path]]:
    """The task's model artefacts (a tar), extracted under ``dest``."""
    data = yield Call("GET", "/output/model/download", idempotent=True,
                      params=_task_params(job_id, role, party_id, task_name), expect="bytes", transfer=True)
    return archives.extract_tar(data, Path(dest))


def download_output_data(job_id: str, role: str, party_id: str | int, task_name: str, dest: Path | str, *,
                         output_key: str | None = None) -> Flow[list[Path]]:
    """The task's output data (tar.gz of csv + meta) extracted under ``dest``; returns the csv paths."""
    params = _task_params(job_id, role, party_id, task_name)
    if output_key is not None:
        params |= checked(output_key=output_key)
    data = yield Call("GET", "/output/data/download", idempotent=True, params=params, expect="bytes", transfer=True)
    return [p for p in archives.extract_tar(data, Path(dest)) if p.suffix == ".csv"]


def export_model(model_id: str, model_version: str | int, role: str, party_id: str | int,
                 path: str) -> Flow[list[str]]:
    """Export a party's trained model to ``path`` *on the FATE Flow server's* file system."""
    params = checked(model_id=model_id, model_version=model_version, role=role, party_id=party_id)
    if not str(path).startswith("/"):
        raise ConfigError("export path must be absolute (it is a directory on the FATE Flow host)", field="path",
                          value=path)
    call = Call("POST", "/model/export", idempotent=True, json={**params, "path": str(path)})
    # FATE 2.2 often answers code 0 without "data" (its exporter returns no file list): [] then means
    # "exported, no list reported", not "nothing exported".
    data = (yield call).get("data") or []
    return [str(p) for p in data] if isinstance(data, list) else [str(data)]
