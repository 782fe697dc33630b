"""The sizing audit's domain logic on hand-built manifests, nodes, machines and vSphere inventories.

Every case asserts findings (subject, check, severity, fix), policy verdicts and files — no services.
"""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fateops.exceptions import ConfigError
from fateops.federation import load_federation, parse_federation
from fateops.k8s.sizing import GI, LocalGuide, NodeCapacity, SizingRules, load_rules
from fateops.sizing_audit import (
    AuditReport,
    Finding,
    MachineFacts,
    SizingAuditFailed,
    audit_local,
    audit_party,
    audit_release,
    audit_vsphere,
    dataset_bytes_of,
    failing,
    load_vsphere_guide,
    read_machine,
)
from fateops.vsphere.sizing import HostSizing, VmSizing, summarize

SCOPE = "party 30000 (bank-a)"


@pytest.fixture(scope="module")
def rules() -> SizingRules:
    return load_rules()


def workload(component: str, cpu: str, memory: str, *, replicas: int = 1) -> dict[str, Any]:
    """A Deployment as ``helm template`` renders our chart's: component label, one container's requests."""
    return {"kind": "Deployment",
            "metadata": {"name": component, "labels": {"app.kubernetes.io/component": component}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": component, "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}}}}


def pvc(name: str, component: str, size: str) -> dict[str, Any]:
    return {"kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/component": component}},
            "spec": {"resources": {"requests": {"storage": size}}}}


def node(name: str, cpu: int, memory_gi: int) -> NodeCapacity:
    return NodeCapacity(name, Decimal(cpu), memory_gi * GI)


def by(findings: list[Finding], subject: str, check: str) -> Finding:
    [found] = [f for f in findings if f.subject == subject and f.check == check]
    return found


# -- rules ------------------------------------------------------------------------------------------------
def test_the_shipped_local_section_is_parsed_and_older_files_without_it_still_load(rules: SizingRules,
                                                                                      tmp_path: Path) -> None:
    assert rules.local == LocalGuide(cpu=Decimal(2), memory=4 * GI, free_disk=5 * GI, dataset_multiple=Decimal(2))
    assert rules.default.cpu == 4  # the existing keys are untouched
    old = tmp_path / "sizing.yaml"
    old.write_text("pods:\n  default: {cpu: '4', memory: 8Gi}\n")
    assert load_rules(old).local is None


def test_a_local_section_missing_a_key_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "sizing.yaml"
    bad.write_text("pods:\n  default: {cpu: '4', memory: 8Gi}\nlocal: {cpu: '2', memory: 4Gi, dataset_multiple: 2}\n")
    with pytest.raises(ConfigError) as err:
        load_rules(bad)
    assert err.value.field == "local.free_disk"


def test_the_vsphere_guideline_in_numbers() -> None:
    guide = load_vsphere_guide()
    assert (guide.control_plane.name, guide.control_plane.cpu, guide.control_plane.memory_gib) == (
        "best-effort-small", 2, 4.0)
    assert (guide.workers.name, guide.workers.cpu, guide.workers.memory_gib) == ("best-effort-2xlarge", 8, 64.0)
    assert (guide.network_gbit, guide.image_disk_gib) == (10.0, 32.0)


def test_a_vm_class_without_a_size_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "sizing.yaml"
    bad.write_text("vm_classes: {control_plane: best-effort-small, workers: guaranteed-huge}\n"
                   "vm_class_sizes: {small: {cpu: 2, memory: 4Gi}}\n")
    with pytest.raises(ConfigError) as err:
        load_vsphere_guide(bad)
    assert err.value.field == "vm_classes.workers" and err.value.value == "guaranteed-huge"


