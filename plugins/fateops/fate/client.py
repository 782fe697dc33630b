"""Synchronous FATE Flow 2.2 REST client (operators, the CLI, tests).

Each method drives one operation of :mod:`fateops.fate._flows` — the async twin
(:class:`~fateops.fate.aclient.AsyncFateFlowClient`) drives the very same ones — over ``httpx`` with
the shared timeouts, auth headers and :class:`~fateops.fate.retry.RetryPolicy`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from fateops.exceptions import FateFlowError
from fateops.fate import _flows as flows
from fateops.fate.models import (
    JobSnapshot,
    ProviderComponents,
    ServerInfo,
    SubmitResult,
    TableInfo,
    TaskInfo,
    UploadResult,
)
from fateops.fate.transport import Call, ClientSetup, parse_bytes, parse_json

__all__ = ["FateFlowClient"]

T = TypeVar("T")
log = logging.getLogger(__name__)


class FateFlowClient(ClientSetup[httpx.BaseTransport]):
    """Talks to one FATE Flow server (``http://host:port``; the ``/v2`` prefix is added).

    Use as a context manager or call :meth:`close`. ``transport`` is for tests (``httpx.MockTransport``).
    """

    _http_client_class = httpx.Client

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FateFlowClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --------------------------------------------------------------------------------- plumbing
    def _drive(self, flow: flows.Flow[T]) -> T:
        reply: Any = None
        error: FateFlowError | None = None
        while True:
            try:
                call = flow.throw(error) if error is not None else flow.send(reply)
            except StopIteration as done:
                return done.value
            try:
                reply, error = self._exchange(call), None
            except FateFlowError as exc:
                reply, error = None, exc

    def _exchange(self, call: Call) -> Any:
        policy = self.settings.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send(call)
            except httpx.TransportError as exc:
                delay = policy.after_error(exc, attempt=attempt, endpoint=call.endpoint, idempotent=call.idempotent)
            else:
                delay = policy.after_response(response, attempt=attempt, endpoint=call.endpoint,
                                              idempotent=call.idempotent)
                if delay is None:
                    return parse_bytes(call, response) if call.expect == "bytes" else parse_json(call, response)
            time.sleep(delay)

    def _send(self, call: Call) -> httpx.Response:
        log.debug("FATE Flow %s", call.endpoint)
        kwargs = call.request_kwargs(self.settings)
        if call.upload is None:
            return self._http.request(**kwargs)
        with call.upload.open("rb") as handle:
            return self._http.request(**kwargs, files={"file": (call.upload.name, handle, "text/csv")})

    # ----------------------------------------------------------------------------------- server
    def health(self) -> ServerInfo:
        """The server's registration (host, ports, FATE Flow version); raises if it does not answer."""
        return self._drive(flows.health())

    def provider_components(self, name: str = "fate") -> ProviderComponents:
        """The provider and the registered component names (see ``_flows.provider_components``)."""
        return self._drive(flows.provider_components(name))

    # ------------------------------------------------------------------------------------- data
    def upload_file(self, path: Path | str, namespace: str, name: str, meta: Mapping[str, Any], *,
                    head: bool = True, partitions: int = 4, extend_sid: bool = True) -> UploadResult:
        """Upload a CSV as table ``namespace/name``; FATE converts it in job ``result.job_id`` (await it)."""
        return self._drive(flows.upload_file(path, namespace, name, meta, head=head, partitions=partitions,
                                             extend_sid=extend_sid))

    def table_query(self, namespace: str, name: str) -> TableInfo | None:
        """The table with its row count, or ``None`` if it does not exist."""
        return self._drive(flows.table_query(namespace, name))

    def table_delete(self, namespace: str, name: str) -> bool:
        """Delete a table; ``False`` if it was already absent."""
        return self._drive(flows.table_delete(namespace, name))

    # ------------------------------------------------------------------------------------- jobs
    def submit_job(self, dag_schema: Mapping[str, Any]) -> SubmitResult:
        """Submit a ``dag_schema`` (see :mod:`fateops.fate.jobs`); never retried blindly."""
        return self._drive(flows.submit_job(dag_schema))

    def query_job(self, job_id: str, *, with_tasks: bool = True) -> JobSnapshot:
        """Every party's status/progress (and the tasks, newest version of each)."""
        return self._drive(flows.query_job(job_id, with_tasks=with_tasks))

    def query_tasks(self, job_id: str, *, role: str | None = None, party_id: str | int | None = None,
                    task_name: str | None = None) -> list[TaskInfo]:
        """Task rows of a job, every version; ``[]`` if none yet."""
        return self._drive(flows.query_tasks(job_id, role=role, party_id=party_id, task_name=task_name))

    def list_jobs(self, *, limit: int = 20, page: int = 1, job_id: str | None = None, status: str | None = None,
                  role: str | None = None, party_id: str | int | None = None) -> flows.JobList:
        """A page of jobs, newest first (one row per party)."""
        return self._drive(flows.list_jobs(limit=limit, page=page, job_id=job_id, status=status, role=role,
                                           party_id=party_id))

    def stop_job(self, job_id: str) -> None:
        """Stop the job on every party (it ends ``canceled``)."""
        return self._drive(flows.stop_job(job_id))

    def rerun_job(self, job_id: str) -> None:
        """Re-run its failed/canceled/timed-out tasks as a new task version."""
        return self._drive(flows.rerun_job(job_id))

    # ------------------------------------------------------------------------------------- logs
    def download_job_log(self, job_id: str) -> bytes:
        """The job's log directory as ``tar.gz`` bytes (see :func:`fateops.fate.archives.log_excerpt`)."""
        return self._drive(flows.download_job_log(job_id))

    def task_log(self, job_id: str, role: str, party_id: str | int, task_name: str, *,
                 log_type: str = "task_error", begin: int | None = None, end: int | None = None) -> list[str]:
        """Lines of one task log (``task_error``/``task_info``/…), optionally a 1-based line range."""
        return self._drive(flows.task_log(job_id, role, party_id, task_name, log_type=log_type, begin=begin,
                                          end=end))

    def task_error_excerpt(self, job_id: str, role: str, party_id: str | int, task_name: str, *,
                           max_lines: int = 40) -> str:
        """The last lines explaining why a task failed ("" if it logged nothing)."""
        return self._drive(flows.task_error_excerpt(job_id, role, party_id, task_name, max_lines=max_lines))

    # ---------------------------------------------------------------------------------- outputs
    def query_metrics(self, job_id: str, role: str, party_id: str | int, task_name: str) -> list[dict[str, Any]]:
        """A task's metric records (e.g. an ``evaluation`` task's AUC/KS per dataset)."""
        return self._drive(flows.query_metrics(job_id, role, party_id, task_name))

    def query_model(self, job_id: str, role: str, party_id: str | int, task_name: str) -> dict[str, Any]:
        """A task's model output as JSON."""
        return self._drive(flows.query_model(job_id, role, party_id, task_name))

    def download_model(self, job_id: str, role: str, party_id: str | int, task_name: str,
                       dest: Path | str) -> list[Path]:
        """A task's model files, extracted under ``dest``."""
        return self._drive(flows.download_model(job_id, role, party_id, task_name, dest))

    def download_output_data(self, job_id: str, role: str, party_id: str | int, task_name: str, dest: Path | str,
                             *, output_key: str | None = None) -> list[Path]:
        """A task's output data, extracted under ``dest``; returns the csv files."""
        return self._drive(flows.download_output_data(job_id, role, party_id, task_name, dest,
                                                      output_key=output_key))

    def export_model(self, model_id: str, model_version: str | int, role: str, party_id: str | int,
                     path: str) -> list[str]:
        """Export a party's model to ``path`` on the FATE Flow host; returns the files written there."""
        return self._drive(flows.export_model(model_id, model_version, role, party_id, path))
