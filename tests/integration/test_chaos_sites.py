"""The catalogue's drills on two REAL local sites and the REAL Exchange (tests/engine_fixtures.py::local_sites).

Each drill is played by the chaos runner exactly as ``fateops chaos run --federation federation.local.yaml``
plays it: the drill job is submitted at the initiator's site (9999) and watched at both parties' own FATE
Flows; the fault hits party 10000 (the host) — its route at the Exchange, its own FATE Flow, its own broker
— or the Exchange itself. Every test asserts the judged verdict and reads the evidence back from the real
daemons (pids, job rows at each site, task versions), never timings. After each drill both sites must
serve, the Exchange must route both parties, and the ledger must be empty.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fateops.chaos.catalogue import load_catalogue
from fateops.chaos.ledger import Ledger
from fateops.chaos.plan import drill_context
from fateops.chaos.result import DrillResult
from fateops.chaos.runner import DrillRunner
from fateops.engine.sites import LocalSites
from fateops.exceptions import FateopsError
from fateops.fate.client import FateFlowClient
from fateops.fate.models import JobStatus

pytestmark = [pytest.mark.engine, pytest.mark.timeout(900)]

TARGET = 10000  # the host: its own site is hit; 9999 (guest, arbiter, initiator) keeps running


@pytest.fixture(autouse=True)
def sites_left_healthy(local_sites: LocalSites) -> Iterator[None]:
    """Every drill heals: both sites serve, the Exchange routes both parties, nothing stays in the ledger."""
    yield
    broken = [s.party_id for s in local_sites.sites() if not _serving(s.url) or s.broker.probe()]
    if broken or local_sites.exchange.pid() is None:  # never leave it broken for the tests that follow
        local_sites.start_all(timeout_s=300)
    assert not broken, f"the drill left sites {broken} not serving"
    assert local_sites.verify_routes() == {str(pid): f"127.0.0.1:{ports.http}"
                                           for pid, ports in sorted(local_sites.ports.items())}
    assert Ledger().entries(backend="local") == []


def _serving(url: str) -> bool:
    """The site's FATE Flow answers (generous timeout: on a loaded machine an answer may take seconds)."""
    try:
        with FateFlowClient(url, read_timeout=60) as client:
            client.health()
    except FateopsError:
        return False
    return True


def run_drill(local_sites: LocalSites, drill_id: str) -> DrillResult:
    federation = local_sites.federation
    with drill_context("local", federation, federation.party(TARGET), run_id=f"pytest-sites-{drill_id}") as ctx:
        assert ctx.sites and ctx.fateflow_url == local_sites.site(TARGET).url
        return DrillRunner(ctx, log=print).run(load_catalogue().get(drill_id))


def rows(local_sites: LocalSites, job_id: str) -> dict[str, str]:
    """The job's rows as each party's own FATE Flow reports them (its own party only)."""
    out: dict[str, str] = {}
    for party_id, url in local_sites.urls().items():
        with FateFlowClient(url) as client:
            out |= {k: v.value for k, v in client.query_job(job_id).statuses.items() if k.endswith(f":{party_id}")}
    return out


def test_the_exchange_restarted_mid_training_leaves_the_job_to_finish_everywhere(local_sites: LocalSites) -> None:
    pid = local_sites.exchange.pid()
    result = run_drill(local_sites, "t4-exchange-traffic-server")
    assert result.status == "passed", result.reasons
    assert result.action == "restart_exchange" and result.observed == "no_impact"
    assert result.time_to_detect_s is not None and result.time_to_recover_s is not None
    new_pid = local_sites.exchange.pid()
    assert new_pid not in (None, pid), "the Exchange must be a new traffic-server process"
    assert any(f"new pid {new_pid}" in line for line in result.evidence)
    assert rows(local_sites, result.job_ids[0]) == {"guest:9999": "success", "arbiter:9999": "success",
                                                    "host:10000": "success"}


def test_the_hosts_route_cut_and_restored_at_the_exchange_lets_the_job_finish(local_sites: LocalSites) -> None:
    pid = local_sites.exchange.pid()
    result = run_drill(local_sites, "t5-network-cut-restored")
    assert result.status == "passed", result.reasons
    assert result.action == "cut_exchange_route" and result.observed in ("no_impact", "continues_to_success")
    assert any("route of party 10000 removed" in line for line in result.evidence)
    assert local_sites.exchange.is_running_same(pid), "a route change is a reload, never a restart"
    assert rows(local_sites, result.job_ids[0]) == {"guest:9999": "success", "arbiter:9999": "success",
                                                    "host:10000": "success"}


def test_the_hosts_site_black_holed_for_good_times_the_job_out(local_sites: LocalSites) -> None:
    pid = local_sites.exchange.pid()
    result = run_drill(local_sites, "t5-network-cut-permanent")
    assert result.status == "passed", result.reasons
    assert result.action == "pause_engine" and result.observed == "times_out"
    assert {"injected", "detected", "job_ended", "lifted", "recovered"} <= set(result.timeline)
    assert local_sites.exchange.is_running_same(pid)
    assert all(status != "success" for status in rows(local_sites, result.job_ids[0]).values())


def test_only_the_hosts_fate_flow_killed_times_the_job_out_while_the_initiators_site_serves(
        local_sites: LocalSites) -> None:
    before = {s.party_id: s.engine.pid() for s in local_sites.sites()}
    result = run_drill(local_sites, "t5-fateflow-one-party")
    assert result.status == "passed", result.reasons
    assert result.action == "kill_engine" and result.observed == "times_out"
    assert any("party 9999's own FATE Flow" in line and "keeps serving" in line for line in result.evidence)
    after = {s.party_id: s.engine.pid() for s in local_sites.sites()}
    assert after[9999] == before[9999], "only the drilled party's site may be touched"
    assert after[TARGET] not in (None, before[TARGET]), "the heal restarted the host's own FATE Flow"
    assert {name: check["ok"] for name, check in result.preserved.items()} == {
        "job_history": True, "tables": True, "models": True}


def test_the_hosts_broker_restarted_mid_job_fails_it_and_the_rerun_resumes_it(local_sites: LocalSites) -> None:
    broker = local_sites.site(TARGET).broker
    pid = broker.pid()
    result = run_drill(local_sites, "t4-broker-restart")
    assert result.status == "passed", result.reasons
    assert result.action == "restart_broker" and result.observed == "fails_then_resumes_with_rerun"
    assert broker.pid() not in (None, pid)
    job_id = result.job_ids[0]
    assert rows(local_sites, job_id) == {"guest:9999": "success", "host:10000": "success"}
    for url in local_sites.urls().values():  # the rerun re-ran the failed task at both sites
        with FateFlowClient(url) as client:
            assert client.query_job(job_id).overall_status is JobStatus.SUCCESS
            assert max(t.task_version for t in client.query_tasks(job_id)) >= 1
