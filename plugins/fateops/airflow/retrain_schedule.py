"""When ``fate_retrain`` runs on time: weekly unless the operator says otherwise.

Read at DAG-parse time, so it must be cheap and must not touch the metadata DB (the dag-processor
parses every few seconds): the value comes from the environment — ``AIRFLOW_VAR_FATEOPS_RETRAIN_SCHEDULE``,
which is how Airflow itself defines the Variable ``fateops_retrain_schedule`` from the environment
(so templates and the CLI see the same value), then ``FATEOPS_RETRAIN_SCHEDULE``. A cron expression
or preset (``@daily``) sets the time schedule; ``none``/``off`` leaves only the data trigger.
A bad expression fails the DAG's import with a message naming the variable, never silently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from airflow.sdk import CronTriggerTimetable

from fateops.exceptions import ConfigError

DEFAULT_SCHEDULE = "@weekly"
ENV_VARS = ("AIRFLOW_VAR_FATEOPS_RETRAIN_SCHEDULE", "FATEOPS_RETRAIN_SCHEDULE")
_DISABLED = frozenset({"none", "off", "never", "manual"})


def retrain_cron(env: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(cron expression or None when disabled, where it came from)."""
    env = os.environ if env is None else env
    for var in ENV_VARS:
        value = (env.get(var) or "").strip()
        if value:
            return (None if value.lower() in _DISABLED else value), var
    return DEFAULT_SCHEDULE, "default"


def retrain_timetable(env: Mapping[str, str] | None = None) -> CronTriggerTimetable | None:
    """The retraining timetable (UTC), or None when only fresh data should trigger retraining."""
    expression, source = retrain_cron(env)
    if expression is None:
        return None
    from airflow.timetables.trigger import CronTriggerTimetable as CoreCron

    try:
        CoreCron(expression, timezone="UTC").validate()
    except Exception as exc:  # Airflow raises AirflowTimetableInvalid / ValueError with croniter's reason
        raise ConfigError(f"not a valid cron expression: {exc}", field=source, value=expression,
                          fix="use 5-field cron ('0 3 * * 1'), a preset ('@daily', '@weekly') or 'none'") from None
    return CronTriggerTimetable(expression, timezone="UTC")