# -- (a) Kubernetes -----------------------------------------------------------------------------------------
def test_small_nodes_and_small_pods_are_warnings_with_fixes(rules: SizingRules) -> None:
    manifests = [workload("python", "1", "2Gi"), workload("mysql", "4", "8Gi"),
                 workload("spark-worker", "8", "16Gi", replicas=2)]
    found = audit_release(SCOPE, manifests, [node("w0", 16, 64), node("w1", 2, 4)], rules)
    assert {f.scope for f in found} == {SCOPE}
    assert by(found, "node w0", "node allocatable").severity == "ok"
    small = by(found, "node w1", "node allocatable")
    assert (small.severity, small.measured, small.required) == ("warning", "2 CPU/4Gi",
                                                                "≥ 4 CPU/8Gi (one guideline-sized pod)")
    assert "larger VM class" in small.fix
    spark = by(found, "spark-worker", "one Spark worker per node")
    assert (spark.severity, spark.required) == ("warning", "2 for 2 worker(s)") and spark.measured.startswith("1 node")
    python = by(found, "python", "pod requests")
    assert (python.severity, python.measured, python.required) == ("warning", "1 CPU/2Gi", "≥ 4 CPU/8Gi")
    assert "python pod's resources.requests" in python.fix
    assert by(found, "mysql", "pod requests") == Finding(SCOPE, "mysql", "pod requests", "ok", "4 CPU/8Gi",
                                                           "≥ 4 CPU/8Gi")
    assert not [f for f in found if f.severity == "blocker"]  # everything still fits on w0


def test_a_pod_that_fits_no_node_is_a_blocker(rules: SizingRules) -> None:
    found = audit_release(SCOPE, [workload("spark-worker", "8", "16Gi")], [node("w0", 2, 4), node("w1", 4, 8)], rules)
    blocker = by(found, "spark-worker", "fits a node")
    assert blocker.severity == "blocker" and "w1 4 CPU/8Gi" in blocker.required and "Pending" in blocker.fix


def test_no_schedulable_node_is_a_blocker(rules: SizingRules) -> None:
    found = audit_release(SCOPE, [workload("python", "4", "8Gi")], [], rules)
    assert [(f.subject, f.severity) for f in found] == [("nodes", "blocker"), ("python", "ok")]


def test_volumes_against_the_minimum_and_twice_the_dataset(rules: SizingRules) -> None:
    manifests = [pvc("python-data", "python", "20Gi"), pvc("mysql-data", "mysql", "1Gi")]
    nodes = [node("w0", 16, 64)]
    without = audit_release(SCOPE, manifests, nodes, rules)
    python = by(without, "volume python-data", "volume size")
    assert python.severity == "ok" and "dataset rule was not checked" in python.note
    mysql = by(without, "volume mysql-data", "volume size")
    assert (mysql.severity, mysql.measured, mysql.required) == ("warning", "1Gi", "≥ 5Gi")
    with_data = audit_release(SCOPE, manifests, nodes, rules, dataset_bytes=dataset_bytes_of(15))
    python = by(with_data, "volume python-data", "volume size")
    assert python.severity == "warning" and python.required == "≥ 5Gi and ≥ 2× the 15Gi dataset" and not python.note
    assert "persistence size" in python.fix


def test_an_unreachable_cluster_is_one_blocker_naming_the_connection(rules: SizingRules, tmp_path: Path) -> None:
    from fateops.backends.kubernetes import KubernetesBackend
    from fateops.k8s.access import KubeAccess

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": f"https://127.0.0.1:{port}",
                                               "insecure-skip-tls-verify": True}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
        "users": [{"name": "x", "user": {"token": "t"}}]}))
    federation = load_federation("federation.tanzu.yaml")
    backend = KubernetesBackend(federation, resolver=lambda conn: KubeAccess(conn, kubeconfig=kubeconfig))
    party = federation.party(30000)
    [found] = audit_party(party, federation, backend, rules)
    assert (found.subject, found.severity) == ("cluster k8s_party_30000", "blocker")
    assert "not reachable" in found.measured and "kubeconfig" in found.fix


# -- (b) local ----------------------------------------------------------------------------------------------
def facts(cores: int = 8, memory_gi: int = 32, free_gi: int = 100) -> MachineFacts:
    return MachineFacts("box", cores, memory_gi * 1024**3, "/srv/fateops/engine/home", free_gi * 1024**3)


