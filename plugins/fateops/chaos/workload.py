"""The real FATE work a drill runs and inspects: its job, the injection point, rerun, resubmit, state.

Jobs are tiny on purpose — the toy example, or a reader → homo-LR training on the 300-row drill table —
so a drill costs seconds of FATE time, yet every fault meets a real multi-party job. Waiting for a job to
*end* is :func:`fateops.fate.watch.wait_for_job` (the one place job waiting lives); this module only
waits for the *injection point* (a task running at the target party), which is a different question.

With a site per party (``local_sites:``) a job is submitted and rerun at the initiator's site, but every
wait and every look at its tasks goes through a ``watch`` client that asks each party's own FATE Flow
(:class:`~fateops.fate.sitewatch.SitesJobClient`): one site lists only its own party's rows, and a drill's
verdict must see every party — and say so when they disagree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fateops.chaos.catalogue import Drill
from fateops.chaos.injectors.base import DrillContext, Injector, JobRef
from fateops.chaos.result import JobSeen, RerunSeen
from fateops.exceptions import DrillError, FateFlowError, FateFlowUnavailable, FateopsError
from fateops.fate.client import FateFlowClient
from fateops.fate.jobs import TableRef, homo_lr_train_job, toy_example_job
from fateops.fate.models import JobSnapshot, JobStatus, TaskInfo, latest_versions
from fateops.fate.watch import JobOutcome, wait_for_job

__all__ = ["Baseline", "DrillJob", "build_job", "capture_baseline", "check_preserved", "rerun_job", "resubmit",
           "seen", "stop_if_running", "train_reference_model", "wait_for_injection_point"]

START_DEADLINE_S = 900.0  # a busy engine may queue the drill job behind others before it runs
RERUN_RESTART_S = 180.0
RERUN_ATTEMPTS = 4
RERUN_SETTLE_S = 60.0
TOY_DATA_NUM = 1000
HOMO_LR = {"epochs": 8, "batch_size": 32, "learning_rate": 0.2}
Log = Callable[[str], None]


class JobReader(Protocol):
    """What the follow-ups read of a job: one FATE Flow, or every party's own site merged."""

    def query_job(self, job_id: str) -> JobSnapshot: ...
    def query_tasks(self, job_id: str) -> list[TaskInfo]: ...
    def stop_job(self, job_id: str) -> object: ...


@dataclass(frozen=True)
class DrillJob:
    """The job a drill submits and the role the target party plays in it."""

    schema: dict[str, Any]
    role: str
    description: str


def build_job(drill: Drill, ctx: DrillContext, injector: Injector) -> DrillJob:
    """The drill's job spec, with before-submit faults (e.g. a missing table) applied to it."""
    fed = ctx.federation
    guest = fed.guest.party_id
    hosts = [h.party_id for h in fed.hosts if h.party_id != guest] or [h.party_id for h in fed.hosts]
    arbiter = fed.arbiter.party_id
    target = ctx.party.party_id
    if drill.job == "toy":
        hosts = hosts[:1]
    if target == guest:
        role = "guest"
    elif target in hosts:
        role = "host"
    elif drill.job == "homo_lr" and target == arbiter:
        role = "arbiter"
    else:
        raise DrillError(f"party {target} takes no part in the drill's {drill.job} job "
                         f"(guest {guest}, hosts {hosts})", fix="pick the guest or a host as the drill's party")
    if drill.job == "toy":
        schema = toy_example_job(guest, hosts[0], data_num=TOY_DATA_NUM, timeout=drill.job_timeout_s)
        return DrillJob(schema, role, f"toy example {guest} ↔ {hosts[0]} (data_num {TOY_DATA_NUM})")
    table = ctx.require("the drill table", ctx.table, "the runner uploads it before the drill")
    tables: dict[str, TableRef] = {str(p): table for p in (guest, *hosts)}
    tables = injector.adjust_tables(tables)
    schema = homo_lr_train_job(guest, hosts, arbiter, tables[str(guest)], [tables[str(h)] for h in hosts],
                               evaluate=False, timeout=drill.job_timeout_s, **HOMO_LR)
    return DrillJob(schema, role, f"homo-LR training (reader_0 → homo_lr_0, {HOMO_LR['epochs']} epochs) on "
                                  f"{table.namespace}/{table.name}, guest {guest}, hosts {hosts}")


