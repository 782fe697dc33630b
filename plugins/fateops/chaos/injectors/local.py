"""Faults on the embedded standalone engine: kill or freeze its server, kill one task, lose a table.

How "block the engine's port" is done: the server process is SIGSTOPped. Its socket stays bound (no
other process can grab the port) and the kernel still completes TCP handshakes into the backlog, but
nothing answers — exactly what a client sees behind a black-holed network link (timeouts, not
refusals). SIGCONT lifts it. No iptables, no root, and nothing to forget on the host's firewall.

Every process is addressed by pid (with its start time), found from the engine's pid file and the
process tree below it — never by name.
"""

from __future__ import annotations

import signal
import time
from typing import Any

from fateops.chaos.injectors.base import DrillContext, Injector, JobRef
from fateops.chaos.injectors.procs import ProcRef, find_task_process, kill_tree, proc_ref
from fateops.exceptions import DrillError, FateopsError

__all__ = ["KillEngine", "KillTask", "MissingTable", "PauseEngine", "RemoveTable"]

HEAL_START_TIMEOUT_S = 180.0
FIND_TASK_S = 15.0


def _engine(ctx: DrillContext):  # type: ignore[no-untyped-def]
    return ctx.require("the local engine", ctx.engine, "run the drill with backend=local on this checkout")


def _check_same_engine(ctx: DrillContext) -> int:
    """The connection we observe through must be the engine we are about to break — never another one."""
    engine = _engine(ctx)
    pid = engine.pid()
    if pid is None:
        raise DrillError(f"the local engine is not running ({engine.config.base_url})",
                         fix="start it first (`fateops engine start` or the bootstrap DAG): drills only break "
                             "what is healthy")
    ours = engine.config.base_url.rstrip("/")
    if ctx.fateflow_url.rstrip("/") != ours:
        raise DrillError(f"the FATE Flow connection points at {ctx.fateflow_url} but this checkout's engine "
                         f"listens on {ours}: refusing to break an engine fateops does not run here",
                         fix="point the party's fateflow connection at the local engine, or use its backend")
    if not ctx.fate_healthy():
        raise DrillError(f"the local engine at {ours} does not answer its health check before the drill",
                         fix="`fateops engine status`; heal it before drilling")
    return pid


class KillEngine(Injector):
    """FATE Flow dies: SIGKILL to the server's process group (the server and every task it spawned)."""

    action = "kill_engine"
    backend = "local"

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.killed_pid: int | None = None
        self._others_checked = False

    def describe(self) -> str:
        engine = self.ctx.engine
        where = engine.config.base_url if engine else "the local engine"
        return (f"SIGKILL the FATE Flow server process group of {where} (server + task processes); "
                f"heal: restart the engine and wait until healthy")

    def preflight(self) -> None:
        _check_same_engine(self.ctx)

    def inject(self, job: JobRef | None) -> None:
        pid = _check_same_engine(self.ctx)
        ref = proc_ref(pid)
        if ref is None:
            raise DrillError(f"engine pid {pid} vanished before the drill could kill it")
        hit = kill_tree(ref, signal.SIGKILL)
        self.killed_pid = pid
        self.note(f"SIGKILL sent to the engine server pid {pid} and {len(hit) - 1} task process(es) below it")

    def detected(self) -> bool:
        down = not self.ctx.fate_healthy()
        if down and self.killed_pid is not None and self.ctx.sites and not self._others_checked:
            self._others_checked = True
            self._check_other_sites()
        return down

    def _check_other_sites(self) -> None:
        """Multi-site: only this party's site is down — every other party's own FATE Flow must still answer."""
        for party_id, url in sorted(self.ctx.site_urls.items()):
            if party_id == self.ctx.party.party_id:
                continue
            try:
                with self.ctx.fate_client(url=url, attempts=1) as client:
                    client.health()
                self.note(f"party {party_id}'s own FATE Flow ({url}) keeps serving while party "
                          f"{self.ctx.party.party_id}'s is down")
            except FateopsError as err:
                self.note(f"party {party_id}'s own FATE Flow ({url}) does NOT answer either: {err.message}")

    def recovered(self) -> bool:
        return self.ctx.fate_healthy()

    def lift(self) -> None:
        engine = _engine(self.ctx)
        if engine.pid() is None:
            status = engine.start(timeout_s=HEAL_START_TIMEOUT_S)
            self.note(f"engine restarted (pid {status.pid}, healthy={status.healthy})")

    def record(self) -> dict[str, Any]:
        return {"killed_pid": self.killed_pid}

    def restore(self, record: dict[str, Any]) -> None:
        self.killed_pid = record.get("killed_pid")


