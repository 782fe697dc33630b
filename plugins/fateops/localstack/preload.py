"""Run an Airflow component with the task code's libraries already imported.

Why: the LocalExecutor forks its workers from the scheduler, and each worker forks one child per task
try; that child parses the DAG file and then imports whatever the task imports. The pipeline's short
tasks (plan a job, check a table, register a model, write the report) spend most of their life importing
pandas, scikit-learn, MLflow, Great Expectations or matplotlib — 2–13 s each on this 2-core machine, paid
again by every task. Imported once in the scheduler *before* its executor forks, they are inherited by
every worker and task process (copy-on-write), so a task pays only for its own work.
``bench/orchestration_overhead.py --preload none`` measures the difference in one run.

Usage (what :class:`~fateops.localstack.AirflowStack` runs): ``python -m fateops.localstack.preload
scheduler --skip-serve-logs``. ``FATEOPS_PRELOAD=none`` starts the component without preloading (the
Airflow CLI as is); otherwise a comma-separated module list replaces :data:`PRELOAD`.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time

PRELOAD: tuple[str, ...] = (
    # Airflow's own task-side modules: the worker otherwise imports them in every task child
    "airflow.sdk",
    "airflow.sdk.execution_time.task_runner",
    # our task code and what its tasks import lazily (see each module's function-level imports)
    "fateops.airflow.tasks",
    "fateops.airflow.pipeline_common",
    "fateops.airflow.prepare_stage",
    "fateops.airflow.train_stage",
    "fateops.airflow.predict_stage",
    "fateops.airflow.federation_stages",
    "fateops.airflow.sensors",
    "fateops.airflow.tracking",
    "fateops.pipeline.dataset",
    "fateops.pipeline.upload",
    "fateops.pipeline.training",
    "fateops.pipeline.predicting",
    "fateops.pipeline.reporting",
    "fateops.data.validate",
    "fateops.tracking",
    "fateops.report",
    "fateops.scoring",
    # the heavy third-party libraries behind them (imported inside functions, so named here)
    "pandas",
    "sklearn.metrics",
    "matplotlib.figure",
    "great_expectations",
    "mlflow.tracking",
)

ENV = "FATEOPS_PRELOAD"


def modules_to_preload(setting: str | None) -> tuple[str, ...]:
    """:data:`PRELOAD`, or the ``FATEOPS_PRELOAD`` override (``none``/empty list = nothing)."""
    if setting is None or not setting.strip():
        return PRELOAD
    if setting.strip().lower() == "none":
        return ()
    return tuple(name.strip() for name in setting.split(",") if name.strip())


def preload(modules: tuple[str, ...]) -> list[str]:
    """Import ``modules``; a module that fails to import is logged and skipped, never fatal: the task
    that needs it reports the real error in its own log, where the user looks."""
    failed = []
    # Great Expectations logs every API it registers at INFO while importing (a few hundred lines)
    gx_log = logging.getLogger("great_expectations")
    level = gx_log.level
    gx_log.setLevel(logging.WARNING)
    try:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception as exc:  # any import error belongs to the task that imports it
                failed.append(f"{name}: {type(exc).__name__}: {exc}")
    finally:
        gx_log.setLevel(level)
    return failed


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")  # no display here; report.py draws on Agg anyway
    started = time.monotonic()
    modules = modules_to_preload(os.environ.get(ENV))
    failed = preload(modules)
    print(f"fateops preload: {len(modules) - len(failed)} of {len(modules)} modules in "
          f"{time.monotonic() - started:.1f} s" + (f"; not imported: {'; '.join(failed)}" if failed else ""),
          file=sys.stderr, flush=True)
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", *(sys.argv[1:] if argv is None else argv)]
    airflow_main()


if __name__ == "__main__":
    main()
