"""FateJobSensor: succeed when every party reports the FATE job a success; fail clearly otherwise.

Deferrable by default (the wait costs no worker slot); on its deadline the job is stopped, so a hung
federation never leaves jobs running behind a failed task.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException

from fateops.airflow.hooks import FateFlowHook

# the triggerer gets its deadline first; Airflow's own defer timeout is only a safety net behind it
_DEFER_MARGIN_S = 120


class FateJobSensor(BaseSensorOperator):
    """Wait for FATE job ``job_id``; after ``wait_timeout`` seconds the job is stopped and the task fails.

    ``job_id``, ``wait_timeout`` and ``poll_interval`` are templated, so DAG Params can set them
    (``wait_timeout="{{ params.sensor_timeout_s }}"``). Returns (XCom) the outcome: status, per-party
    statuses, model id/version, seconds waited.
    """

    template_fields: Sequence[str] = ("job_id", "fateflow_conn_id", "wait_timeout", "poll_interval", "federation")
    ui_color = "#e8f4fa"

    def __init__(self, *, job_id: str, fateflow_conn_id: str = FateFlowHook.default_conn_name,
                 wait_timeout: float | str = 3600, poll_interval: float | str = 3.0, stop_on_timeout: bool = True,
                 deferrable: bool = True, federation: str | None = None, shared_poll: bool = True,
                 **kwargs: Any) -> None:
        kwargs.setdefault("retries", 0)  # a failed federated job is not fixed by waiting again
        super().__init__(**kwargs)
        self.job_id = job_id
        self.fateflow_conn_id = fateflow_conn_id
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.stop_on_timeout = stop_on_timeout
        self.deferrable = deferrable
        self.federation = federation  # given: parties with their own FATE Flow are each asked for their rows
        self.shared_poll = shared_poll  # the triggerer's one poll loop per FATE Flow (False: one per wait)

    def execute(self, context: Any) -> dict[str, Any]:
        from contextlib import ExitStack

        from fateops.airflow.tasks import party_conn_ids
        from fateops.fate.sitewatch import SitesJobClient
        from fateops.fate.watch import SyncJobClient, wait_for_job

        timeout_s, poll_s = float(self.wait_timeout), float(self.poll_interval)
        conns = party_conn_ids(self.federation) if self.federation else {}
        if conns:
            self.log.info("asking every party's own FATE Flow: %s", conns)
        if not self.deferrable:
            with ExitStack() as stack:
                client: SyncJobClient
                if conns:
                    client = SitesJobClient({int(pid): stack.enter_context(FateFlowHook(conn).get_conn())
                                             for pid, conn in conns.items()})
                else:
                    client = stack.enter_context(FateFlowHook(self.fateflow_conn_id).get_conn())
                outcome = wait_for_job(client, str(self.job_id), timeout_s=timeout_s,
                                       poll_s=poll_s, log=self.log.info,
                                       stop_on_timeout=self.stop_on_timeout)
            return self._finish(outcome.as_dict())
        from fateops.airflow.triggers import FateJobTrigger

        now = time.time()
        self.defer(
            trigger=FateJobTrigger(job_id=str(self.job_id), fateflow_conn_id=self.fateflow_conn_id,
                                   deadline=now + timeout_s, started=now,
                                   poll_interval=poll_s, stop_on_timeout=self.stop_on_timeout,
                                   party_conn_ids=conns or None, shared_poll=self.shared_poll),
            method_name="execute_complete",
            timeout=timedelta(seconds=timeout_s + _DEFER_MARGIN_S),
        )
        raise AssertionError("unreachable: defer() raises")

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        return self._finish(event)

    def _finish(self, event: dict[str, Any]) -> dict[str, Any]:
        from fateops.exceptions import FateopsError
        from fateops.fate.watch import JobOutcome

        if event.get("status") == "error":
            raise AirflowFailException(f"waiting for FATE job {event.get('job_id')} failed: {event.get('message')}")
        outcome = JobOutcome.from_dict(event)
        try:
            outcome.raise_for_status()
        except FateopsError as err:
            raise AirflowFailException(str(err)) from err
        self.log.info("%s", outcome.message)
        return outcome.as_dict()