def _started(task: TaskInfo) -> bool:
    """The party's own executor runs (or already ran) this task — not only the federated flag."""
    return task.party_status is JobStatus.RUNNING or task.party_status.is_terminal


def _hit(snap: JobSnapshot, drill: Drill, job: JobRef) -> bool:
    if drill.inject_when == "job_running":
        return snap.overall_status is JobStatus.RUNNING
    if drill.inject_when == "task_running":
        rows = [t for t in latest_versions(list(snap.tasks)) if t.task_name == drill.task_to_hit]
        return any(t.role == job.role and t.party_id == job.party_id and t.status is JobStatus.RUNNING
                   for t in rows) and all(_started(t) for t in rows)
    return True


def wait_for_injection_point(client: JobReader, drill: Drill, job: JobRef, *, log: Log,
                             deadline_s: float = START_DEADLINE_S, poll_s: float = 0.5) -> None:
    """Block until the drill's trigger holds (e.g. homo_lr_0 running at guest:9999).

    ``task_running`` waits until the task is running at the target party *and* every party's own executor
    has started it: FATE marks a task running everywhere before its federated "start" command reaches the
    parties, and a fault that lands in between (a stopped Exchange) loses that command — a different
    scenario (FATE 2.2 then gives the job up at the initiator and cannot tell the others) than a fault
    during the running task, which is what the drills describe.
    """
    deadline = time.monotonic() + deadline_s
    while True:
        snap = client.query_job(job.job_id)
        if _hit(snap, drill, job):
            log(f"injection point reached: {drill.inject_when} ({drill.task_to_hit or 'job'} at "
                f"{job.role}:{job.party_id}) — {snap.describe()}")
            return
        if snap.is_terminal:
            raise DrillError(f"job {job.job_id} ended {snap.overall_status.value} before the fault could be injected",
                             fix="give the drill a longer job (more epochs) or inject earlier (job_running)")
        if time.monotonic() >= deadline:
            raise DrillError(f"job {job.job_id} did not reach the injection point within {deadline_s:.0f}s "
                             f"({snap.describe()})", fix="check the engine's queue (`fateops engine status`)")
        time.sleep(poll_s)


def seen(client: JobReader, outcome: JobOutcome) -> JobSeen:
    """Reduce a wait's outcome (plus the job's task versions) to what the judge needs."""
    try:
        versions = [t.task_version for t in client.query_tasks(outcome.job_id)]
    except FateopsError:
        versions = []
    return JobSeen(status=outcome.status, job_status=outcome.job_status, party_statuses=dict(outcome.party_statuses),
                   max_task_version=max(versions, default=0), message=outcome.message)


def _latest(tasks: list[TaskInfo]) -> dict[str, TaskInfo]:
    return {t.key: t for t in latest_versions(tasks)}


def _settle(client: JobReader, job_id: str, log: Log) -> dict[str, TaskInfo]:
    """Wait until every task of the ended job is in an end state too, and return them.

    FATE marks the *job* failed as soon as one party fails, while the killed task's row may still say
    ``running``; a rerun asked for then finds no failed task to renew and the scheduler quietly drops it.
    """
    deadline = time.monotonic() + RERUN_SETTLE_S
    while True:
        tasks = _latest(client.query_tasks(job_id))
        pending = sorted(k for k, t in tasks.items() if not t.status.is_terminal)
        if not pending or time.monotonic() >= deadline:
            if pending:
                log(f"job {job_id}: tasks {', '.join(pending)} still not ended after {RERUN_SETTLE_S:.0f}s; "
                    "asking for the rerun anyway")
            return tasks
        time.sleep(1.0)


