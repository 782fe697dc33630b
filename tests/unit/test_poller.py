"""The shared job poller: one query per job per round for every waiter, tasks only when something moved,
errors reaching only the waiters of their job, leases closing the client, the trigger's contract kept.

The scripted FATE Flow below stands in for round timing only (the real engine: tests/integration/
test_shared_poller_engine.py); it counts what was asked.
"""

from __future__ import annotations

import asyncio

from fateops.exceptions import FateFlowError, FateFlowUnavailable
from fateops.fate.models import JobSnapshot, TaskInfo
from fateops.fate.poller import TASK_REFRESH_ROUNDS, active_pollers, shared_job_client
from fateops.fate.transport import ReturnCode
from fateops.fate.watch import JobWatch, await_job


def _rows(job_id: str, status: str, progress: int) -> list[dict[str, object]]:
    return [{"job_id": job_id, "role": r, "party_id": p, "status": status, "progress": progress,
             "model_id": "m1", "model_version": "0"} for r, p in (("guest", "9999"), ("host", "10000"))]


class _Engine:
    """Per job a script of (status, progress) rounds; the last entry repeats. Counts every query."""

    def __init__(self, scripts: dict[str, list[tuple[str, int]]]) -> None:
        self.scripts = scripts
        self.job_queries: dict[str, int] = {}
        self.task_queries: dict[str, int] = {}
        self.stopped: list[str] = []
        self.closed = 0
        self.excerpts = 0

    def _state(self, job_id: str) -> tuple[str, int]:
        script = self.scripts[job_id]
        return script[min(self.job_queries.get(job_id, 1) - 1, len(script) - 1)]

    async def query_job(self, job_id: str, *, with_tasks: bool = True) -> JobSnapshot:
        if job_id not in self.scripts:
            raise FateFlowError(f"no job {job_id}", code=ReturnCode.JOB_NOT_FOUND)
        self.job_queries[job_id] = self.job_queries.get(job_id, 0) + 1
        status, progress = self._state(job_id)
        return JobSnapshot.from_api(job_id, _rows(job_id, status, progress))

    async def query_tasks(self, job_id: str) -> list[TaskInfo]:
        self.task_queries[job_id] = self.task_queries.get(job_id, 0) + 1
        status, _ = self._state(job_id)
        return [TaskInfo.from_api({"job_id": job_id, "task_name": "toy_0", "role": "guest", "party_id": "9999",
                                   "status": status, "task_version": 0,
                                   "error_report": "boom" if status == "failed" else ""})]

    async def stop_job(self, job_id: str) -> None:
        self.stopped.append(job_id)
        await asyncio.sleep(0)

    async def task_error_excerpt(self, job_id: str, role: str, party_id: str | int, task_name: str, *,
                                 max_lines: int = 30) -> str:
        self.excerpts += 1
        await asyncio.sleep(0)
        return f"{task_name}@{role}:{party_id} Traceback"

    async def close(self) -> None:
        self.closed += 1


async def _wait_many(engine: _Engine, job_ids: list[str], *, deadline: float = 1e12,
                     stop_on_timeout: bool = True) -> list[object]:
    async def opener() -> _Engine:
        return engine

    async def one(job_id: str) -> object:
        async with shared_job_client("fateflow_test", opener, interval=0.001) as client:
            try:
                return await await_job(client, JobWatch(job_id, deadline=deadline), poll_s=0, log=lambda _: None,
                                       stop_on_timeout=stop_on_timeout)
            except FateFlowError as err:
                return err

    return await asyncio.gather(*(one(j) for j in job_ids))


def test_two_hundred_waits_on_one_job_cost_one_query_per_round() -> None:
    script = [("running", 10)] * 7 + [("running", 50)] * 3 + [("success", 100)]
    engine = _Engine({"j1": script})
    outcomes = asyncio.run(_wait_many(engine, ["j1"] * 200))
    assert {o.status for o in outcomes} == {"success"}  # type: ignore[attr-defined]
    assert {o.model_id for o in outcomes} == {"m1"}  # type: ignore[attr-defined]
    assert engine.job_queries["j1"] == len(script)  # one per round, whatever the number of waiters
    # tasks: first round, every TASK_REFRESH_ROUNDS unchanged rounds, each change (10→50, →success)
    assert engine.task_queries["j1"] < engine.job_queries["j1"]
    assert engine.task_queries["j1"] >= 3
    assert engine.closed == 1 and active_pollers() == []


def test_tasks_are_refreshed_even_when_the_rows_do_not_move() -> None:
    rounds = 3 * TASK_REFRESH_ROUNDS
    engine = _Engine({"j1": [("running", 10)] * rounds + [("success", 100)]})
    asyncio.run(_wait_many(engine, ["j1"]))
    # first round + one per TASK_REFRESH_ROUNDS unchanged rounds + the terminal round
    assert engine.task_queries["j1"] == 1 + (rounds - 1) // TASK_REFRESH_ROUNDS + 1


