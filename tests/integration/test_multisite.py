"""Two REAL sites federating through the REAL local Exchange (tests/engine_fixtures.py::local_sites).

Party 9999 and party 10000 each run their own FATE Flow 2.2 and RabbitMQ node; FATE Flow's inter-party
commands go through traffic-server, routed by ``dest-party-id``. Every assertion is read back from the
parties' own servers and folders: job rows at each site, the Exchange's pid and access log, the bytes in
each site's storage.
"""

from __future__ import annotations

import random
import struct
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from fateops.engine.sites import LocalSites
from fateops.exceptions import FateFlowError
from fateops.fate.client import FateFlowClient
from fateops.fate.jobs import TableRef, homo_lr_train_job, toy_example_job
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


def _holding(folder: Path, markers: Iterable[bytes]) -> set[bytes]:
    """Which of ``markers`` occur anywhere in ``folder``'s files (storage, LMDB, sqlite DB, logs, job dirs,
    the broker's mnesia) — each file read once."""
    wanted, found = set(markers), set()
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found |= {m for m in wanted - found if m in data}
    return found


def _party_rows(party: int, rng: random.Random, rows: int) -> tuple[str, list[bytes]]:
    """``rows`` labelled rows whose ids carry a unique tag, and one planted feature value no one else has;
    returns the CSV and the byte patterns that betray these rows (the tag; the value as text and float64)."""
    tag = f"row{party}x{uuid.uuid4().hex[:12]}"
    planted = float(f"0.{rng.randrange(10**11, 10**12)}")
    lines = ["id,y,x0,x1,x2"]
    for i in range(rows):
        x = [round(rng.gauss(0, 1), 6) for _ in range(3)]
        if i == 0:
            x[1] = planted
        lines.append(f"{tag}n{i},{int(x[0] - 0.5 * x[2] + rng.gauss(0, 0.5) > 0)},{x[0]},{x[1]},{x[2]}")
    return "\n".join(lines) + "\n", [tag.encode(), repr(planted).encode(), struct.pack("<d", planted)]


def test_after_training_each_party_storage_holds_only_its_own_rows(
        local_sites: LocalSites, clients: dict[int, FateFlowClient], tmp_path: Path) -> None:
    """A real homo-LR across the two sites, then every byte of each site is searched for the other's rows.

    Positive controls: each party's tag is in its own storage, and each party's own FATE Flow holds its
    trained model (the updates that did cross). The Exchange's folder must hold no row of either party.
    """
    rng = random.Random(9)
    planted = {}
    tables = {}
    for party, client in clients.items():  # each site converts its own upload, side by side
        text, planted[party] = _party_rows(party, rng, 240)
        csv = tmp_path / f"{party}.csv"
        csv.write_text(text)
        # the table's *name* is job metadata every party's DAG carries: it must not hold the tag
        tables[party] = TableRef("privacy", f"p{party}_{uuid.uuid4().hex[:12]}")
        upload = client.upload_file(csv, tables[party].namespace, tables[party].name, csv_meta(), partitions=1)
        wait_for_job(client, upload.job_id, timeout_s=300, poll_s=1, log=lambda _: None).raise_for_status()
    job = homo_lr_train_job(9999, [10000], 9999, tables[9999], [tables[10000]], evaluate=False, timeout=600,
                            epochs=3, batch_size=64, learning_rate=0.2)
    submitted = clients[9999].submit_job(job)
    outcome = wait_for_job(SitesJobClient(clients), submitted.job_id, timeout_s=600, poll_s=2, log=lambda _: None)
    assert outcome.status == "success", outcome.message
    for party, role in ((9999, "guest"), (10000, "host")):  # the model updates crossed: each party has its model
        assert clients[party].query_model(submitted.job_id, role, party, "homo_lr_0")
    for party in clients:
        other = 10000 if party == 9999 else 9999
        root = local_sites.site(party).root
        own = _holding(local_sites.site(party).engine.config.home_dir / "data", planted[party])
        assert planted[party][0] in own, f"positive control: party {party}'s rows are in its own storage"
        leaked = _holding(root, planted[other])
        assert not leaked, f"party {other}'s rows ({sorted(leaked)}) reached party {party}'s site folder {root}"
    assert not _holding(local_sites.exchange.root, [m for marks in planted.values() for m in marks])


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
