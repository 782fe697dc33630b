"""One poll loop per FATE Flow and interval, shared by every job wait in the process (the triggerer).

A triggerer may hold hundreds of deferred waits, often on the same few jobs. Polled one by one, each
wait asks ``/job/query`` and ``/job/task/query`` every few seconds on its own: 200 waits on one job
cost a third of a core. FATE Flow 2.2 answers ``/job/query`` for exactly one ``job_id`` (its list API
pages over every job and carries no tasks), so the saving comes from asking once per *distinct* job
per round, for all its waiters, and from asking for tasks only when something can have moved:

* a :class:`JobPoller` (one per ``(key, interval)``; the key names a FATE Flow endpoint, e.g. the
  Airflow conn id) runs one loop: each round it asks ``/job/query`` once per job that has a waiter,
  and ``/job/task/query`` only when that job's party rows (status, progress) changed since the
  previous round, when it is terminal, or every :data:`TASK_REFRESH_ROUNDS` rounds (so a task that
  starts without moving the progress still shows up in the log);
* every waiter awaits the round's snapshot of its job through a :class:`SharedJobClient` — the
  :class:`~fateops.fate.watch.AsyncJobClient` that :func:`~fateops.fate.watch.await_job` already
  takes, so each wait keeps its own :class:`~fateops.fate.watch.JobWatch` (deadline, messages,
  failure judgement, stop on timeout) unchanged;
* a poller lives while someone holds a lease on it (:func:`shared_job_client`); the last lease to go
  closes its FATE Flow client. Errors are per job: a :class:`~fateops.exceptions.FateFlowError` for
  one job reaches only that job's waiters, as the same exception a direct query would raise.

No Airflow here: the trigger only says which endpoint (key), how to open a client for it and how often.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from fateops.fate.models import JobSnapshot, TaskInfo

__all__ = ["TASK_REFRESH_ROUNDS", "JobPoller", "SharedJobClient", "shared_job_client"]

log = logging.getLogger(__name__)
T = TypeVar("T")

TASK_REFRESH_ROUNDS = 5  # tasks are re-read at least this often even when the job's rows did not move


class PolledClient(Protocol):
    """What the poller needs of :class:`~fateops.fate.aclient.AsyncFateFlowClient`."""

    async def query_job(self, job_id: str, *, with_tasks: bool = True) -> JobSnapshot: ...
    async def query_tasks(self, job_id: str) -> list[TaskInfo]: ...
    async def stop_job(self, job_id: str) -> None: ...
    async def task_error_excerpt(self, job_id: str, role: str, party_id: str | int, task_name: str, *,
                                 max_lines: int = ...) -> str: ...
    async def close(self) -> None: ...


OpenClient = Callable[[], Awaitable[PolledClient]]


@dataclass
class _JobState:
    """What the poller remembers of one job between rounds (to skip task queries that cannot differ)."""

    signature: tuple[tuple[str, str, str, int], ...] | None = None
    tasks: tuple[TaskInfo, ...] = ()
    rounds_since_tasks: int = 0


@dataclass
class PollStats:
    """Counts a test or a benchmark reads: how much the poller really asked of FATE Flow."""

    rounds: int = 0
    job_queries: int = 0
    task_queries: int = 0


@dataclass(eq=False)
class JobPoller:
    """Polls one FATE Flow every ``interval`` seconds for the jobs its waiters are waiting on."""

    key: Hashable
    interval: float
    open_client: OpenClient
    stats: PollStats = field(default_factory=PollStats)
    _client: PolledClient | None = None
    _opening: asyncio.Future[PolledClient] | None = None
    _leases: int = 0
    _waiting: dict[str, list[asyncio.Future[JobSnapshot]]] = field(default_factory=dict)
    _jobs: dict[str, _JobState] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _on_idle: Callable[[JobPoller], None] | None = None
    _calls: dict[Hashable, asyncio.Future[Any]] = field(default_factory=dict)

    async def client(self) -> PolledClient:
        """The one FATE Flow client of this poller (opened once, on first use)."""
        if self._client is not None:
            return self._client
        if self._opening is None:
            self._opening = asyncio.get_running_loop().create_future()
            try:
                self._client = await self.open_client()
            except BaseException as err:
                self._opening.set_exception(err)
                self._opening.exception()  # retrieved: other openers re-raise it themselves
                self._opening = None
                raise
            self._opening.set_result(self._client)
            return self._client
        return await asyncio.shield(self._opening)

    def acquire(self) -> None:
        self._leases += 1

    async def release(self) -> None:
        """Drop a lease; the last one stops the loop and closes the client."""
        self._leases -= 1
        if self._leases > 0:
            return
        if self._on_idle is not None:
            self._on_idle(self)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        client, self._client, self._opening = self._client, None, None
        self._jobs.clear()
        if client is not None:
            try:
                await client.close()
            except Exception as err:  # closing must not hide the wait's own outcome
                log.warning("closing the FATE Flow client of poller %s failed: %s", self.key, err)

    async def once(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call`` unless the same call is already in flight; then share its result (or error)."""
        running = self._calls.get(key)
        if running is None:
            running = self._calls[key] = asyncio.ensure_future(call())
            running.add_done_callback(lambda _done: self._calls.pop(key, None))
        return await asyncio.shield(running)

    async def snapshot(self, job_id: str) -> JobSnapshot:
        """The job as the next round sees it (or the error that round met for it)."""
        future: asyncio.Future[JobSnapshot] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(job_id, []).append(future)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"fateops-job-poller-{self.key}")
        self._wake.set()
        try:
            return await future
        finally:
            waiters = self._waiting.get(job_id)
            if waiters and future in waiters:  # cancelled before its round: leave no dangling future
                waiters.remove(future)
                if not waiters:
                    del self._waiting[job_id]

    async def _run(self) -> None:
        while True:
            if not self._waiting:
                self._wake.clear()
                await self._wake.wait()
            await self.poll_round()
            await asyncio.sleep(self.interval)

    async def poll_round(self) -> None:
        """Ask once per waited-on job, then hand each waiter its job's snapshot or error."""
        wanted, self._waiting = self._waiting, {}
        if not wanted:
            return
        self.stats.rounds += 1
        job_ids = list(wanted)
        results = await asyncio.gather(*(self._query(job_id) for job_id in job_ids), return_exceptions=True)
        for job_id, result in zip(job_ids, results, strict=True):
            for future in wanted[job_id]:
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
        for job_id in set(self._jobs) - set(job_ids) - set(self._waiting):
            del self._jobs[job_id]  # nobody waits on it any more

    async def _query(self, job_id: str) -> JobSnapshot:
        client = await self.client()
        state = self._jobs.setdefault(job_id, _JobState())
        snapshot = await client.query_job(job_id, with_tasks=False)
        self.stats.job_queries += 1
        signature = tuple((p.role, p.party_id, p.status.value, p.progress) for p in snapshot.parties)
        state.rounds_since_tasks += 1
        if (signature != state.signature or snapshot.is_terminal or state.signature is None
                or state.rounds_since_tasks >= TASK_REFRESH_ROUNDS):
            state.tasks = tuple(await client.query_tasks(job_id))
            self.stats.task_queries += 1
            state.rounds_since_tasks = 0
            state.signature = signature
        return snapshot.with_tasks(state.tasks)