def test_a_machine_above_the_local_floor_is_all_ok(rules: SizingRules) -> None:
    found = audit_local("party 9999", facts(), rules.local)
    assert [(f.check, f.severity) for f in found] == [("CPU cores", "ok"), ("memory", "ok"), ("free disk", "ok")]
    assert by(found, "disk /srv/fateops/engine/home", "free disk").note.startswith("no dataset size given")


def test_a_small_machine_blocks_on_memory_and_disk_and_warns_on_cpu(rules: SizingRules) -> None:
    found = audit_local("party 9999", facts(cores=1, memory_gi=2, free_gi=1), rules.local)
    assert {f.check: f.severity for f in found} == {"CPU cores": "warning", "memory": "blocker", "free disk": "blocker"}
    memory = by(found, "machine box", "memory")
    assert (memory.measured, memory.required) == ("2Gi", "≥ 4Gi") and "OOM" in memory.fix
    assert all(f.fix for f in found)


def test_room_for_twice_the_dataset(rules: SizingRules) -> None:
    found = audit_local("party 9999", facts(free_gi=15), rules.local, dataset_bytes=dataset_bytes_of(10))
    room = by(found, "disk /srv/fateops/engine/home", "room for the dataset")
    assert (room.severity, room.required) == ("warning", "≥ 2× the 10Gi dataset = 20Gi")
    assert by(found, "disk /srv/fateops/engine/home", "free disk").severity == "ok"


def test_rules_without_a_local_section_say_so(rules: SizingRules) -> None:
    [found] = audit_local("party 9999", facts(), None)
    assert found.severity == "warning" and "no local: section" in found.measured


def test_this_machine_is_measured_under_a_home_that_does_not_exist_yet(tmp_path: Path) -> None:
    home = tmp_path / "engine" / "home"
    machine = read_machine(home)
    assert machine.disk_path == str(home) and not home.exists()
    assert machine.cpu_cores >= 1 and machine.memory_bytes > 0 and machine.free_disk_bytes > 0


def test_a_local_party_is_audited_on_the_engine_machine_with_injected_facts(rules: SizingRules) -> None:
    from fateops.backends.local import LocalBackend

    federation = load_federation("federation.local.yaml")
    party = federation.party(10000)
    found = audit_party(party, federation, LocalBackend(), rules, facts=facts(memory_gi=1))
    assert {f.scope for f in found} == {"party 10000 (bank-b)"}
    assert by(found, "machine box", "memory").severity == "blocker"


# -- (c) vSphere --------------------------------------------------------------------------------------------
def host(name: str, cores: int, memory_gib: float, *, state: str = "connected", maintenance: bool = False,
         vms: tuple[str, ...] = ()) -> HostSizing:
    return HostSizing(name=name, cluster="c0", cpu_cores=cores, cpu_threads=cores * 2, cpu_mhz=2400,
                      memory_gib=memory_gib, connection_state=state, in_maintenance=maintenance, vms=vms)


def vm(name: str, cpu: int, memory_gib: float, host_name: str = "esx-0") -> VmSizing:
    return VmSizing(name=name, host=host_name, num_cpu=cpu, memory_gib=memory_gib, disk_gib=40.0,
                    power_state="poweredOn")


