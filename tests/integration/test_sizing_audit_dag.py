"""fate_sizing_audit through ``dag.test()``: the local machine, real clusters, and vcsim through a connection.

* local — the local federation on this machine (the FATE engine is *not* started: the audit measures the
  machine only); a dataset far larger than any disk gives a deterministic warning to test the policy on;
* Kubernetes — party 30000 on the harness's ``party-a`` cluster (nodes of 16 CPU/64Gi, above the
  guideline) and party 40000 on a cluster the harness starts with nodes of 2 CPU/4Gi (below it): the
  release is rendered by the real helm for each cluster's version and audited against its real nodes;
* vSphere — vcsim's hosts (2 cores/4 GiB, 10 GbE NICs) and VMs (1 vCPU/32 MiB), read through an Airflow
  connection like a real vCenter.

Outcomes are asserted on the task states, the XComs and the report files — never on timings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.cluster import ClusterSpec, KubeCluster
from tests.integration.test_local_dags import run_dag, task_states, xcom

pytestmark = [pytest.mark.airflow]

DAG_ID = "fate_sizing_audit"
STORAGE_CLASS = "sizing-audit"
# Loopback ranges distinct from the harness's own clusters (127.96/127.97, 127.1/127.2, 127.241/127.242).
SMALL = ClusterSpec("sizing-small", service_cidr="127.98.0.0/20", pod_cidr="127.3.0.0/16",
                    lb_range="127.243.0.0/16", nodes=2, node_cpu="2", node_memory="4Gi")


def report_of(dag_run: Any) -> dict[str, Any]:
    """The JSON report the run wrote (located through write_report's XCom)."""
    written = xcom(dag_run, "write_report")
    assert Path(written["markdown"]).is_file()
    return json.loads(Path(written["json"]).read_text())


def rows(report: dict[str, Any], scope_prefix: str, check: str | None = None) -> list[dict[str, str]]:
    return [f for f in report["findings"] if f["scope"].startswith(scope_prefix) and check in (None, f["check"])]


def expected_state(report: dict[str, Any], fail_on: str) -> str:
    """What the gate must conclude from the findings the report holds."""
    refused = {"never": set(), "blocker": {"blocker"}, "warning": {"warning", "blocker"}}[fail_on]
    return "failed" if any(f["severity"] in refused for f in report["findings"]) else "success"


# -- (i) local -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fail_on", ["warning", "blocker"])
def test_local_federation_audits_the_engine_machine_and_gates_per_policy(airflow_db: Path, fail_on: str) -> None:
    dag_run = run_dag(DAG_ID, {"dataset_gb": 1_000_000, "fail_on": fail_on})  # 2× a PB: no disk has room
    states = task_states(dag_run)
    assert states["audit_vsphere"] == "skipped" and states["write_report"] == "success", states
    report = report_of(dag_run)
    assert report["fail_on"] == fail_on and report["skipped"] == ["vSphere: no vsphere_conn_id given"]
    for party in ("party 9999 (bank-a)", "party 10000 (bank-b)"):
        assert {f["check"] for f in rows(report, party)} == {"CPU cores", "memory", "free disk", "room for the dataset"}
    [room, _] = rows(report, "party", "room for the dataset")
    assert room["severity"] == "warning" and room["required"].startswith("≥ 2× the") and room["fix"]
    assert states["gate"] == expected_state(report, fail_on)
    assert (states["gate"] == "failed") is (fail_on == "warning")  # the dataset warning alone decides it here
    assert str(dag_run.state) == states["gate"]


# -- (ii) Kubernetes on the harness ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_cluster(helm_bin: Path) -> Iterator[KubeCluster]:
    """A cluster of two 2-CPU/4Gi nodes, started (and stopped, by pid) by the harness's own classes."""
    from tests.harness.fixtures import _new_run_dir, _prerequisite
    from tests.harness.runner import ENV_FILE_NAME, Harness, write_owned_env

    harness = Harness(run_dir=_new_run_dir("sizing"), specs=(SMALL,), with_vcsim=False)
    _prerequisite(harness.start)
    write_owned_env(harness.run_dir / ENV_FILE_NAME, harness.env())  # reaped by a later session if we die
    yield harness.clusters[SMALL.name]
    harness.stop()


def _storage_class(cluster: KubeCluster) -> None:
    from kubernetes import client

    api = cluster.client()
    try:
        client.StorageV1Api(api).create_storage_class(client.V1StorageClass(
            metadata=client.V1ObjectMeta(name=STORAGE_CLASS), provisioner="kubernetes.io/no-provisioner"))
    except client.ApiException as err:
        if err.status != 409:
            raise
    finally:
        api.close()


@pytest.fixture(scope="module")
def k8s_federation(kube_cluster: KubeCluster, small_cluster: KubeCluster, helm_bin: Path, airflow_db: Path,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Connections (env) to both clusters and a federation with one party on each."""
    for cluster in (kube_cluster, small_cluster):
        _storage_class(cluster)

    def conn(cluster: KubeCluster) -> str:
        return json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(cluster.kubeconfig)}})

    def party(party_id: int, roles: list[str], connection: str) -> dict[str, Any]:
        return {"party_id": party_id, "roles": roles, "backend": "kubernetes",
                "kubernetes": {"connection": connection, "namespace": f"fate-{party_id}",
                               "storage_class": STORAGE_CLASS}}

    federation = {"name": "sizing-harness", "initiator": 30000,
                  "exchange": {"kubernetes": {"connection": "k8s_sizing_big", "namespace": "fate-exchange"}},
                  "ops": {"image": "registry.invalid/fateops-ops:test"},
                  "parties": [party(30000, ["guest", "arbiter"], "k8s_sizing_big"),
                              party(40000, ["host"], "k8s_sizing_small")]}
    path = tmp_path_factory.mktemp("sizing") / "federation.sizing.yaml"
    path.write_text(yaml.safe_dump(federation, sort_keys=False))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_K8S_SIZING_BIG", conn(kube_cluster))
        mp.setenv("AIRFLOW_CONN_K8S_SIZING_SMALL", conn(small_cluster))
        mp.setenv("FATEOPS_HELM_BIN", str(helm_bin))
        yield str(path)


@pytest.fixture(scope="module")
def k8s_runs(k8s_federation: str) -> dict[str, Any]:
    """The DAG on both clusters, once per policy that matters here."""
    return {fail_on: run_dag(DAG_ID, {"federation": k8s_federation, "fail_on": fail_on})
            for fail_on in ("warning", "blocker")}


@pytest.mark.harness
def test_nodes_below_the_guideline_are_warnings_with_fixes(k8s_runs: dict[str, Any]) -> None:
    report = report_of(k8s_runs["blocker"])
    big, small = "party 30000", "party 40000"
    assert {f["subject"] for f in rows(report, big, "node allocatable")} == {"node worker-0", "node worker-1",
                                                                             "node worker-2"}
    assert {f["severity"] for f in rows(report, big, "node allocatable")} == {"ok"}
    nodes = rows(report, small, "node allocatable")
    assert [(f["subject"], f["severity"], f["measured"]) for f in nodes] == [
        ("node worker-0", "warning", "2 CPU/4Gi"), ("node worker-1", "warning", "2 CPU/4Gi")]
    assert all("larger VM class" in f["fix"] for f in nodes)
    [spark_big], [spark_small] = rows(report, big, "one Spark worker per node"), rows(report, small,
                                                                                     "one Spark worker per node")
    assert (spark_big["severity"], spark_small["severity"]) == ("ok", "warning") and spark_small["fix"]
    # the chart's default requests (python ~1 CPU/2Gi) are below the guideline on both, yet fit every node
    for scope in (big, small):
        [python] = [f for f in rows(report, scope, "pod requests") if f["subject"] == "python"]
        assert python["severity"] == "warning" and "resources.requests" in python["fix"]
    assert not [f for f in report["findings"] if f["severity"] == "blocker"]
    assert {f["severity"] for f in rows(report, "party", "storage class")} == {"ok"}
    assert {f["scope"] for f in report["findings"]} == {"party 30000", "party 40000"}


@pytest.mark.harness
def test_fail_on_warning_fails_the_gate_with_the_list_and_blocker_passes(k8s_runs: dict[str, Any]) -> None:
    strict, lenient = k8s_runs["warning"], k8s_runs["blocker"]
    assert task_states(strict)["write_report"] == "success"
    assert task_states(strict)["gate"] == "failed" and str(strict.state) == "failed"
    failing = report_of(strict)["failing"]
    assert {("party 40000", "node worker-0", "node allocatable"), ("party 40000", "spark-worker",
                                                                   "one Spark worker per node")} <= {
        (f["scope"], f["subject"], f["check"]) for f in failing}
    assert all(f["severity"] == "warning" and f["fix"] for f in failing)
    from fateops.sizing_audit import AuditReport, SizingAuditFailed

    with pytest.raises(SizingAuditFailed) as err:  # what the gate raised, from the file it read
        AuditReport.read(xcom(strict, "write_report")["json"]).enforce()
    assert f"{len(failing)} finding(s)" in err.value.message
    assert "party 40000 / node worker-0 — node allocatable: 2 CPU/4Gi (wants ≥ 4 CPU/8Gi (one guideline-sized pod)) " \
           "→ fix: use a larger VM class" in err.value.message
    assert task_states(lenient)["gate"] == "success" and str(lenient.state) == "success"
    assert xcom(lenient, "gate")["failing"] == 0


# -- (iii) vSphere through vcsim ----------------------------------------------------------------------------------
@pytest.mark.harness
def test_vsphere_hosts_and_vms_through_a_connection(vcsim: Any, airflow_db: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_VSPHERE_SIZING", json.dumps({
        "conn_type": "generic", "host": vcsim.host, "port": vcsim.port, "login": vcsim.user,
        "password": vcsim.password, "extra": {"verify_tls": False, "timeout": 20}}))
    dag_run = run_dag(DAG_ID, {"vsphere_conn_id": "vsphere_sizing", "vsphere_vms": "DC0_C0_*", "fail_on": "never"})
    states = task_states(dag_run)
    assert states["audit_vsphere"] == "success" and states["gate"] == "success", states
    report = report_of(dag_run)
    scope = f"vSphere {vcsim.host}"
    assert not report["skipped"] and rows(report, "party 9999")  # the parties are audited too
    hosts = rows(report, scope, "holds a worker VM")
    assert {f["subject"] for f in hosts} >= {"host DC0_C0_H0", "host DC0_C0_H1", "host DC0_C0_H2"}
    assert all(f["severity"] == "warning" and f["required"].endswith("(best-effort-2xlarge)") for f in hosts)
    uplinks = rows(report, scope, "uplink speed")
    assert uplinks and all(f["severity"] == "ok" and f["measured"].startswith("10 Gb/s") for f in uplinks)
    vms = {f["subject"]: f for f in rows(report, scope, "VM size vs class")}
    assert set(vms) >= {"VM DC0_C0_RP0_VM0", "VM DC0_C0_RP0_VM1"} and "VM DC0_H0_VM0" not in vms
    assert all(f["severity"] == "warning" and "not readable" in f["note"] for f in vms.values())
    assert rows(report, scope, "usable hosts")[0]["severity"] == "ok"
    written = xcom(dag_run, "write_report")
    for path in (written["json"], written["markdown"]):
        assert vcsim.password not in Path(path).read_text()  # credentials stay in the connection
    assert f"## {scope}" in Path(written["markdown"]).read_text()


def test_an_unknown_vsphere_connection_fails_the_audit_not_skips_it(airflow_db: Path) -> None:
    dag_run = run_dag(DAG_ID, {"vsphere_conn_id": "no_such_vcenter"})
    states = task_states(dag_run)
    assert states["audit_vsphere"] == "failed" and states["write_report"] == "upstream_failed", states
    assert str(dag_run.state) == "failed"
