"""Asynchronous FATE Flow 2.2 REST client (deferrable triggers).

The twin of :class:`~fateops.fate.client.FateFlowClient`: same methods, same signatures, same
behaviour — both drive the operations of :mod:`fateops.fate._flows` — but every call is awaited and
waits use ``asyncio.sleep``, so a triggerer can poll many jobs in one event loop. Docstrings live on
the sync client.
"""

from __future__ import annotations

import asyncio
import logging
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

__all__ = ["AsyncFateFlowClient"]

T = TypeVar("T")
log = logging.getLogger(__name__)


class AsyncFateFlowClient(ClientSetup[httpx.AsyncBaseTransport]):
    """Talks to one FATE Flow server (``http://host:port``; the ``/v2`` prefix is added).

    Use as a context manager or call :meth:`close`. ``transport`` is for tests (``httpx.MockTransport``).
    """

    _http_client_class = httpx.AsyncClient

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncFateFlowClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                              tb: TracebackType | None) -> None:
        await self.close()

    # --------------------------------------------------------------------------------- plumbing
    async def _drive(self, flow: flows.Flow[T]) -> T:
        reply: Any = None
        error: FateFlowError | None = None
        while True:
            try:
                call = flow.throw(error) if error is not None else flow.send(reply)
            except StopIteration as done:
                return done.value
            try:
                reply, error = await self._exchange(call), None
            except FateFlowError as exc:
                reply, error = None, exc

    async def _exchange(self, call: Call) -> Any:
        policy = self.settings.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._send(call)
            except httpx.TransportError as exc:
                delay = policy.after_error(exc, attempt=attempt, endpoint=call.endpoint, idempotent=call.idempotent)
            else:
                delay = policy.after_response(response, attempt=attempt, endpoint=call.endpoint,
                                              idempotent=call.idempotent)
                if delay is None:
                    return parse_bytes(call, response) if call.expect == "bytes" else parse_json(call, response)
            await asyncio.sleep(delay)

    async def _send(self, call: Call) -> httpx.Response:
        log.debug("FATE Flow %s", call.endpoint)
        kwargs = call.request_kwargs(self.settings)
        if call.upload is None:
            return await self._http.request(**kwargs)
        with call.upload.open("rb") as handle:
            return await self._http.request(**kwargs, files={"file": (call.upload.name, handle, "text/csv")})

    # ----------------------------------------------------------------------------------- server
    async def health(self) -> ServerInfo:
        return await self._drive(flows.health())

    async def provider_components(self, name: str = "fate") -> ProviderComponents:
        return await self._drive(flows.provider_components(name))

    # ------------------------------------------------------------------------------------- data
    async def upload_file(self, path: Path | str, namespace: str, name: str, meta: Mapping[str, Any], *,
                          head: bool = True, partitions: int = 4, extend_sid: bool = True) -> UploadResult:
        return await self._drive(flows.upload_file(path, namespace, name, meta, head=head, partitions=partitions,
                                                   extend_sid=extend_sid))

    async def table_query(self, namespace: str, name: str) -> TableInfo | None:
        return await self._drive(flows.table_query(namespace, name))

    async def table_delete(self, namespace: str, name: str) -> bool:
        return await self._drive(flows.table_delete(namespace, name))

    # ------------------------------------------------------------------------------------- jobs
    async def submit_job(self, dag_schema: Mapping[str, Any]) -> SubmitResult:
        return await self._drive(flows.submit_job(dag_schema))

    async def query_job(self, job_id: str, *, with_tasks: bool = True) -> JobSnapshot:
        return await self._drive(flows.query_job(job_id, with_tasks=with_tasks))

    async def query_tasks(self, job_id: str, *, role: str | None = None, party_id: str | int | None = None,
                          task_name: str | None = None) -> list[TaskInfo]:
        return await self._drive(flows.query_tasks(job_id, role=role, party_id=party_id, task_name=task_name))

    async def list_jobs(self, *, limit: int = 20, page: int = 1, job_id: str | None = None, status: str | None = None,
                        role: str | None = None, party_id: str | int | None = None) -> flows.JobList:
        return await self._drive(flows.list_jobs(limit=limit, page=page, job_id=job_id, status=status, role=role,
                                                 party_id=party_id))

    async def stop_job(self, job_id: str) -> None:
        return await self._drive(flows.stop_job(job_id))

    async def rerun_job(self, job_id: str) -> None:
        return await self._drive(flows.rerun_job(job_id))

    # ------------------------------------------------------------------------------------- logs
    async def download_job_log(self, job_id: str) -> bytes:
        return await self._drive(flows.download_job_log(job_id))

    async def task_log(self, job_id: str, role: str, party_id: str | int, task_name: str, *,
                       log_type: str = "task_error", begin: int | None = None, end: int | None = None) -> list[str]:
        return await self._drive(flows.task_log(job_id, role, party_id, task_name, log_type=log_type, begin=begin,
                                                end=end))

    async def task_error_excerpt(self, job_id: str, role: str, party_id: str | int, task_name: str, *,
                                 max_lines: int = 40) -> str:
        return await self._drive(flows.task_error_excerpt(job_id, role, party_id, task_name, max_lines=max_lines))

    # ---------------------------------------------------------------------------------- outputs
    async def query_metrics(self, job_id: str, role: str, party_id: str | int, task_name: str) -> list[dict[str, Any]]:
        return await self._drive(flows.query_metrics(job_id, role, party_id, task_name))

    async def query_model(self, job_id: str, role: str, party_id: str | int, task_name: str) -> dict[str, Any]:
        return await self._drive(flows.query_model(job_id, role, party_id, task_name))

    async def download_model(self, job_id: str, role: str, party_id: str | int, task_name: str,
                             dest: Path | str) -> list[Path]:
        return await self._drive(flows.download_model(job_id, role, party_id, task_name, dest))

    async def download_output_data(self, job_id: str, role: str, party_id: str | int, task_name: str, dest: Path | str,
                                   *, output_key: str | None = None) -> list[Path]:
        return await self._drive(flows.download_output_data(job_id, role, party_id, task_name, dest,
                                                            output_key=output_key))

    async def export_model(self, model_id: str, model_version: str | int, role: str, party_id: str | int,
                           path: str) -> list[str]:
        return await self._drive(flows.export_model(model_id, model_version, role, party_id, path))
