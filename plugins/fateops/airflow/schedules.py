"""Time schedules an operator can change without editing a DAG: one Airflow Variable per DAG, read from env.

Read at DAG-parse time, so it must be cheap and must not touch the metadata DB (the dag-processor
parses every few seconds): the value of Variable ``<name>`` comes from the environment —
``AIRFLOW_VAR_<NAME>``, which is how Airflow itself defines a Variable from the environment (so
templates and the CLI see the same value), then ``<NAME>``. A cron expression or preset (``@daily``)
sets the schedule; ``none``/``off`` switches the time schedule off. A bad expression fails the DAG's
import with a message naming the variable, never silently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from airflow.sdk import CronTriggerTimetable

from fateops.exceptions import ConfigError

__all__ = ["DEFAULT_SCHEDULE", "env_names", "variable_cron", "variable_timetable"]

DEFAULT_SCHEDULE = "@weekly"
_DISABLED = frozenset({"none", "off", "never", "manual"})


def env_names(variable: str) -> tuple[str, str]:
    """Where Variable ``variable`` is looked up, first match wins: Airflow's env form, then fateops' own."""
    return f"AIRFLOW_VAR_{variable.upper()}", variable.upper()


def variable_cron(variable: str, env: Mapping[str, str] | None = None,
                  default: str = DEFAULT_SCHEDULE) -> tuple[str | None, str]:
    """(cron expression or None when switched off, the env var it came from or ``default``)."""
    env = os.environ if env is None else env
    for var in env_names(variable):
        value = (env.get(var) or "").strip()
        if value:
            return (None if value.lower() in _DISABLED else value), var
    return default, "default"


def variable_timetable(variable: str, env: Mapping[str, str] | None = None,
                       default: str = DEFAULT_SCHEDULE) -> CronTriggerTimetable | None:
    """The timetable (UTC) Variable ``variable`` asks for, or None when its time schedule is off."""
    expression, source = variable_cron(variable, env, default)
    if expression is None:
        return None
    from airflow.timetables.trigger import CronTriggerTimetable as CoreCron

    try:
        CoreCron(expression, timezone="UTC").validate()
    except Exception as exc:  # Airflow raises AirflowTimetableInvalid / ValueError with croniter's reason
        raise ConfigError(f"not a valid cron expression: {exc}", field=source, value=expression,
                          fix="use 5-field cron ('0 3 * * 1'), a preset ('@daily', '@weekly') or 'none'") from None
    return CronTriggerTimetable(expression, timezone="UTC")
