"""When ``fate_retrain`` runs on time: weekly unless the operator says otherwise.

The Variable is ``fateops_retrain_schedule``, read from the environment when the DAG file is parsed
(``AIRFLOW_VAR_FATEOPS_RETRAIN_SCHEDULE``, then ``FATEOPS_RETRAIN_SCHEDULE``); ``none``/``off`` leaves
only the data trigger. The rules are :mod:`fateops.airflow.schedules`', shared with the other scheduled DAGs.
"""

from __future__ import annotations

from collections.abc import Mapping

from airflow.sdk import CronTriggerTimetable

from fateops.airflow.schedules import DEFAULT_SCHEDULE, env_names, variable_cron, variable_timetable

__all__ = ["DEFAULT_SCHEDULE", "ENV_VARS", "VARIABLE", "retrain_cron", "retrain_timetable"]

VARIABLE = "fateops_retrain_schedule"
ENV_VARS = env_names(VARIABLE)


def retrain_cron(env: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(cron expression or None when disabled, where it came from)."""
    return variable_cron(VARIABLE, env)


def retrain_timetable(env: Mapping[str, str] | None = None) -> CronTriggerTimetable | None:
    """The retraining timetable (UTC), or None when only fresh data should trigger retraining."""
    return variable_timetable(VARIABLE, env)
