"""The shared job poller against the REAL FATE 2.2 engine: many waits on one job share each round's
query and all see the job's real end; a wait whose deadline passed stops the job for real, and the
other waits on it then see it cancelled.

States and query counts are asserted, never wall-clock times (bench/deferred_waits.py measures those).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from fateops.fate import AsyncFateFlowClient, JobStatus, toy_example_job
from fateops.fate.poller import SharedJobClient, active_pollers, shared_job_client
from fateops.fate.watch import JobOutcome, JobWatch, await_job

pytestmark = [pytest.mark.engine, pytest.mark.timeout(600)]

GUEST, HOST = "9999", "10000"
JOB_DEADLINE_S = 480  # generous: the engine is shared and the box has 2 cores
WAITS = 20


async def _waits(url: str, job_ids: list[str], deadlines: list[float]) -> tuple[list[JobOutcome], SharedJobClient]:
    async def opener() -> AsyncFateFlowClient:
        return AsyncFateFlowClient(url)

    seats: list[SharedJobClient] = []

    async def one(job_id: str, deadline: float) -> JobOutcome:
        async with shared_job_client(url, opener, interval=1.0) as client:
            seats.append(client)
            return await await_job(client, JobWatch(job_id, deadline=deadline), poll_s=0, log=lambda _: None)

    outcomes = await asyncio.gather(*(one(j, d) for j, d in zip(job_ids, deadlines, strict=True)))
    return list(outcomes), seats[0]


async def test_many_waits_on_one_real_job_share_each_round(fate_url: str) -> None:
    async with AsyncFateFlowClient(fate_url) as client:
        job_id = (await client.submit_job(toy_example_job(GUEST, HOST, timeout=600))).job_id
        outcomes, seat = await _waits(fate_url, [job_id] * WAITS, [time.time() + JOB_DEADLINE_S] * WAITS)
        final = await client.query_job(job_id)
    assert final.overall_status is JobStatus.SUCCESS
    assert [o.status for o in outcomes] == ["success"] * WAITS
    assert {o.model_id for o in outcomes} == {final.model_id}
    stats = seat.poller.stats
    assert stats.job_queries == stats.rounds  # one /job/query per round for all the waits on the job
    assert 1 <= stats.task_queries <= stats.rounds
    assert active_pollers() == []  # the last wait closed the poller and its client


async def test_a_passed_deadline_stops_the_real_job_and_the_other_waits_see_it_cancelled(fate_url: str) -> None:
    async with AsyncFateFlowClient(fate_url) as client:
        job_id = (await client.submit_job(toy_example_job(GUEST, HOST, data_num=20000, timeout=600))).job_id
        while (await client.query_job(job_id, with_tasks=False)).overall_status is not JobStatus.RUNNING:
            await asyncio.sleep(0.5)
        outcomes, _ = await _waits(fate_url, [job_id, job_id, job_id],
                                   [0.0, time.time() + JOB_DEADLINE_S, time.time() + JOB_DEADLINE_S])
        final = await client.query_job(job_id)
    timed_out, *others = outcomes
    assert timed_out.status == "timeout" and timed_out.message.endswith("the job was stopped")
    assert final.overall_status is JobStatus.CANCELED
    assert [o.status for o in others] == ["failed", "failed"]
    assert {o.job_status for o in others} == {"canceled"}