def test_hosts_vms_and_uplinks_against_the_vm_classes() -> None:
    guide = load_vsphere_guide()
    cluster = summarize(
        [host("esx-0", 32, 512), host("esx-1", 32, 512), host("esx-2", 4, 32, maintenance=True)],
        [vm("tkc-control-plane-x1", 2, 4), vm("tkc-workers-a1", 8, 64), vm("tkc-workers-a2", 4, 16),
         vm("vCLS-1", 1, 0.1)])
    uplinks = {"esx-0": (10000, 25000), "esx-1": (1000,)}
    found = audit_vsphere("vSphere vc.example", cluster, uplinks, guide, vm_pattern="tkc-*")
    assert by(found, "cluster", "usable hosts").measured.startswith("2 of 3")
    assert by(found, "cluster", "HA headroom (N+1)").severity == "ok"
    assert by(found, "host esx-2", "host usable").severity == "warning"
    too_small = by(found, "host esx-2", "holds a worker VM")
    assert (too_small.severity, too_small.required) == ("warning", "≥ 8 cores/64 GiB (best-effort-2xlarge)")
    assert by(found, "host esx-0", "uplink speed").measured == "25 Gb/s (fastest of 2 linked NIC(s))"
    assert by(found, "host esx-1", "uplink speed").severity == "warning"
    unknown = by(found, "host esx-2", "uplink speed")
    assert unknown.severity == "warning" and "could not be checked" in unknown.note
    assert by(found, "VM tkc-control-plane-x1", "VM size vs class").severity == "ok"
    assert by(found, "VM tkc-workers-a1", "VM size vs class").severity == "ok"
    worker = by(found, "VM tkc-workers-a2", "VM size vs class")
    assert (worker.severity, worker.measured) == ("warning", "4 vCPU/16 GiB (poweredOn)")
    assert "VM class is not readable" in worker.note and "image volume" in worker.note
    assert not [f for f in found if "vCLS" in f.subject]  # outside the pattern


def test_no_room_to_restart_a_failed_host_and_no_usable_host() -> None:
    guide = load_vsphere_guide()
    full = summarize([host("esx-0", 16, 64), host("esx-1", 16, 64)], [vm("w1", 8, 40), vm("w2", 8, 40)])
    headroom = by(audit_vsphere("vs", full, {}, guide), "cluster", "HA headroom (N+1)")
    assert (headroom.severity, headroom.required) == ("warning", "≤ 64 GiB (usable hosts but the largest)")
    down = summarize([host("esx-0", 16, 64, state="disconnected")], [])
    assert by(audit_vsphere("vs", down, {}, guide), "cluster", "usable hosts").severity == "blocker"


# -- policy and report ---------------------------------------------------------------------------------------
FINDINGS = (
    Finding("party 9999", "machine box", "memory", "ok", "32Gi", "≥ 4Gi"),
    Finding("party 30000", "node w1", "node allocatable", "warning", "2 CPU/4Gi", "≥ 4 CPU/8Gi", "bigger nodes"),
    Finding("party 30000", "spark-worker", "fits a node", "blocker", "8 CPU/16Gi", "≤ 4 CPU/8Gi", "add a node",
            "a | pipe"),
)


@pytest.mark.parametrize(("fail_on", "checks"), [("never", []), ("blocker", ["fits a node"]),
                                                ("warning", ["node allocatable", "fits a node"])])
def test_the_fail_on_policy(fail_on: str, checks: list[str]) -> None:
    assert [f.check for f in failing(FINDINGS, fail_on)] == checks


def test_an_unknown_policy_or_severity_is_refused() -> None:
    with pytest.raises(ConfigError):
        failing(FINDINGS, "sometimes")
    with pytest.raises(ConfigError):
        AuditReport("r", "f", "sometimes", FINDINGS)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        Finding.from_dict({**FINDINGS[0].as_dict(), "severity": "fine"})


def test_the_report_files_a_table_per_scope_and_a_rerun_rewrites_only_them(tmp_path: Path) -> None:
    report = AuditReport("scheduled__2026-01-05T00:00:00+00:00", "tanzu", "blocker", FINDINGS,
                         skipped=("vSphere: no vsphere_conn_id given",))
    paths = report.write(tmp_path)
    directory = tmp_path / "scheduled__2026-01-05T00_00_00_00_00"
    assert paths == {"json": directory / "sizing-audit.json", "markdown": directory / "sizing-audit.md"}
    data = json.loads(paths["json"].read_text())
    assert (data["passed"], data["counts"]) == (False, {"ok": 1, "warning": 1, "blocker": 1})
    assert [f["check"] for f in data["failing"]] == ["fits a node"]
    assert AuditReport.read(paths["json"]) == report
    md = paths["markdown"].read_text()
    assert "**Verdict: FAIL** under `fail_on=blocker`" in md
    assert [line for line in md.splitlines() if line.startswith("## ")] == [
        "## party 9999", "## party 30000", "## Not audited"]
    assert md.count("| Subject | Check | Result | Measured | Required | Fix / note |") == 2
    assert "| spark-worker | fits a node | ⛔ BLOCKER | 8 CPU/16Gi | ≤ 4 CPU/8Gi | add a node; note: a \\| pipe |" in md
    report.write(tmp_path)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["sizing-audit.json", "sizing-audit.md"]