def test_each_job_is_judged_on_its_own_and_an_error_reaches_only_its_waiters() -> None:
    engine = _Engine({"ok": [("running", 0), ("success", 100)], "bad": [("running", 0), ("failed", 40)]})
    outcomes = asyncio.run(_wait_many(engine, ["ok", "bad", "ok", "missing", "bad"]))
    ok, bad, ok2, missing, bad2 = outcomes
    assert ok.status == ok2.status == "success"  # type: ignore[attr-defined]
    assert bad.status == bad2.status == "failed"  # type: ignore[attr-defined]
    assert bad.failed_tasks == ["toy_0"] and bad.log_excerpt == "toy_0@guest:9999 Traceback"  # type: ignore[attr-defined]
    assert isinstance(missing, FateFlowError) and missing.code == ReturnCode.JOB_NOT_FOUND
    assert engine.job_queries == {"ok": 2, "bad": 2}
    assert engine.excerpts == 1  # the two failed waits shared one log excerpt request


def test_a_deadline_passed_stops_the_job_through_the_shared_client() -> None:
    engine = _Engine({"j1": [("running", 30)]})
    outcomes = asyncio.run(_wait_many(engine, ["j1", "j1"], deadline=0.0))
    assert [o.status for o in outcomes] == ["timeout", "timeout"]  # type: ignore[attr-defined]
    assert all(o.message.endswith("the job was stopped") for o in outcomes)  # type: ignore[attr-defined]
    assert engine.stopped == ["j1"]  # the waits that time out together share one stop request


def test_an_unreachable_engine_keeps_the_wait_going_until_it_answers() -> None:
    class _Flaky(_Engine):
        async def query_job(self, job_id: str, *, with_tasks: bool = True) -> JobSnapshot:
            if self.job_queries.get("down", 0) < 2:
                self.job_queries["down"] = self.job_queries.get("down", 0) + 1
                raise FateFlowUnavailable("connection refused")
            return await super().query_job(job_id, with_tasks=with_tasks)

    engine = _Flaky({"j1": [("success", 100)]})
    [outcome] = asyncio.run(_wait_many(engine, ["j1"]))
    assert outcome.status == "success"  # type: ignore[attr-defined]
    assert engine.job_queries["down"] == 2


def test_a_cancelled_wait_leaves_the_others_and_the_last_lease_closes_the_client() -> None:
    engine = _Engine({"j1": [("running", 10)] * 5 + [("success", 100)]})

    async def scenario() -> tuple[object, bool]:
        async def opener() -> _Engine:
            return engine

        async def wait() -> object:
            async with shared_job_client("fateflow_test", opener, interval=0.001) as client:
                return await await_job(client, JobWatch("j1", deadline=1e12), poll_s=0, log=lambda _: None)

        doomed = asyncio.create_task(wait())
        survivor = asyncio.create_task(wait())
        await asyncio.sleep(0)
        doomed.cancel()
        outcome = await survivor
        await asyncio.gather(doomed, return_exceptions=True)
        return outcome, doomed.cancelled()

    outcome, cancelled = asyncio.run(scenario())
    assert cancelled and outcome.status == "success"  # type: ignore[attr-defined]
    assert engine.closed == 1 and active_pollers() == []


def test_pollers_are_per_endpoint_and_interval() -> None:
    async def scenario() -> int:
        async def opener() -> _Engine:
            return _Engine({})

        async with (shared_job_client("a", opener, interval=3) as one,
                    shared_job_client("a", opener, interval=3) as same,
                    shared_job_client("a", opener, interval=1) as faster,
                    shared_job_client("b", opener, interval=3) as other):
            assert one.poller is same.poller
            assert len({id(one.poller), id(faster.poller), id(other.poller)}) == 3
            return len(active_pollers())

    assert asyncio.run(scenario()) == 3
    assert active_pollers() == []


def test_the_trigger_round_trips_its_polling_mode() -> None:
    from fateops.airflow.triggers import FateJobTrigger

    for shared in (True, False):
        trigger = FateJobTrigger(job_id="j1", fateflow_conn_id="fateflow_default", deadline=10.0, started=1.0,
                                 shared_poll=shared)
        path, kwargs = trigger.serialize()
        assert kwargs["shared_poll"] is shared
        assert FateJobTrigger(**kwargs).serialize() == (path, kwargs)
    assert FateJobTrigger(job_id="j1", fateflow_conn_id="c", deadline=1.0, started=0.0).shared_poll