class SharedJobClient:
    """An :class:`~fateops.fate.watch.AsyncJobClient` whose ``query_job`` is a seat in a shared poll round.

    ``query_job`` returns when the poller's next round has the job, so the wait loop needs no sleep of
    its own (``await_job(..., poll_s=0)``): the poller paces it. When many waits end together they
    also share the stop request and the log excerpt they ask for (one call in flight per job/task).
    """

    def __init__(self, poller: JobPoller) -> None:
        self.poller = poller

    async def query_job(self, job_id: str) -> JobSnapshot:
        return await self.poller.snapshot(job_id)

    async def stop_job(self, job_id: str) -> object:
        async def stop() -> object:
            return await (await self.poller.client()).stop_job(job_id)

        return await self.poller.once(("stop", job_id), stop)

    async def task_error_excerpt(self, job_id: str, role: str, party_id: str, task_name: str, *,
                                 max_lines: int = 30) -> str:
        async def excerpt() -> str:
            client = await self.poller.client()
            return await client.task_error_excerpt(job_id, role, party_id, task_name, max_lines=max_lines)

        return await self.poller.once(("excerpt", job_id, role, str(party_id), task_name, max_lines), excerpt)


_POLLERS: dict[tuple[int, Hashable, float], JobPoller] = {}


@asynccontextmanager
async def shared_job_client(key: Hashable, open_client: OpenClient, *,
                            interval: float) -> AsyncIterator[SharedJobClient]:
    """A lease on this event loop's poller for ``(key, interval)``; created on first use, closed after the last.

    ``key`` must name one FATE Flow endpoint with one identity (e.g. the Airflow conn id): waits that
    share it share the client that ``open_client`` builds for the first of them.
    """
    slot = (id(asyncio.get_running_loop()), key, float(interval))
    poller = _POLLERS.get(slot)
    if poller is None:
        poller = _POLLERS[slot] = JobPoller(key, float(interval), open_client)
        poller._on_idle = lambda done: _POLLERS.pop(slot, None) if _POLLERS.get(slot) is done else None
    poller.acquire()
    try:
        yield SharedJobClient(poller)
    finally:
        await poller.release()


def active_pollers() -> list[JobPoller]:
    """The pollers alive in this process (tests and the benchmark read their stats)."""
    return list(_POLLERS.values())