def _restarted(client: FateFlowClient, job_id: str, within_s: float) -> bool:
    """Did the job leave its end state (the rerun flips it back to waiting/running) within the time?"""
    deadline = time.monotonic() + within_s
    while client.query_job(job_id, with_tasks=False).is_terminal:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)
    return True


def _request_rerun(client: FateFlowClient, job_id: str, log: Log) -> None:
    """Ask for the rerun until the job restarts; ask again only while it is still ended (never runs twice).

    Two ways a busy standalone engine drops a rerun: its own internal "federated schedule" call times
    out (FATE's 10 s) and the request errors, or the scheduler resets the rerun signal without flipping
    the parties' jobs back. Either way the job is still ended, so asking again is safe.
    """
    for attempt in range(1, RERUN_ATTEMPTS + 1):
        try:
            client.rerun_job(job_id)
        except FateFlowError as err:
            log(f"rerun of {job_id} answered {err.message!r}")
        if _restarted(client, job_id, RERUN_RESTART_S / RERUN_ATTEMPTS):
            return
        if attempt < RERUN_ATTEMPTS:
            log(f"rerun of {job_id} did not restart it yet; asking again ({attempt}/{RERUN_ATTEMPTS - 1})")
    raise DrillError(f"rerun of job {job_id} did not restart it within {RERUN_RESTART_S:.0f}s "
                     f"({RERUN_ATTEMPTS} requests)", fix="read the FATE Flow scheduler log of the job")


def rerun_job(client: FateFlowClient, job_id: str, *, timeout_s: float, log: Log,
              watch: JobReader | None = None) -> tuple[RerunSeen, JobOutcome]:
    """FATE's "retry from the failed step": rerun (asked of ``client``, the initiator), wait (through
    ``watch``: every party's own site, when they have their own), and compare task versions before/after."""
    watch = watch or client
    before = _settle(watch, job_id, log)
    _request_rerun(client, job_id, log)
    outcome = wait_for_job(watch, job_id, timeout_s=timeout_s, poll_s=2.0, log=log)
    after = _latest(watch.query_tasks(job_id))
    rerun = tuple(sorted(k for k, t in after.items() if k not in before or t.task_version > before[k].task_version))
    kept = tuple(sorted(k for k, t in before.items() if t.status.is_success and after[k].task_version
                        == t.task_version))
    repeated = tuple(sorted(k for k, t in before.items() if t.status.is_success and k in rerun))
    log(f"rerun of {job_id}: {outcome.status}; re-ran {', '.join(rerun) or 'nothing'}; kept {', '.join(kept) or '-'}")
    return RerunSeen(status=outcome.status, rerun_tasks=rerun, kept_tasks=kept, repeated_successes=repeated), outcome


def resubmit(client: FateFlowClient, schema: dict[str, Any], *, timeout_s: float, log: Log,
             watch: JobReader | None = None) -> JobOutcome:
    """The seed's answer to a hung job: submit it again from the beginning (waited through ``watch``)."""
    job_id = client.submit_job(schema).job_id
    log(f"resubmitted as job {job_id}")
    return wait_for_job(watch or client, job_id, timeout_s=timeout_s, poll_s=2.0, log=log)


def stop_if_running(client: JobReader, job_id: str, log: Log) -> None:
    """Leave no drill job behind holding the engine's cores (at every site, when parties have their own)."""
    try:
        snap = client.query_job(job_id)
        if not snap.is_terminal:
            client.stop_job(job_id)
            log(f"stopped drill job {job_id} (was {snap.overall_status.value})")
    except FateopsError as err:
        log(f"could not stop drill job {job_id}: {err.message}")


# ------------------------------------------------------------------------------------ preserved state
@dataclass
class Baseline:
    """State that must survive the drill, captured before it."""

    jobs: list[str]
    table: tuple[str, str, int] | None
    model: tuple[str, str, str, str] | None  # job_id, role, party_id, task_name