class PauseEngine(Injector):
    """The party's port is black-holed: SIGSTOP the server (tasks keep running, nobody gets an answer)."""

    action = "pause_engine"
    backend = "local"

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.paused: ProcRef | None = None

    def describe(self) -> str:
        held = f"for {self.spec.duration_s:.0f}s" if self.spec.duration_s else "until the job's wait has ended"
        return (f"SIGSTOP the FATE Flow server (port stays bound, connections hang) {held}; "
                f"heal: SIGCONT the same process")

    def preflight(self) -> None:
        _check_same_engine(self.ctx)

    def inject(self, job: JobRef | None) -> None:
        pid = _check_same_engine(self.ctx)
        ref = proc_ref(pid)
        if ref is None or not ref.signal(signal.SIGSTOP):
            raise DrillError(f"could not pause engine pid {pid}")
        self.paused = ref
        self.note(f"SIGSTOP sent to the engine server pid {pid}")

    def detected(self) -> bool:
        return not self.ctx.fate_healthy()

    def recovered(self) -> bool:
        return self.ctx.fate_healthy()

    def lift(self) -> None:
        if self.paused is not None and self.paused.stopped() and self.paused.signal(signal.SIGCONT):
            self.note(f"SIGCONT sent to the engine server pid {self.paused.pid}")

    def record(self) -> dict[str, Any]:
        return {"paused": self.paused.as_dict() if self.paused else None}

    def restore(self, record: dict[str, Any]) -> None:
        self.paused = ProcRef.from_dict(record["paused"]) if record.get("paused") else None


class KillTask(Injector):
    """A job error at one party: the party's running task executor (and its worker) is SIGKILLed.

    FATE's detector notices the dead process and stops the job on every party — the platform heals.
    """

    action = "kill_task"
    backend = "local"
    self_healing = True

    def describe(self) -> str:
        return (f"SIGKILL the executor of the drill's running task (its inject_task) at party "
                f"{self.ctx.party.party_id} (found in the engine's "
                f"process tree by its FATE_TASK_CONFIG); heal: FATE's detector stops the job everywhere")

    def preflight(self) -> None:
        _check_same_engine(self.ctx)

    def inject(self, job: JobRef | None) -> None:
        if job is None or not job.task_name:
            raise DrillError("kill_task needs a running job and task")
        server = _check_same_engine(self.ctx)
        deadline = time.monotonic() + FIND_TASK_S  # FATE marks a task running as its executor starts
        while (task := find_task_process(server, job_id=job.job_id, role=job.role, party_id=job.party_id,
                                         task_name=job.task_name)) is None and time.monotonic() < deadline:
            time.sleep(0.3)
        if task is None:
            raise DrillError(f"no process runs {job.task_name} of job {job.job_id} at {job.role}:{job.party_id}",
                             fix="the task may have finished already; raise the job's epochs or use another task")
        hit = kill_tree(task.ref, signal.SIGKILL)
        self.job = job
        self.note(f"SIGKILL sent to {task.task_name}@{task.role}:{task.party_id} v{task.task_version} "
                  f"executor pid {task.ref.pid} (+{len(hit) - 1} child process(es))")

    def _job_state(self) -> tuple[bool, bool]:
        """(any party failed, every party ended) — or (False, False) when FATE Flow does not answer."""
        if self.job is None:
            return False, False
        try:
            with self.ctx.fate_client() as client:
                snap = client.query_job(self.job.job_id, with_tasks=False)
        except FateopsError:
            return False, False
        return snap.has_failure, snap.is_terminal

    def detected(self) -> bool:
        return self._job_state()[0]

    def recovered(self) -> bool:
        return self._job_state()[1] and self.ctx.fate_healthy()

    def lift(self) -> None:
        """Nothing to undo: the process is gone and FATE cleans up after it."""