def test_enforce_lists_what_the_policy_refuses_with_the_fixes() -> None:
    AuditReport("r", "f", "never", FINDINGS).enforce()
    with pytest.raises(SizingAuditFailed) as err:
        AuditReport("r", "f", "warning", FINDINGS).enforce("/reports/r/sizing-audit.md")
    assert [f.check for f in err.value.findings] == ["fits a node", "node allocatable"]  # blockers first
    assert "2 finding(s)" in err.value.message
    assert "node w1 — node allocatable: 2 CPU/4Gi (wants ≥ 4 CPU/8Gi) → fix: bigger nodes" in err.value.message
    assert "→ fix: add a node" in err.value.message and "/reports/r/sizing-audit.md" in err.value.fix


def test_dataset_size_param() -> None:
    assert dataset_bytes_of(0) is None and dataset_bytes_of(None) is None
    assert dataset_bytes_of(1.5) == Decimal("1.5") * GI


# -- the DAG's schedule and wiring ---------------------------------------------------------------------------
def test_weekly_unless_the_variable_says_otherwise() -> None:
    from fateops.airflow.schedules import variable_cron, variable_timetable

    name = "fateops_sizing_audit_schedule"
    assert variable_cron(name, {}) == ("@weekly", "default")
    assert variable_cron(name, {"AIRFLOW_VAR_FATEOPS_SIZING_AUDIT_SCHEDULE": "0 6 * * 1"}) == (
        "0 6 * * 1", "AIRFLOW_VAR_FATEOPS_SIZING_AUDIT_SCHEDULE")
    assert variable_timetable(name, {"FATEOPS_SIZING_AUDIT_SCHEDULE": "off"}) is None
    with pytest.raises(ConfigError) as err:
        variable_timetable(name, {"FATEOPS_SIZING_AUDIT_SCHEDULE": "mondays"})
    assert err.value.field == "FATEOPS_SIZING_AUDIT_SCHEDULE"


def test_the_dag_runs_the_report_after_a_skipped_vsphere_audit_and_gates_last() -> None:
    from airflow.dag_processing.dagbag import DagBag

    dags = Path(__file__).resolve().parents[2] / "dags"
    bag = DagBag(dag_folder=str(dags / "fate_sizing_audit.py"))
    assert not bag.import_errors
    dag = bag.dags["fate_sizing_audit"]  # as parsed: no metadata DB needed
    tasks = dag.task_dict
    assert set(tasks) == {"validate_federation", "audit_party", "audit_vsphere", "write_report", "gate"}
    assert tasks["write_report"].trigger_rule == "none_failed"
    assert tasks["write_report"].upstream_task_ids == {"audit_party", "audit_vsphere"}
    assert tasks["gate"].upstream_task_ids == {"write_report"} and tasks["gate"].retries == 0
    assert dag.params["fail_on"] == "blocker" and dag.params["vsphere_conn_id"] is None
    assert dag.timetable.expression == "0 0 * * 0"  # @weekly unless the environment says otherwise


def test_a_federation_of_unknown_backend_is_refused(rules: SizingRules) -> None:
    federation = parse_federation({"name": "x", "parties": [{"party_id": 1, "roles": ["guest"]},
                                                           {"party_id": 2, "roles": ["host"]}]})
    with pytest.raises(ConfigError):
        audit_party(federation.party(1), federation, object(), rules)  # type: ignore[arg-type]