def find_model(client: FateFlowClient) -> tuple[str, str, str, str] | None:
    """A trained homo-LR model of a recent successful job (what "download trained models" must still find)."""
    listed = client.list_jobs(limit=40, status="success")
    for job_id in dict.fromkeys(j.job_id for j in listed.jobs):
        for task in client.query_tasks(job_id):
            if (task.component == "homo_lr" and task.status.is_success and task.role in ("guest", "host")
                    and client.query_model(job_id, task.role, task.party_id, task.task_name)):
                return job_id, task.role, task.party_id, task.task_name
    return None


def train_reference_model(ctx: DrillContext, *, timeout_s: float, log: Log) -> str:
    """Train one homo-LR model on the drill table, so "models survive" has a model to check; returns its job."""
    from fateops.chaos.dataset import ensure_drill_table

    table = ensure_drill_table(ctx)
    fed = ctx.federation
    hosts = [h.party_id for h in fed.hosts if h.party_id != fed.guest.party_id]
    schema = homo_lr_train_job(fed.guest.party_id, hosts, fed.arbiter.party_id, table, [table] * len(hosts),
                               evaluate=False, timeout=int(timeout_s), **HOMO_LR)
    with ctx.initiator_client(read_timeout=60) as client, ctx.job_client(read_timeout=60) as watch:
        job_id = client.submit_job(schema).job_id
        log(f"no trained model to check preservation against: training reference job {job_id}")
        outcome = wait_for_job(watch, job_id, timeout_s=timeout_s, poll_s=2.0, log=log)
    if outcome.status != "success":
        raise DrillError(f"the reference training job {job_id} ended {outcome.status}: {outcome.message}")
    return job_id


def capture_baseline(client: FateFlowClient, drill: Drill, table: TableRef | None, *,
                     train_reference: Callable[[], None]) -> Baseline:
    """Recent job ids, the drill table's rows and a trained model (trained once when none exists yet)."""
    jobs = list(dict.fromkeys(j.job_id for j in client.list_jobs(limit=10).jobs))[:5]
    info = client.table_query(table.namespace, table.name) if table else None
    model = None
    if "models" in drill.preserved:
        model = find_model(client)
        if model is None:
            train_reference()
            model = find_model(client)
    return Baseline(jobs=jobs, table=(info.namespace, info.name, info.count) if info else None, model=model)


def check_preserved(client: FateFlowClient, drill: Drill, base: Baseline, drill_jobs: list[str],
                    extra: dict[str, tuple[bool, str]]) -> dict[str, dict[str, Any]]:
    """After recovery: history, tables and models are still there (``ok`` None = could not be checked)."""
    out: dict[str, dict[str, Any]] = {}
    for name in drill.preserved:
        try:
            if name == "job_history":
                missing = []
                for job_id in [*base.jobs, *drill_jobs]:
                    try:
                        client.query_job(job_id, with_tasks=False)
                    except FateFlowUnavailable:
                        raise
                    except FateFlowError:
                        missing.append(job_id)
                checked = len(base.jobs) + len(drill_jobs)
                out[name] = {"ok": not missing, "detail": f"{checked - len(missing)}/{checked} jobs still queryable"
                             + (f"; missing {missing}" if missing else "")}
            elif name == "tables":
                if base.table is None:
                    out[name] = {"ok": None, "detail": "no table before the drill"}
                else:
                    ns, tname, rows = base.table
                    info = client.table_query(ns, tname)
                    now = info.count if info else None
                    out[name] = {"ok": now == rows, "detail": f"{ns}/{tname}: {rows} rows before, {now} after"}
            elif name == "models":
                if base.model is None:
                    out[name] = {"ok": None, "detail": "no trained model to check"}
                else:
                    job_id, role, party_id, task = base.model
                    model = client.query_model(job_id, role, party_id, task)
                    out[name] = {"ok": bool(model), "detail": f"model of {task}@{role}:{party_id} (job {job_id}) "
                                                              + ("still downloadable" if model else "is gone")}
            elif name in extra:
                ok, detail = extra[name]
                out[name] = {"ok": ok, "detail": detail}
            else:
                out[name] = {"ok": None, "detail": "not checkable on this backend"}
        except FateopsError as err:
            out[name] = {"ok": False, "detail": f"check failed: {err.message}"}
    return out