class MissingTable(Injector):
    """A job error at one party: its reader is pointed at a table that does not exist (changes nothing)."""

    action = "missing_table"
    backend = "any"
    self_healing = True
    before_submit = True

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.missing: str | None = None

    def describe(self) -> str:
        return (f"submit the job with party {self.ctx.party.party_id}'s input pointing at a table that does not "
                f"exist (nothing in the environment changes); heal: none needed")

    def adjust_tables(self, tables: dict[str, Any]) -> dict[str, Any]:
        from fateops.fate.jobs import TableRef

        pid = str(self.ctx.party.party_id)
        if pid not in tables:
            raise DrillError(f"party {pid} has no input table in this job")
        original = tables[pid]
        replaced = TableRef(original.namespace, f"{original.name}-missing-{self.ctx.run_id[-8:]}".strip("-"))
        self.missing = f"{replaced.namespace}/{replaced.name}"
        return {**tables, pid: replaced}

    def inject(self, job: JobRef | None) -> None:
        self.note(f"job submitted with party {self.ctx.party.party_id} reading missing table {self.missing}")

    def _job(self) -> Any:
        if self.job is None:
            return None
        try:
            with self.ctx.fate_client() as client:
                return client.query_job(self.job.job_id, with_tasks=False)
        except FateopsError:
            return None

    def detected(self) -> bool:
        snap = self._job()
        return bool(snap and snap.has_failure)

    def recovered(self) -> bool:
        snap = self._job()
        return bool(snap and snap.is_terminal)

    def lift(self) -> None:
        """Nothing was changed."""


class RemoveTable(Injector):
    """Storage loss: the party's uploaded training table is deleted; heal re-uploads it from the dataset."""

    action = "remove_table"
    backend = "local"
    before_submit = True

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.removed: tuple[str, str] | None = None
        self.expected_rows: int | None = None

    def describe(self) -> str:
        table = self.ctx.table
        name = f"{table.namespace}/{table.name}" if table else "the drill table"
        return f"delete table {name} before the job reads it; heal: re-upload it from the drill dataset"

    def preflight(self) -> None:
        _check_same_engine(self.ctx)
        self.ctx.require("the drill table", self.ctx.table, "the runner uploads it before the drill")
        self.ctx.require("the drill dataset file", self.ctx.dataset, "the runner writes it before the drill")

    def inject(self, job: JobRef | None) -> None:
        table = self.ctx.require("the drill table", self.ctx.table, "the runner uploads it first")
        with self.ctx.fate_client(read_timeout=30) as client:
            info = client.table_query(table.namespace, table.name)
            if info is None:
                raise DrillError(f"table {table.namespace}/{table.name} is already missing before the drill")
            self.expected_rows = info.count
            client.table_delete(table.namespace, table.name)
        self.removed = (table.namespace, table.name)
        self.note(f"table {table.namespace}/{table.name} ({info.count} rows) deleted")

    def _rows(self) -> int | None:
        if self.removed is None:
            return None
        try:
            with self.ctx.fate_client() as client:
                info = client.table_query(*self.removed)
        except FateopsError:
            return None
        return None if info is None else info.count

    def detected(self) -> bool:
        return self.removed is not None and self._rows() is None

    def recovered(self) -> bool:
        rows = self._rows()
        return rows is not None and (self.expected_rows is None or rows == self.expected_rows)

    def lift(self) -> None:
        if self.removed is None or self._rows() is not None:
            return
        from fateops.chaos.dataset import upload_table

        namespace, name = self.removed
        upload_table(self.ctx, self.ctx.require("the drill dataset", self.ctx.dataset, "rerun the drill"),
                     namespace, name)
        self.note(f"table {namespace}/{name} re-uploaded from {self.ctx.dataset}")

    def record(self) -> dict[str, Any]:
        return {"removed": list(self.removed) if self.removed else None, "expected_rows": self.expected_rows,
                "dataset": self.ctx.dataset}

    def restore(self, record: dict[str, Any]) -> None:
        self.removed = tuple(record["removed"]) if record.get("removed") else None  # type: ignore[assignment]
        self.expected_rows = record.get("expected_rows")
        if record.get("dataset") and not self.ctx.dataset:
            self.ctx.dataset = record["dataset"]
