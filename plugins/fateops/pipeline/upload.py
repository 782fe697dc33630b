"""Uploading a prepared table to FATE and proving it arrived whole.

FATE's upload answers with a job id and converts the CSV in the background; a job that "succeeds"
is still not proof that the table holds what we sent (a wrong delimiter or a header taken as a row
shows up as a row-count difference). So every upload ends with :func:`verify_table`: the table
exists, has exactly the rows of the prepared file, and FATE reads ``id`` as the match id and
``Class`` as the label. :func:`upload_and_verify` does upload → wait → verify in one call for
scripts (the benchmark, the CLI); the DAGs split the same steps into operator, sensor and task.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fateops.data import schema
from fateops.fate.client import FateFlowClient
from fateops.fate.models import TableInfo
from fateops.fate.upload import csv_meta
from fateops.fate.watch import wait_for_job
from fateops.pipeline.errors import TableCheckFailed

__all__ = ["TableCheckFailed", "count_rows", "prepared_meta", "upload_and_verify", "verify_table"]

Log = Callable[[str], None]


def prepared_meta() -> dict[str, Any]:
    """FATE upload meta of a prepared table: ``id`` is the match id, ``Class`` the int label."""
    return csv_meta(match_id_name=schema.ID, label_name=schema.LABEL)


def count_rows(path: Path | str) -> int:
    """Data rows of a prepared CSV (lines minus the header); cheap, no parsing."""
    with Path(path).open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return max(0, lines - 1)


def verify_table(client: FateFlowClient, namespace: str, name: str, expected_rows: int) -> TableInfo:
    """The table exists with ``expected_rows`` rows and the prepared schema; raise otherwise."""
    info = client.table_query(namespace, name)
    where = f"table {namespace}/{name}"
    if info is None:
        raise TableCheckFailed(f"{where} does not exist after its upload job succeeded")
    problems = []
    if info.count != expected_rows:
        problems.append(f"{info.count} rows where the prepared file has {expected_rows}")
    if info.match_id_name != schema.ID:
        problems.append(f"match id is {info.match_id_name!r}, expected {schema.ID!r}")
    if info.label_name != schema.LABEL:
        problems.append(f"label is {info.label_name!r}, expected {schema.LABEL!r}")
    missing = [c for c in schema.FEATURE_COLUMNS if c not in info.columns]
    if missing:
        problems.append(f"feature column(s) missing: {missing}")
    if problems:
        raise TableCheckFailed(f"{where}: " + "; ".join(problems))
    return info


def upload_and_verify(client: FateFlowClient, path: Path | str, namespace: str, name: str, *,
                      timeout_s: float = 1800, poll_s: float = 2.0, partitions: int = 4,
                      log: Log = print) -> tuple[str, TableInfo]:
    """Replace ``namespace/name`` with the prepared CSV at ``path``; returns (upload job id, table)."""
    expected = count_rows(path)
    if client.table_query(namespace, name) is not None:
        client.table_delete(namespace, name)
    result = client.upload_file(path, namespace, name, prepared_meta(), partitions=partitions)
    wait_for_job(client, result.job_id, timeout_s=timeout_s, poll_s=poll_s, log=log).raise_for_status()
    info = verify_table(client, namespace, name, expected)
    log(f"table {namespace}/{name}: {info.count} rows (upload job {result.job_id})")
    return result.job_id, info
