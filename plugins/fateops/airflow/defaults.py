"""Settings every fateops DAG shares: owner, retry policy, timeouts and the common Params.

Retries are for transient trouble (an engine restarting, a 5xx); steps that must not be repeated blindly
(job submission) set ``retries=0`` themselves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "fateops",
    "retries": 2,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(minutes=30),
}

TAGS_BASE = ["fateops", "fate"]


def federation_param(default: str | None = None) -> Param:
    """Default: ``$FATEOPS_FEDERATION`` or ``federation.local.yaml`` (the two-site local federation)."""
    from fateops.federation import default_federation_name

    return Param(default or default_federation_name(), type="string", title="Federation config",
                 description="Path of the federation YAML (absolute, or relative to the current directory, "
                             "then to include/configs/): "
                             "parties, roles, backends and connections.")


def job_timeout_param(default: int = 3600) -> Param:
    return Param(default, type="integer", minimum=60, maximum=72 * 3600, title="FATE job timeout (s)",
                 description="Written to the job's dag.conf.task.timeout: FATE marks the job 'timeout' after "
                             "this many seconds (FATE's own default is 72 h).")


def sensor_timeout_param(default: int = 1800) -> Param:
    return Param(default, type="integer", minimum=30, maximum=72 * 3600, title="Wait deadline (s)",
                 description="How long fateops waits for a FATE job before it stops the job and fails the task.")


def poll_interval_param(default: int = 2) -> Param:
    """2 s: a job's end is seen 1 s later on average than at 3 s; the triggerer's waits share one poll per
    FATE Flow and interval (one ``/job/query`` per job per round), so a shorter interval stays cheap."""
    return Param(default, type="integer", minimum=1, maximum=300, title="Poll interval (s)",
                 description="How often the job sensor asks FATE Flow for the job's status (every wait on the "
                             "same FATE Flow and interval shares one query per job).")
