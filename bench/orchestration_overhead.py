"""Orchestration overhead of the credit-card pipeline: wall ÷ the FATE jobs' own time, and where the rest goes.

A benchmark, not a test: it prints what it measures, from one run. It starts the real engine and the
real Airflow components (:class:`~fateops.localstack.AirflowStack`: api-server, scheduler,
dag-processor, triggerer, with the local stack's own settings — what ``make demo`` runs), triggers
``fate_credit_card_pipeline`` over REST with the single-engine federation on ``--rows`` synthetic rows,
waits for it, then reads

* Airflow's task instances (queued, start, end of every try) and the DAG's dependencies (REST);
* FATE's own job records (``/job/list/query``: start and end of every job the run submitted).

It prints **wall ÷ FATE-busy time**, where FATE-busy is the union of the FATE jobs' [start, end]
intervals (jobs of one stage overlap; stages follow each other, so this is the critical path's FATE
walls), then the **critical chain** walked back from the last task (each step: the upstream task that
ended last) with, per task, its wait after the upstream ended (scheduling + queueing), its run time
outside FATE jobs and, for a job wait, its resume latency after the job ended; the top contributors,
and the totals per kind. ``--compare`` runs the pipeline twice in one invocation — the scheduler as the
plain Airflow CLI, then through :mod:`fateops.localstack.preload` (the local stack's default: task
processes inherit the task code's imports) — and prints both ratios side by side. Run:
``.venv/bin/python bench/orchestration_overhead.py --compare`` (``source /work/ports-K.sh`` first on a
shared machine).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fateops.engine import LocalEngine
from fateops.fate import FateFlowClient
from fateops.fate.transport import Call
from fateops.localstack import AirflowRestClient, AirflowStack
from fateops.paths import state_dir

DAG_ID = "fate_credit_card_pipeline"
SENSOR = "FateJobSensor"


@dataclass
class Ti:
    key: str
    task_id: str
    operator: str
    scheduled: float | None
    queued: float | None
    start: float
    end: float
    upstream: list[str] = field(default_factory=list)
    fate: list[tuple[float, float]] = field(default_factory=list)  # FATE job intervals inside this task's span

    @property
    def fate_inside(self) -> float:
        return union([(max(a, self.start), min(b, self.end)) for a, b in self.fate if b > self.start and a < self.end])


def ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def union(intervals: list[tuple[float, float]]) -> float:
    total, cur_a, cur_b = 0.0, None, None
    for a, b in sorted(intervals):
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += cur_b - cur_a  # type: ignore[operator]
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_b is not None:
        total += cur_b - cur_a  # type: ignore[operator]
    return total


def fate_jobs(client: FateFlowClient, since: float) -> dict[str, tuple[float, float]]:
    """job id → (start, end) epoch seconds over every party's row, for jobs created after ``since``."""
    def flow() -> Any:
        return (yield Call("GET", "/job/list/query", idempotent=True, params={"limit": 500, "page": 1}))

    rows = (client._drive(flow()).get("data") or {}).get("data") or []
    jobs: dict[str, tuple[float, float]] = {}
    for row in rows:
        if not row.get("start_time") or not row.get("end_time") or row["create_time"] / 1000 < since:
            continue
        a, b = row["start_time"] / 1000, row["end_time"] / 1000
        old = jobs.get(row["job_id"])
        jobs[row["job_id"]] = (min(a, old[0]), max(b, old[1])) if old else (a, b)
    return jobs


def task_instances(api: AirflowRestClient, run_id: str) -> dict[str, Ti]:
    deps = api._call("GET", f"/dags/{DAG_ID}/tasks")["tasks"]
    upstream: dict[str, list[str]] = {}
    for task in deps:
        for down in task.get("downstream_task_ids") or []:
            upstream.setdefault(down, []).append(task["task_id"])
    data = api._call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
    out = {}
    for ti in data["task_instances"]:
        if not ti.get("start_date") or not ti.get("end_date"):
            continue
        key = ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else "")
        out[key] = Ti(key, ti["task_id"], ti.get("operator") or "", ts(ti.get("scheduled_when")),
                      ts(ti.get("queued_when")), ts(ti["start_date"]) or 0.0, ts(ti["end_date"]) or 0.0,
                      upstream.get(ti["task_id"], []))
    return out


