"""FATE Flow 2.2: a REST client (sync and async) and the job specs fateops submits.

No Airflow and no fate_client here: FATE runs in its own venv and is driven over HTTP only.

* :class:`FateFlowClient` / :class:`AsyncFateFlowClient` — typed calls, bounded timeouts, retries of
  transient failures in one :class:`RetryPolicy`, optional :class:`FateFlowAuth` signing;
* :mod:`fateops.fate.jobs` — ``dag_schema`` builders (toy example, homo LR train, predict, reader);
* :mod:`fateops.fate.models` — job/task snapshots and the judgements made on them.
"""

from __future__ import annotations

from fateops.fate._flows import JobList
from fateops.fate.aclient import AsyncFateFlowClient
from fateops.fate.archives import extract_tar, log_excerpt
from fateops.fate.auth import FateFlowAuth
from fateops.fate.client import FateFlowClient
from fateops.fate.jobs import (
    BINARY_METRICS,
    DEFAULT_METRICS,
    HomoLRParams,
    PartyTables,
    TableRef,
    homo_lr_train_job,
    predict_job,
    reader_job,
    toy_example_job,
)
from fateops.fate.metrics import metric_values
from fateops.fate.models import (
    JobSnapshot,
    JobStatus,
    PartyJob,
    ProviderComponents,
    ServerInfo,
    SubmitResult,
    TableInfo,
    TaskInfo,
    UploadResult,
)
from fateops.fate.retry import RetryPolicy
from fateops.fate.transport import DEFAULT_URL, FateFlowSettings, ReturnCode
from fateops.fate.upload import csv_meta

__all__ = [
    "BINARY_METRICS",
    "DEFAULT_METRICS",
    "DEFAULT_URL",
    "AsyncFateFlowClient",
    "FateFlowAuth",
    "FateFlowClient",
    "FateFlowSettings",
    "HomoLRParams",
    "JobList",
    "JobSnapshot",
    "JobStatus",
    "PartyJob",
    "PartyTables",
    "ProviderComponents",
    "RetryPolicy",
    "ReturnCode",
    "ServerInfo",
    "SubmitResult",
    "TableInfo",
    "TableRef",
    "TaskInfo",
    "UploadResult",
    "csv_meta",
    "extract_tar",
    "homo_lr_train_job",
    "log_excerpt",
    "metric_values",
    "predict_job",
    "reader_job",
    "toy_example_job",
]
