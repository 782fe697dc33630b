"""The drills' own tiny training table: a few hundred labelled rows, uploaded once per FATE Flow.

Drills need a *real* training job that runs long enough to be hit mid-flight and finishes in seconds
when left alone. The data is synthetic on purpose (a noisy linear label on three standardised
features, seeded — the same bytes every run) and lives in its own namespace, so a drill never touches
a party's real tables.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

from fateops.chaos.injectors.base import DrillContext
from fateops.exceptions import DrillError
from fateops.fate.jobs import TableRef
from fateops.fate.upload import csv_meta
from fateops.fate.watch import wait_for_job
from fateops.files import write_atomic
from fateops.paths import state_dir

__all__ = ["DRILL_TABLE", "assign_drill_table", "drill_csv", "drill_csv_path", "ensure_drill_table", "upload_table"]

DRILL_TABLE = TableRef("fateops_chaos", "drill_train")
ROWS = 300
UPLOAD_DEADLINE_S = 900


def drill_csv_path(rows: int = ROWS, *, seed: int = 11) -> Path:
    """Where :func:`drill_csv` writes the dataset (nothing is written here)."""
    return state_dir() / "chaos" / "data" / f"drill_{rows}_{seed}.csv"


def assign_drill_table(ctx: DrillContext) -> TableRef:
    """Point the context at the drill table and dataset without touching anything (dry runs)."""
    ctx.table, ctx.dataset = DRILL_TABLE, str(drill_csv_path())
    return DRILL_TABLE


def drill_csv(rows: int = ROWS, *, seed: int = 11) -> Path:
    """Write (once; same bytes every time) the drill dataset under ``<state>/chaos/data``."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "y", "x0", "x1", "x2"])
    for i in range(rows):
        x = [rng.gauss(0, 1) for _ in range(3)]
        writer.writerow([f"d{i}", int(1.2 * x[0] - 0.8 * x[1] + rng.gauss(0, 0.6) > 0), *(f"{v:.5f}" for v in x)])
    path = drill_csv_path(rows, seed=seed)
    data = out.getvalue()
    if not path.exists() or path.read_text() != data:
        write_atomic(path, data.encode())
    return path


def upload_table(ctx: DrillContext, dataset: str | Path, namespace: str, name: str, *, url: str = "") -> int:
    """Upload ``dataset`` as ``namespace/name`` (at ``url``, default the drilled party's FATE Flow) and wait
    for FATE's conversion job; returns the row count."""
    with ctx.fate_client(read_timeout=60, url=url) as client:
        result = client.upload_file(Path(dataset), namespace, name, csv_meta(), partitions=2)
        outcome = wait_for_job(client, result.job_id, timeout_s=UPLOAD_DEADLINE_S, poll_s=2.0, log=lambda _: None)
        if outcome.status != "success":
            raise DrillError(f"uploading the drill table {namespace}/{name} failed: {outcome.message}",
                             fix="check the engine's health and disk space")
        info = client.table_query(namespace, name)
    if info is None:
        raise DrillError(f"table {namespace}/{name} is missing right after its upload succeeded")
    return info.count


def ensure_drill_table(ctx: DrillContext) -> TableRef:
    """The drill table exists at the context's FATE Flow — at every party's own site in multi-site mode, since
    each party reads its own copy — (uploaded where missing); sets ``ctx.table/dataset``."""
    path = drill_csv()
    ctx.dataset = str(path)
    ctx.table = DRILL_TABLE
    for url in sorted(set(ctx.site_urls.values())) or [ctx.fateflow_url]:
        with ctx.fate_client(read_timeout=30, url=url) as client:
            info = client.table_query(DRILL_TABLE.namespace, DRILL_TABLE.name)
        if info is None or info.count != ROWS:
            upload_table(ctx, path, DRILL_TABLE.namespace, DRILL_TABLE.name, url=url)
    return DRILL_TABLE
