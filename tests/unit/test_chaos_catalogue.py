"""The drill catalogue: the shipped YAML covers the seed's failure tables, and bad rows are named."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from fateops.chaos.catalogue import ACTIONS, DEFAULT_CATALOGUE_FILE, load_catalogue, parse_catalogue
from fateops.chaos.injectors import REGISTRY
from fateops.exceptions import ConfigError


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_CATALOGUE_FILE.read_text())


def test_every_row_of_tables_4_and_5_host_vm_and_disk_is_a_drill() -> None:
    cat = load_catalogue()
    by_table: dict[str, set[str]] = {}
    for d in cat.drills:
        by_table.setdefault(d.table, set()).add(d.id)
    # table 4: FATE Flow, MySQL, Nginx, Pulsar, HDFS datanode, Spark master/worker, HDFS namenode, the exchange
    components = {d.fault("kubernetes").component for d in cat.drills if d.table == "4" and "kubernetes" in d.faults}
    assert components == {"python", "mysql", "nginx", "pulsar", "datanode", "spark-master", "spark-worker",
                          "namenode", "traffic-server"}
    assert {d.fault("kubernetes").chart for d in cat.drills if d.id.startswith("t4-exchange")} == {"fate-exchange"}
    # table 5: network cut restored / not restored, FATE Flow at one party, a job error at one party
    assert by_table["5"] == {"t5-network-cut-restored", "t5-network-cut-permanent", "t5-fateflow-one-party",
                             "t5-job-error-one-party"}
    assert {d.fault("vsphere").action for d in cat.drills if d.table == "host-vm"} == {
        "power_off_vm", "host_failure", "maintenance_mode"}
    assert "disk-pv-backing" in by_table["disk"]


@pytest.mark.parametrize(("drill_id", "expected"), [
    ("t4-fateflow", "times_out"),
    ("t4-mysql", "continues_to_success"),
    ("t4-spark-worker", "continues_to_success"),
    ("t4-hdfs-namenode", "fails_then_resumes_with_rerun"),
    ("t4-exchange-nginx", "no_impact"),
    ("t5-network-cut-restored", "continues_to_success"),
    ("t5-network-cut-permanent", "times_out"),
    ("t5-fateflow-one-party", "times_out"),
    ("t5-job-error-one-party", "fails_on_all_parties"),
    ("disk-pv-backing", "continues_to_success"),
])
def test_expected_outcomes_are_the_seeds(drill_id: str, expected: str) -> None:
    assert load_catalogue().get(drill_id).expected == expected


def test_recovery_slos_are_the_seeds_numbers() -> None:
    cat = load_catalogue()
    assert {d.recovery_slo_s for d in cat.drills if d.table == "4" and d.id != "t4-broker-restart"} == {30}  # FLC pod
    assert cat.get("t4-broker-restart").recovery_slo_s == 60  # no seed row: a RabbitMQ node's boot, with headroom
    assert cat.get("vm-crash-ha").recovery_slo_s == 60  # HA restarts a crashed VM < 1 min
    assert cat.get("host-failure-ha").recovery_slo_s == 60
    assert cat.get("vm-worker-power-off").recovery_slo_s == 300  # TKG restarts a powered-off VM < 5 min
    assert {d.relaunch_slo_s for d in cat.drills if d.fault_actions() & {"power_off_vm", "host_failure"}} == {180}


def test_backends_and_actions_line_up_with_the_injectors() -> None:
    cat = load_catalogue()
    assert {a for actions in ACTIONS.values() for a in actions} == set(REGISTRY)
    local = {d.id for d in cat.for_backend("local")}
    assert {"t4-fateflow", "t4-hdfs-namenode", "t5-network-cut-restored", "t5-job-error-one-party"} <= local
    assert "t4-mysql" not in local  # the standalone engine has no MySQL to kill
    assert all(d.backends for d in cat.drills)
    assert "pvc_binding" in cat.get("disk-pv-backing").preserved


def test_select_defaults_to_every_drill_of_the_backend_in_catalogue_order() -> None:
    cat = load_catalogue()
    assert [d.id for d in cat.select("vsphere")] == [d.id for d in cat.drills if "vsphere" in d.faults]
    chosen = cat.select("local", ["t5-job-error-one-party", "t4-fateflow", "t4-fateflow"])
    assert [d.id for d in chosen] == ["t4-fateflow", "t5-job-error-one-party"]


def test_select_names_unknown_and_inapplicable_drills() -> None:
    cat = load_catalogue()
    with pytest.raises(ConfigError) as unknown:
        cat.select("local", ["t4-fatefow"])
    assert unknown.value.field == "drills" and "t4-fateflow" in unknown.value.fix
    with pytest.raises(ConfigError) as wrong_backend:
        cat.select("local", ["t4-mysql"])
    assert "kubernetes" in wrong_backend.value.fix
    with pytest.raises(ConfigError):
        cat.select("openstack")


def _with(shipped: dict[str, Any], index: int, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(shipped)
    data["drills"][index].update(changes)
    return data


def _row(shipped: dict[str, Any], drill_id: str) -> int:
    return next(i for i, d in enumerate(shipped["drills"]) if d["id"] == drill_id)


def test_an_action_on_the_wrong_backend_names_the_row_and_field(shipped: dict[str, Any]) -> None:
    i = _row(shipped, "t4-mysql")
    bad = _with(shipped, i, faults={"local": {"action": "delete_pods", "component": "mysql"}})
    with pytest.raises(ConfigError) as err:
        parse_catalogue(bad, source="drills.yaml")
    assert err.value.field == f"drills[{i}] (id t4-mysql)"
    assert "cannot run on local" in err.value.message and "kill_engine" in err.value.message


def test_a_missing_component_and_an_unknown_component_are_refused(shipped: dict[str, Any]) -> None:
    i = _row(shipped, "t4-nginx")
    with pytest.raises(ConfigError, match="needs 'component'"):
        parse_catalogue(_with(shipped, i, faults={"kubernetes": {"action": "delete_pods"}}))
    with pytest.raises(ConfigError, match="'mongodb' is not one of"):
        parse_catalogue(_with(shipped, i, faults={"kubernetes": {"action": "delete_pods", "component": "mongodb"}}))
    with pytest.raises(ConfigError, match="is not one of python, mysql"):
        parse_catalogue(_with(shipped, i, faults={"kubernetes": {"action": "delete_pvc_pod", "component": "nginx"}}))


def test_typos_duplicates_and_impossible_combinations_are_refused(shipped: dict[str, Any]) -> None:
    i = _row(shipped, "t4-fateflow")
    with pytest.raises(ConfigError) as typo:
        parse_catalogue(_with(shipped, i, recovery_slo=30))
    assert typo.value.field == f"drills[{i}] (id t4-fateflow).recovery_slo" and "unknown field" in typo.value.message
    dup = copy.deepcopy(shipped)
    dup["drills"].append(copy.deepcopy(dup["drills"][i]))
    with pytest.raises(ConfigError, match="appears twice"):
        parse_catalogue(dup)
    with pytest.raises(ConfigError, match="needs a job"):
        parse_catalogue(_with(shipped, _row(shipped, "t5-job-error-one-party"), job="none", inject_when="immediately"))
    with pytest.raises(ConfigError, match="recovery_deadline_s must be >= recovery_slo_s"):
        parse_catalogue(_with(shipped, i, recovery_deadline_s=10))
    with pytest.raises(ConfigError, match="expected"):
        parse_catalogue(_with(shipped, i, expected="probably_fine"))


def test_file_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_catalogue(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("drills: [\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_catalogue(broken)
    with pytest.raises(ConfigError, match="mapping"):
        parse_catalogue(["not", "a", "mapping"])


def test_recovery_deadline_leaves_room_to_measure_a_missed_slo() -> None:
    drill = load_catalogue().get("t4-fateflow")
    assert drill.recovery_deadline > drill.recovery_slo_s
    assert load_catalogue().get("t4-hdfs-namenode").task_to_hit == "homo_lr_0"
    assert load_catalogue().get("t4-fateflow").task_to_hit == "toy_example_0"


def test_the_federations_shape_picks_the_local_fault() -> None:
    """One shared engine: the ``local`` faults only; a site per party: ``local_sites`` first, else ``local``."""
    cat = load_catalogue()
    cut = cat.get("t5-network-cut-restored")
    assert cut.fault("local").action == "pause_engine"  # one engine: its server SIGSTOPped
    assert cut.fault("local", sites=True).action == "cut_exchange_route"  # sites: the route removed at the Exchange
    assert cut.fault("local", sites=True).duration_s == 5  # inside one running task (drills.yaml notes)
    assert cat.get("t5-network-cut-permanent").fault("local", sites=True).action == "pause_engine"  # both directions
    assert cat.get("t5-fateflow-one-party").fault("local", sites=True).action == "kill_engine"
    assert cat.get("t4-exchange-traffic-server").fault("local", sites=True).action == "restart_exchange"
    assert cat.get("t4-broker-restart").fault("local", sites=True).action == "restart_broker"
    assert cat.get("t4-hdfs-namenode").fault("local", sites=True).action == "kill_task"  # falls back to `local`
    assert cat.get("t4-broker-restart").expected == "fails_then_resumes_with_rerun"
    assert cat.get("t4-broker-restart").backends == ("local",)


def test_sites_only_drills_are_offered_only_to_a_federation_with_sites() -> None:
    cat = load_catalogue()
    one_engine = {d.id for d in cat.for_backend("local")}
    sites = {d.id for d in cat.for_backend("local", sites=True)}
    sites_only = {"t4-exchange-traffic-server", "t4-broker-restart", "t5-fateflow-one-party"}
    assert sites - one_engine == sites_only
    assert one_engine <= sites  # every one-engine drill also runs against a party's own site
    assert [d.id for d in cat.select("local", ["t4-broker-restart"], sites=True)] == ["t4-broker-restart"]
    with pytest.raises(ConfigError) as err:
        cat.select("local", ["t4-broker-restart"])
    assert "local_sites" in err.value.message and "federation.local.yaml" in err.value.fix
    with pytest.raises(ConfigError, match="cannot run on kubernetes"):
        cat.get("t4-broker-restart").fault("kubernetes")


def test_site_actions_are_refused_under_the_one_engine_key(shipped: dict[str, Any]) -> None:
    i = _row(shipped, "t5-network-cut-restored")
    bad = _with(shipped, i, faults={"local": {"action": "cut_exchange_route"}})
    with pytest.raises(ConfigError) as err:
        parse_catalogue(bad, source="drills.yaml")
    assert err.value.field == f"drills[{i}] (id t5-network-cut-restored)"
    assert "cannot run on local" in err.value.message
    with pytest.raises(ConfigError, match="local_sites"):
        parse_catalogue(_with(shipped, i, faults={"local_site": {"action": "cut_exchange_route"}}))


def test_select_drills_reads_the_shape_from_the_federation() -> None:
    from fateops.chaos.plan import has_sites, select_drills
    from fateops.federation import load_federation
    from fateops.paths import CONFIGS_DIR

    sites, single = (load_federation(CONFIGS_DIR / f"federation.{n}.yaml") for n in ("local", "single"))
    assert has_sites("local", sites) and not has_sites("local", single) and not has_sites("kubernetes", sites)
    assert "t4-broker-restart" in {d.id for d in select_drills(load_catalogue(), "local", (), sites)}
    assert "t4-broker-restart" not in {d.id for d in select_drills(load_catalogue(), "local", (), single)}


def test_task_running_waits_until_every_party_executor_started_the_task() -> None:
    """FATE flags a task running at every party before its start command reaches them: a fault in between
    hits the scheduler, not the running task — the injection point waits for each party's own executor."""
    from fateops.chaos.injectors import JobRef
    from fateops.chaos.workload import _hit
    from fateops.fate.models import JobSnapshot, TaskInfo

    def snap(host_party_status: str) -> JobSnapshot:
        rows = [{"task_name": "homo_lr_0", "role": "guest", "party_id": "9999", "status": "running",
                 "party_status": "running"},
                {"task_name": "homo_lr_0", "role": "host", "party_id": "10000", "status": "running",
                 "party_status": host_party_status}]
        return JobSnapshot.from_api("j1", [], [TaskInfo.from_api({"job_id": "j1", **r}) for r in rows])

    drill = load_catalogue().get("t4-exchange-traffic-server")
    ref = JobRef("j1", "host", "10000", "homo_lr_0")
    assert not _hit(snap("waiting"), drill, ref)  # flagged running, executor not started yet
    assert _hit(snap("running"), drill, ref)
    assert _hit(snap("success"), drill, ref)  # a party that already finished its part counts as started