def critical_chain(tis: dict[str, Ti]) -> list[Ti]:
    by_task: dict[str, list[Ti]] = {}
    for ti in tis.values():
        by_task.setdefault(ti.task_id, []).append(ti)
    node = max(tis.values(), key=lambda t: t.end)
    chain = [node]
    while True:
        ups = [u for task in node.upstream for u in by_task.get(task, [])]
        if not ups:
            return list(reversed(chain))
        node = max(ups, key=lambda t: t.end)
        chain.append(node)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--federation", default="federation.single.yaml")
    parser.add_argument("--conf", default="", help="extra run conf as k=v,k=v (e.g. poll_interval_s=1)")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--port", type=int, default=int(os.environ.get("FATEOPS_AIRFLOW_PORT", "8080")),
                        help="the api-server's port (two runs side by side need two)")
    parser.add_argument("--tag", default="run", help="names this run's Airflow home and data dir")
    parser.add_argument("--preload", default="",
                        help="FATEOPS_PRELOAD for the scheduler: empty = fateops.localstack.preload's list, "
                             "'none' = no preloading (the Airflow CLI as is)")
    parser.add_argument("--compare", action="store_true",
                        help="run twice in this one invocation, --preload none then the default list, "
                             "and print both ratios side by side")
    args = parser.parse_args(argv)

    if not args.compare:
        return 0 if run(args, args.preload, args.tag)[0] == "success" else 1
    results = [(label, *run(args, preload, f"{args.tag}-{label}"))
               for label, preload in (("no-preload", "none"), ("preload", ""))]
    print("\n== side by side (same machine, one invocation, one after the other) ==")
    print(f"  {'scheduler':<12} {'state':<8} {'wall s':>8} {'FATE-busy s':>12} {'ratio':>6}")
    for label, state, wall, busy in results:
        print(f"  {label:<12} {state:<8} {wall:8.1f} {busy:12.1f} {wall / busy if busy else float('nan'):6.2f}")
    (_, _, wall_a, busy_a), (_, _, wall_b, busy_b) = results
    if busy_a and busy_b:
        print(f"  overhead (wall − FATE-busy): {wall_a - busy_a:.1f} s → {wall_b - busy_b:.1f} s; "
              f"ratio {wall_a / busy_a:.2f} → {wall_b / busy_b:.2f}")
    return 0 if all(state == "success" for _, state, _, _ in results) else 1


