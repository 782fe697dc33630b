"""What the pipeline stages share: default args with a retry policy, Params → domain objects, waits.

**Retries are for transient trouble only.** ``DEFAULT_ARGS`` gives every task two retries with
exponential backoff; :data:`RETRY_POLICY` fails a task at once when retrying cannot help — bad data,
a bad config, a FATE job that failed, a table that does not match its file — and retries when FATE
Flow could not be reached. Submitting a job is never retried (the submit operator sets
``retries=0``: a retry after a lost response would start a second job).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, ExceptionRetryPolicy, RetryAction, RetryRule

from fateops.airflow.defaults import DEFAULT_ARGS
from fateops.airflow.federation_stages import WAIT_EXECUTION_TIMEOUT
from fateops.airflow.sensors import FateJobSensor

if TYPE_CHECKING:
    from fateops.fate.client import FateFlowClient
    from fateops.federation import Federation
    from fateops.pipeline.tables import PartyTable

RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(exception=["fateops.exceptions.DataValidationError", "fateops.exceptions.ConfigError",
                             "fateops.exceptions.FateJobFailed", "fateops.registry.RegistryError",
                             "fateops.pipeline.errors.TableCheckFailed"],
                  action=RetryAction.FAIL, reason="not transient: a retry would fail the same way (see the fix)"),
        RetryRule(exception="fateops.exceptions.FateFlowUnavailable", action=RetryAction.RETRY,
                  reason="FATE Flow could not be reached; retrying with backoff"),
        RetryRule(exception="fateops.tracking.store.TrackingUnavailable", action=RetryAction.RETRY,
                  reason="the MLflow tracking store could not be reached; retrying with backoff"),
    ],
    default=RetryAction.DEFAULT,
)

PIPELINE_DEFAULT_ARGS: dict[str, Any] = {**DEFAULT_ARGS, "retry_policy": RETRY_POLICY}

DATA_TASK_TIMEOUT = timedelta(hours=1)
"""Split/prepare/validate of the full 284,807 rows take seconds; an hour means something is stuck."""


def federation_of(params: dict[str, Any]) -> Federation:
    from fateops.airflow.tasks import federation_from

    return federation_from(params["federation"])


def tables_of(params: dict[str, Any], federation: Federation | None = None) -> list[PartyTable]:
    """Every data party's train/test table under the run's namespace and name template."""
    from fateops.pipeline.tables import party_tables

    return party_tables(federation or federation_of(params), params["namespace"], params["table_name_template"])


def guest_conn_id(federation: Federation) -> str:
    """Jobs are submitted to, and results read from, the initiator's (guest's) FATE Flow."""
    from fateops.airflow.tasks import fateflow_conn_id

    return fateflow_conn_id(federation.guest)


def client_for(conn_id: str) -> FateFlowClient:
    from fateops.airflow.hooks import FateFlowHook

    return FateFlowHook(conn_id).get_conn()


def wait_for(submitted: BaseOperator, *, task_id: str) -> FateJobSensor:
    """A deferrable sensor on the job a (non-mapped) submit operator started, with the run's deadlines."""
    pulled = f"ti.xcom_pull(task_ids='{submitted.task_id}')"
    sensor = FateJobSensor(
        task_id=task_id,
        job_id="{{ " + pulled + "['job_id'] }}",
        fateflow_conn_id="{{ " + pulled + "['fateflow_conn_id'] }}",
        wait_timeout="{{ params.sensor_timeout_s }}",
        poll_interval="{{ params.poll_interval_s }}",
        execution_timeout=WAIT_EXECUTION_TIMEOUT,
        federation="{{ params.federation }}",  # every party's own FATE Flow is asked (multi-site)
    )
    submitted >> sensor
    return sensor
