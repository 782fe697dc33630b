"""FateJobTrigger: wait for a FATE job in the triggerer, asynchronously, until it ends or a deadline passes.

It holds plain values only (a conn id, a job id, an absolute deadline) and rebuilds its client from the
connection, so credentials never land in the trigger table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class FateJobTrigger(BaseTrigger):
    """Waits on ``/job/query`` + ``/job/task/query``; on its deadline it stops the job and reports a timeout.

    With ``shared_poll`` (the default) the trigger takes a seat in the triggerer's one poll loop per
    FATE Flow connection and interval (:mod:`fateops.fate.poller`): 200 waits on one job cost one query
    per round instead of 400. ``shared_poll=False`` keeps the old per-trigger loop (the benchmark's baseline).
    """

    def __init__(self, *, job_id: str, fateflow_conn_id: str, deadline: float, started: float,
                 poll_interval: float = 3.0, stop_on_timeout: bool = True,
                 party_conn_ids: dict[str, str] | None = None, shared_poll: bool = True) -> None:
        super().__init__()
        self.job_id = job_id
        self.fateflow_conn_id = fateflow_conn_id
        self.deadline = deadline
        self.started = started
        self.poll_interval = poll_interval
        self.stop_on_timeout = stop_on_timeout
        self.party_conn_ids = party_conn_ids  # party id → its own FATE Flow's conn id (multi-site)
        self.shared_poll = shared_poll

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("fateops.airflow.triggers.FateJobTrigger", {
            "job_id": self.job_id, "fateflow_conn_id": self.fateflow_conn_id, "deadline": self.deadline,
            "started": self.started, "poll_interval": self.poll_interval, "stop_on_timeout": self.stop_on_timeout,
            "party_conn_ids": self.party_conn_ids, "shared_poll": self.shared_poll,
        })

    def _client_cm(self, conn_id: str) -> AbstractAsyncContextManager[Any]:
        """A wait's client for one FATE Flow: a seat in the shared poll loop, or a client of its own."""
        from contextlib import asynccontextmanager

        from fateops.airflow.hooks import FateFlowHook
        from fateops.fate.poller import shared_job_client

        async def open_client() -> Any:
            return await FateFlowHook(conn_id).get_async_conn()

        if self.shared_poll:
            return shared_job_client(conn_id, open_client, interval=self.poll_interval)

        @asynccontextmanager
        async def own() -> AsyncIterator[Any]:
            async with await open_client() as client:
                yield client

        return own()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from contextlib import AsyncExitStack

        from fateops.fate.sitewatch import AsyncSitesJobClient
        from fateops.fate.watch import AsyncJobClient, JobWatch, await_job

        watch = JobWatch(self.job_id, deadline=self.deadline, started=self.started)
        try:
            async with AsyncExitStack() as stack:
                client: AsyncJobClient
                if self.party_conn_ids:
                    client = AsyncSitesJobClient({
                        int(pid): await stack.enter_async_context(self._client_cm(conn))
                        for pid, conn in self.party_conn_ids.items()})
                else:
                    client = await stack.enter_async_context(self._client_cm(self.fateflow_conn_id))
                # the shared poller paces the queries itself: no sleep of our own between them
                outcome = await await_job(client, watch, poll_s=0 if self.shared_poll else self.poll_interval,
                                          log=self.log.info,
                                          stop_on_timeout=self.stop_on_timeout)
        except Exception as err:  # the task must hear about it, not hang until Airflow's own timeout
            self.log.exception("waiting for FATE job %s failed", self.job_id)
            yield TriggerEvent({"status": "error", "job_id": self.job_id, "message": f"{type(err).__name__}: {err}"})
            return
        yield TriggerEvent(outcome.as_dict())