def run(args: argparse.Namespace, preload: str, tag: str) -> tuple[str, float, float]:
    """One pipeline run on a fresh Airflow home; prints its chain and returns (state, wall, FATE-busy)."""
    work = state_dir() / "bench" / "orchestration" / tag
    engine = LocalEngine()
    engine_was_up = engine.pid() is not None
    engine.start(timeout_s=180)
    stack = AirflowStack(port=args.port, home=work / "airflow", extra_env={
        "AIRFLOW_CONN_FATEFLOW_DEFAULT": f"fateflow://127.0.0.1:{engine.config.port}",
        "FATEOPS_FEDERATION": args.federation,
        "FATEOPS_DATA_DIR": str(work / "data"), "FATEOPS_REPORTS_DIR": str(work / "reports"),
        "FATEOPS_REGISTRY_DIR": str(work / "registry"),
        # at load 30-50 (other sessions' suites) the execution API's 5 s default fails tasks before they start
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
        "FATEOPS_PRELOAD": preload,
    })
    namespace = f"bench_orch_{secrets.token_hex(3)}"
    conf: dict[str, Any] = {"federation": args.federation, "rows": args.rows, "fraud_ratio": 0.02,
                            "min_rows": 100, "auc_threshold": 0.5, "namespace": namespace}
    for item in filter(None, args.conf.split(",")):
        key, value = item.split("=", 1)
        conf[key] = int(value) if value.isdigit() else value
    try:
        stack.start(timeout_s=600)
        with AirflowRestClient(stack.url, "admin", stack.admin_password() or "", timeout_s=180) as api, \
                FateFlowClient(engine.config.base_url, read_timeout=120) as client:
            api.wait_for_dag(DAG_ID, timeout_s=600)
            api.unpause(DAG_ID)
            since = time.time()
            run_id = api.trigger(DAG_ID, conf=conf, note="bench/orchestration_overhead.py")
            state = api.wait_for_run(DAG_ID, run_id, timeout_s=args.timeout)
            run = api._call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")
            tis = task_instances(api, run_id)
            jobs = fate_jobs(client, since)
    finally:
        stack.stop()
        if not engine_was_up:
            engine.stop()

    start, end = ts(run["start_date"]) or 0.0, ts(run["end_date"]) or 0.0
    wall = end - start
    intervals = list(jobs.values())
    busy = union(intervals)
    for ti in tis.values():
        ti.fate = intervals
    chain = critical_chain(tis)
    import fateops

    print(f"\n== [{tag}] fateops from {Path(fateops.__file__).parent}; scheduler preload: {preload or 'default list'}")
    print(f"== {DAG_ID}: {args.rows} rows, {args.federation}, run {state}; AIRFLOW parallelism "
          f"{os.environ.get('AIRFLOW__CORE__PARALLELISM', 'stack default')} ==")
    print(f"pipeline wall {wall:.1f} s; FATE-busy (union of {len(jobs)} jobs) {busy:.1f} s; "
          f"sum of job walls {sum(b - a for a, b in intervals):.1f} s")
    print(f"RATIO wall ÷ FATE-busy = {wall / busy:.2f}" if busy else "no FATE job ran: no ratio")
    rows = []
    prev_end = start
    kinds = {"wait before start (after upstream end)": 0.0, "  of which queued → running": 0.0,
             "run time outside FATE jobs (non-sensor)": 0.0, "job-wait resume after FATE job end": 0.0,
             "sensor time before its job started": 0.0}
    print(f"\ncritical chain ({len(chain)} tasks): gap = start − upstream end; queued→run; run outside FATE")
    for ti in chain:
        gap = max(0.0, ti.start - prev_end)
        queued = max(0.0, ti.start - ti.queued) if ti.queued and ti.operator != SENSOR else 0.0
        outside = max(0.0, (ti.end - ti.start) - ti.fate_inside)
        kinds["wait before start (after upstream end)"] += gap
        kinds["  of which queued → running"] += min(queued, gap)
        resume = 0.0
        if ti.operator == SENSOR:
            mine = [b for a, b in intervals if ti.start <= b <= ti.end]
            resume = ti.end - max(mine) if mine else 0.0
            kinds["job-wait resume after FATE job end"] += resume
            kinds["sensor time before its job started"] += max(0.0, outside - resume)
        else:
            kinds["run time outside FATE jobs (non-sensor)"] += outside
        print(f"  {ti.key:<42} {ti.operator[:22]:<22} gap {gap:5.1f}  queued→run {queued:5.1f}  "
              f"run {ti.end - ti.start:6.1f} (outside FATE {outside:5.1f})"
              + (f"  resume {resume:4.1f}" if resume else ""))
        rows.append((gap + outside, ti.key))
        prev_end = ti.end
    print(f"  (after the last task: run end {end - prev_end:.1f} s later)")
    print(f"\ntop {args.top} contributors on the critical chain (gap + run outside FATE):")
    for cost, key in sorted(rows, reverse=True)[:args.top]:
        print(f"  {cost:6.1f} s  {key}")
    print("\noverhead by kind (critical chain):")
    for kind, value in kinds.items():
        print(f"  {kind:<42} {value:6.1f} s")
    print(f"  {'total non-FATE on the chain':<42} {wall - busy:6.1f} s (wall − FATE-busy)")
    return state, wall, busy


if __name__ == "__main__":
    sys.exit(main())
