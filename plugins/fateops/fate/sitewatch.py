"""One job seen through every party's own FATE Flow: what a watch needs when parties run their own sites.

In FATE's multi-party mode each site's ``/job/query`` lists only *its own* party's rows: the initiator
cannot tell how the host is doing. :class:`SitesJobClient` (and its async twin) asks each party's FATE
Flow for that party's rows and merges them into one :class:`~fateops.fate.models.JobSnapshot`, so the
existing :class:`~fateops.fate.watch.JobWatch` judges the whole job. A site that does not know the job,
or does not answer, is not skipped: it becomes an ``unknown`` row plus a note, so the job can only
succeed when every party says so — and a watch that ends with parties disagreeing says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from fateops.exceptions import FateFlowError, FateFlowUnavailable
from fateops.fate.models import JobSnapshot, JobStatus, PartyJob, TaskInfo

if TYPE_CHECKING:
    from fateops.fate.watch import AsyncJobClient, SyncJobClient

View = JobSnapshot | FateFlowError


def merge_site_views(job_id: str, views: Mapping[int, View]) -> JobSnapshot:
    """Each party's own rows and tasks, as its own site reports them; a gap becomes an ``unknown`` row."""
    rows: list[PartyJob] = []
    tasks = []
    notes: list[str] = []
    for party_id, view in sorted(views.items()):
        own = str(party_id)
        if isinstance(view, FateFlowError):
            kind = "did not answer" if isinstance(view, FateFlowUnavailable) else "answered with an error"
            notes.append(f"party {party_id}'s own FATE Flow {kind}: {view.message}")
            mine: list[PartyJob] = []
        else:
            mine = [p for p in view.parties if p.party_id == own]
            tasks += [t for t in view.tasks if t.party_id == own]
            if not mine:
                notes.append(f"party {party_id}'s own FATE Flow has no job {job_id} "
                             "(it never reached that party: check the Exchange route)")
        rows += mine or [PartyJob(job_id, "party", own, JobStatus.UNKNOWN, 0, None, "", "")]
    merged = JobSnapshot.from_api(job_id, [], tasks)
    parties = tuple(sorted(rows, key=lambda p: (p.role, p.party_id)))
    return JobSnapshot(job_id, parties, merged.tasks, tuple(notes))


def disagreement(snapshot: JobSnapshot) -> str:
    """'' when the parties agree; else which party says what (some finished well, others did not)."""
    done = [k for k, v in snapshot.statuses.items() if v.is_success]
    other = [f"{k}={v.value}" for k, v in snapshot.statuses.items() if not v.is_success]
    if done and other:
        return (f"the parties disagree: {', '.join(done)} report success but {', '.join(other)} "
                "(each party's own FATE Flow was asked; fateops does not pick one)")
    return ""


def _stop_errors(job_id: str, errors: dict[int, Exception], asked: int) -> None:
    if errors and len(errors) == asked:
        detail = "; ".join(f"party {pid}: {err}" for pid, err in sorted(errors.items()))
        raise FateFlowError(f"stopping job {job_id} failed at every site ({detail})")


class SitesJobClient:
    """A :class:`~fateops.fate.watch.SyncJobClient` over several parties' own FATE Flows."""

    def __init__(self, clients: Mapping[int, SyncJobClient]) -> None:
        self.clients = dict(clients)

    def query_job(self, job_id: str) -> JobSnapshot:
        views: dict[int, View] = {}
        for party_id, client in self.clients.items():
            try:
                views[party_id] = client.query_job(job_id)
            except FateFlowError as err:
                views[party_id] = err
        return merge_site_views(job_id, views)

    def query_tasks(self, job_id: str) -> list[TaskInfo]:
        """Every party's own task rows (all versions), each from its own site; a silent site adds none."""
        rows: list[TaskInfo] = []
        for party_id, client in self.clients.items():
            try:
                rows += [t for t in client.query_tasks(job_id) if t.party_id == str(party_id)]  # type: ignore[attr-defined]
            except FateFlowError:
                continue
        return rows

    def stop_job(self, job_id: str) -> object:
        """Stop at every site (a cut route must not keep the job alive at the far party)."""
        errors: dict[int, Exception] = {}
        for party_id, client in self.clients.items():
            try:
                client.stop_job(job_id)
            except Exception as err:
                errors[party_id] = err
        _stop_errors(job_id, errors, len(self.clients))
        return None

    def task_error_excerpt(self, job_id: str, role: str, party_id: str, task_name: str, *,
                           max_lines: int = 30) -> str:
        return self.clients[int(party_id)].task_error_excerpt(job_id, role, party_id, task_name,
                                                               max_lines=max_lines)


class AsyncSitesJobClient:
    """The async twin of :class:`SitesJobClient`, for the triggerer."""

    def __init__(self, clients: Mapping[int, AsyncJobClient]) -> None:
        self.clients = dict(clients)

    async def query_job(self, job_id: str) -> JobSnapshot:
        """Every site at once: with shared pollers each answer is a seat in that site's next round."""
        import asyncio

        async def view(client: AsyncJobClient) -> View:
            try:
                return await client.query_job(job_id)
            except FateFlowError as err:
                return err

        answers = await asyncio.gather(*(view(c) for c in self.clients.values()))
        return merge_site_views(job_id, dict(zip(self.clients, answers, strict=True)))

    async def stop_job(self, job_id: str) -> object:
        errors: dict[int, Exception] = {}
        for party_id, client in self.clients.items():
            try:
                await client.stop_job(job_id)
            except Exception as err:
                errors[party_id] = err
        _stop_errors(job_id, errors, len(self.clients))
        return None

    async def task_error_excerpt(self, job_id: str, role: str, party_id: str, task_name: str, *,
                                 max_lines: int = 30) -> str:
        return await self.clients[int(party_id)].task_error_excerpt(job_id, role, party_id, task_name,
                                                                     max_lines=max_lines)
