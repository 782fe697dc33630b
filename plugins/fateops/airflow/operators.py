"""Operators that start FATE work and hand back ids; waiting is the FateJobSensor's job.

Submission is never retried blindly (a retry after a lost response would start a second job), so these
default to ``retries=0``; the sensor that follows decides success.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from fateops.airflow.hooks import FateFlowHook


class FateSubmitJobOperator(BaseOperator):
    """Submit a FATE job (a ``dag_schema`` dict, templated) and push ``job_id``, ``model_id``, ``model_version``."""

    template_fields: Sequence[str] = ("dag_schema", "fateflow_conn_id")
    ui_color = "#fdf1e1"

    def __init__(self, *, dag_schema: dict[str, Any], fateflow_conn_id: str = FateFlowHook.default_conn_name,
                 **kwargs: Any) -> None:
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.dag_schema = dag_schema
        self.fateflow_conn_id = fateflow_conn_id

    def execute(self, context: Any) -> dict[str, str]:
        with FateFlowHook(self.fateflow_conn_id).get_conn() as client:
            result = client.submit_job(self.dag_schema)
        self.log.info("submitted FATE job %s (model %s v%s)", result.job_id, result.model_id, result.model_version)
        return {"job_id": result.job_id, "model_id": result.model_id, "model_version": result.model_version,
                "fateflow_conn_id": self.fateflow_conn_id}


class FateUploadOperator(BaseOperator):
    """Upload a CSV as the FATE table ``namespace/name`` (replacing an older one); pushes the upload job id."""

    template_fields: Sequence[str] = ("file_path", "namespace", "name", "meta", "fateflow_conn_id")

    def __init__(self, *, file_path: str, namespace: str, name: str, meta: dict[str, Any],
                 partitions: int = 4, fateflow_conn_id: str = FateFlowHook.default_conn_name, **kwargs: Any) -> None:
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.file_path = file_path
        self.namespace = namespace
        self.name = name
        self.meta = meta
        self.partitions = partitions
        self.fateflow_conn_id = fateflow_conn_id

    def execute(self, context: Any) -> dict[str, str]:
        with FateFlowHook(self.fateflow_conn_id).get_conn() as client:
            if client.table_query(self.namespace, self.name) is not None:
                self.log.info("replacing existing table %s/%s", self.namespace, self.name)
                client.table_delete(self.namespace, self.name)
            result = client.upload_file(self.file_path, namespace=self.namespace, name=self.name, meta=self.meta,
                                        partitions=self.partitions)
        self.log.info("upload of %s → %s/%s is FATE job %s", self.file_path, self.namespace, self.name, result.job_id)
        return {"job_id": result.job_id, "namespace": self.namespace, "name": self.name,
                "fateflow_conn_id": self.fateflow_conn_id}
