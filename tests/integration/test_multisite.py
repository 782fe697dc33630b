"""Two REAL sites federating through the REAL local Exchange (tests/engine_fixtures.py::local_sites).

Party 9999 and party 10000 each run their own FATE Flow 2.2 and RabbitMQ node; FATE Flow's inter-party
commands go through traffic-server, routed by ``dest-party-id``. Every assertion is read back from the
parties' own servers and folders: job rows at each site, the Exchange's pid and access log, the bytes in
each site's storage.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fateops.engine.sites import LocalSites
from fateops.exceptions import FateFlowError
from fateops.fate.client import FateFlowClient
from fateops.fate.jobs import toy_example_job
from fateops.fate.sitewatch import SitesJobClient
from fateops.fate.upload import csv_meta
from fateops.fate.watch import wait_for_job

pytestmark = [pytest.mark.engine, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def clients(local_sites: LocalSites) -> Iterator[dict[int, FateFlowClient]]:
    opened = {party: FateFlowClient(url) for party, url in local_sites.urls().items()}
    yield opened
    for client in opened.values():
        client.close()


def test_a_job_submitted_at_9999_runs_as_host_at_10000s_own_fate_flow(
        local_sites: LocalSites, clients: dict[int, FateFlowClient]) -> None:
    submitted = clients[9999].submit_job(toy_example_job(guest=9999, host=10000, timeout=300))
    outcome = wait_for_job(SitesJobClient(clients), submitted.job_id, timeout_s=300, poll_s=2, log=lambda _: None)
    assert outcome.status == "success", outcome.message
    host_view = clients[10000].query_job(submitted.job_id)
    assert host_view.statuses == {"host:10000": "success"}  # 10000's own FATE Flow, its own row only
    assert clients[9999].query_job(submitted.job_id).statuses == {"guest:9999": "success"}
    routed = [line for line in local_sites.exchange.access_log(tail=2000) if "dest-party-id=10000" in line]
    assert any("v2/partner/job/create" in line and f":{local_sites.ports[10000].http}" in line for line in routed)


def test_without_10000s_route_the_toy_fails_naming_the_exchange_route_and_reload_keeps_the_pid(
        local_sites: LocalSites, clients: dict[int, FateFlowClient]) -> None:
    table = local_sites.route_table()
    pid = local_sites.exchange.pid()
    assert pid is not None
    cut = local_sites.exchange.apply(table.without(10000))
    try:
        assert cut.reloaded and local_sites.exchange.is_running_same(pid)
        with pytest.raises(FateFlowError) as err:
            clients[9999].submit_job(toy_example_job(guest=9999, host=10000, timeout=120))
        assert "No Exchange route" in err.value.message and "10000" in err.value.message
    finally:
        restored = local_sites.exchange.apply(table)
    assert restored.reloaded and local_sites.exchange.is_running_same(pid)
    assert local_sites.verify_routes() == {"9999": f"127.0.0.1:{local_sites.ports[9999].http}",
                                           "10000": f"127.0.0.1:{local_sites.ports[10000].http}"}


def _holds(folder: Path, marker: bytes) -> bool:
    return any(marker in path.read_bytes() for path in folder.rglob("*") if path.is_file())


def test_each_party_storage_holds_only_its_own_rows(local_sites: LocalSites, clients: dict[int, FateFlowClient],
                                                    tmp_path: Path) -> None:
    markers = {party: f"row{party}x{uuid.uuid4().hex[:12]}" for party in clients}
    uploads = {}
    for party, client in clients.items():  # both sites convert their own upload at the same time
        csv = tmp_path / f"{party}.csv"
        csv.write_text("id,y,x0\n" + "".join(f"{markers[party]}n{i},{i % 2},{i / 10}\n" for i in range(20)))
        uploads[party] = client.upload_file(csv, "privacy", f"p{party}_{markers[party]}", csv_meta(), partitions=1)
    for party, result in uploads.items():
        wait_for_job(clients[party], result.job_id, timeout_s=300, poll_s=1, log=lambda _: None).raise_for_status()
    for party in clients:
        other = 10000 if party == 9999 else 9999
        data = local_sites.site(party).engine.config.home_dir / "data"
        assert _holds(data, markers[party].encode()), f"positive control: {party}'s rows are in its own storage"
        assert not _holds(local_sites.site(party).root, markers[other].encode()), \
            f"party {other}'s rows reached party {party}'s site folder"


def test_the_route_cut_drill_injector_cuts_and_heals_at_the_real_exchange(local_sites: LocalSites) -> None:
    from fateops.chaos.catalogue import FaultSpec
    from fateops.chaos.injectors import DrillContext, build_injector

    federation = local_sites.federation
    ctx = DrillContext(backend="local", federation=federation, party=federation.party(10000))
    injector = build_injector(FaultSpec(action="cut_exchange_route", duration_s=20), ctx)
    pid = local_sites.exchange.pid()
    injector.preflight()
    try:
        injector.inject(None)
        assert injector.detected() and not injector.recovered()
        assert local_sites.exchange.routed_by_us(9999)  # the other party keeps its route
    finally:
        injector.lift()
    assert injector.recovered() and local_sites.exchange.pid() == pid
