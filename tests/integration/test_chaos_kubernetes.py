"""Kubernetes drills against the real-peers harness: a real apiserver, controller-manager and scheduler.

The party's FATE components are Deployments labelled exactly as the ``fate-party`` chart labels them
(``fateops.k8s.chart_contract``), MySQL on a PVC bound to a real PersistentVolume; the Exchange's
nginx/traffic-server run two replicas each. Pods are simulated (no containers), so the drills run
without FATE jobs (``use_fate=False``): what is asserted is the platform's side — the controller-manager
recreating deleted pods (recovery time recorded), a scaled-down deployment coming back, the NetworkPolicy
applied then removed, and the PVC still bound to the same volume after its pod was replaced.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from fateops.chaos.catalogue import load_catalogue
from fateops.chaos.ledger import Ledger
from fateops.chaos.plan import drill_context, run_drills, select_drills
from fateops.chaos.scorecard import Scorecard
from fateops.federation import Federation, parse_federation
from fateops.k8s.access import KubeAccess
from fateops.k8s.chart_contract import (
    EXCHANGE_COMPONENTS,
    LABEL_PARTY_ID,
    PARTY_COMPONENTS,
    pvc_name,
    selector_labels,
)
from tests.harness.cluster import KubeCluster
from tests.integration.test_harness import wait_for

pytestmark = [pytest.mark.harness, pytest.mark.timeout(1200)]

RELEASE = "fate-9999"


def _deployment(name: str, labels: dict[str, str], replicas: int, claim: str | None = None) -> client.V1Deployment:
    volumes = [client.V1Volume(name="data", persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
        claim_name=claim))] if claim else None
    mounts = [client.V1VolumeMount(name="data", mount_path="/data")] if claim else None
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas, selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(volumes=volumes, containers=[client.V1Container(
                    name=name, image=f"registry.invalid/{name}:1", volume_mounts=mounts)]))))


def _ready_pods(core: client.CoreV1Api, namespace: str) -> int:
    pods = core.list_namespaced_pod(namespace).items
    return sum(1 for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp
               and any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or [])))


@pytest.fixture(scope="module")
def fate_party(kube_cluster: KubeCluster) -> Iterator[dict[str, Any]]:
    """A fate-party–shaped release (every chart component) plus an Exchange, in fresh namespaces."""
    api = kube_cluster.client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    suffix = uuid.uuid4().hex[:6]
    party_ns, exchange_ns, pv = f"fate-9999-{suffix}", f"fate-exchange-{suffix}", f"chaos-pv-{suffix}"
    for ns in (party_ns, exchange_ns):
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    core.create_persistent_volume(client.V1PersistentVolume(
        metadata=client.V1ObjectMeta(name=pv),
        spec=client.V1PersistentVolumeSpec(capacity={"storage": "1Gi"}, access_modes=["ReadWriteOnce"],
                                           storage_class_name="", host_path=client.V1HostPathVolumeSource(
                                               path=f"/tmp/{pv}"), persistent_volume_reclaim_policy="Retain")))
    core.create_namespaced_persistent_volume_claim(party_ns, client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=pvc_name("mysql")),
        spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"], storage_class_name="",
                                                volume_name=pv,
                                                resources=client.V1ResourceRequirements(requests={"storage": "1Gi"}))))
    for component in PARTY_COMPONENTS:
        labels = {**selector_labels("fate-party", component, RELEASE), LABEL_PARTY_ID: "9999"}
        claim = pvc_name("mysql") if component == "mysql" else None
        apps.create_namespaced_deployment(party_ns, _deployment(component, labels, 1, claim))
    for component in EXCHANGE_COMPONENTS:
        apps.create_namespaced_deployment(exchange_ns,
                                          _deployment(component, selector_labels("fate-exchange", component), 2))
    wait_for(lambda: _ready_pods(core, party_ns) == len(PARTY_COMPONENTS), what="every party component Ready",
             timeout=120)
    wait_for(lambda: _ready_pods(core, exchange_ns) == 2 * len(EXCHANGE_COMPONENTS), what="exchange Ready",
             timeout=120)
    assert core.read_namespaced_persistent_volume_claim(pvc_name("mysql"), party_ns).status.phase == "Bound"
    yield {"party_ns": party_ns, "exchange_ns": exchange_ns, "pv": pv, "core": core, "apps": apps}
    for ns in (party_ns, exchange_ns):
        core.delete_namespace(ns)
    core.delete_persistent_volume(pv)
    api.close()


def _federation(party_ns: str, exchange_ns: str) -> Federation:
    return parse_federation({
        "name": "harness", "initiator": 9999,
        "ops": {"image": "registry.invalid/fateops-ops:0.1.0"},
        "exchange": {"kubernetes": {"connection": "k8s_party_a", "namespace": exchange_ns}},
        "parties": [
            {"party_id": 9999, "roles": ["guest", "arbiter"], "backend": "kubernetes", "chaos": "allowed",
             "kubernetes": {"connection": "k8s_party_a", "namespace": party_ns, "release": RELEASE}},
            {"party_id": 10000, "roles": ["host"], "backend": "kubernetes", "chaos": "forbidden",
             "kubernetes": {"connection": "k8s_party_b", "namespace": "fate-10000"}},
        ],
    })


def test_every_kubernetes_drill_against_the_real_control_plane(kube_cluster: KubeCluster,
                                                               fate_party: dict[str, Any]) -> None:
    federation = _federation(fate_party["party_ns"], fate_party["exchange_ns"])

    def resolver(conn_id: str) -> KubeAccess:
        return KubeAccess(conn_id=conn_id, kubeconfig=kube_cluster.kubeconfig, context=kube_cluster.name)

    drills = select_drills(load_catalogue(), "kubernetes")
    with drill_context("kubernetes", federation, federation.party(9999), resolver=resolver,
                       run_id="pytest-kubernetes") as ctx:
        card = run_drills(ctx, drills, use_fate=False, log_to=print)
    paths = card.write()
    print(paths["markdown"].read_text())
    by_id = {r.drill_id: r for r in card.results}

    # a job error at one party needs a FATE job: honestly skipped, not passed
    assert by_id["t5-job-error-one-party"].status == "skipped"
    assert card.passed, [(r.drill_id, r.reasons) for r in card.failures]

    # pod kills: the real controller-manager recreated every deleted pod; the recovery time is recorded
    pod_kills = [r for r in card.results if r.action == "delete_pods"]
    assert len(pod_kills) == 10
    for r in pod_kills:
        assert r.status == "passed" and r.time_to_recover_s is not None, (r.drill_id, r.reasons)
        deleted = next(line for line in r.evidence if line.startswith("deleted pod(s)"))
        replaced = [e["pod"] for e in r.events if e["kind"] == "PodReplaced" and e["ready"]]
        assert replaced and not any(name in deleted for name in replaced), r.drill_id
    exchange_kill = next(line for line in by_id["t4-exchange-nginx"].evidence if line.startswith("deleted pod(s)"))
    assert exchange_kill.count("nginx-") == 1  # `pods: 1` — one replica of two, the other kept serving

    # network cut: applied (that is what detection saw), removed on time, gone afterwards
    for drill_id in ("t5-network-cut-restored", "t5-network-cut-permanent"):
        r = by_id[drill_id]
        assert any("applied (deny all)" in line for line in r.evidence), r.evidence
        assert any("removed" in line for line in r.evidence), r.evidence
        assert {"injected", "detected", "lifted", "recovered"} <= set(r.timeline)
    assert by_id["t5-network-cut-restored"].timeline["lifted"] - by_id["t5-network-cut-restored"].timeline[
        "injected"] >= 30  # held for the drill's duration_s, not less
    api = kube_cluster.client()
    try:
        assert client.NetworkingV1Api(api).list_namespaced_network_policy(fate_party["party_ns"]).items == []
    finally:
        api.close()

    # FATE Flow scaled to zero came back to its replicas
    scale = by_id["t5-fateflow-one-party"]
    assert any("scaled 1 → 0" in line for line in scale.evidence) and any("scaled back to 1" in line
                                                                          for line in scale.evidence)
    assert fate_party["apps"].read_namespaced_deployment("python", fate_party["party_ns"]).spec.replicas == 1

    # disk: the replacement MySQL pod mounts the same claim, still bound to the same volume
    disk = by_id["disk-pv-backing"]
    assert disk.preserved["pvc_binding"]["ok"] is True, disk.preserved
    assert fate_party["pv"] in disk.preserved["pvc_binding"]["detail"]
    pvc = fate_party["core"].read_namespaced_persistent_volume_claim(pvc_name("mysql"), fate_party["party_ns"])
    assert (pvc.status.phase, pvc.spec.volume_name) == ("Bound", fate_party["pv"])

    assert Ledger().entries(backend="kubernetes") == []
    assert Scorecard.directory("pytest-kubernetes") == paths["json"].parent


def test_a_forbidden_party_is_never_touched(kube_cluster: KubeCluster, fate_party: dict[str, Any]) -> None:
    federation = _federation(fate_party["party_ns"], fate_party["exchange_ns"])
    before = {p.metadata.uid for p in fate_party["core"].list_namespaced_pod(fate_party["party_ns"]).items}

    def resolver(conn_id: str) -> KubeAccess:
        return KubeAccess(conn_id=conn_id, kubeconfig=kube_cluster.kubeconfig, context=kube_cluster.name)

    with drill_context("kubernetes", federation, federation.party(10000), resolver=resolver) as ctx:
        card = run_drills(ctx, select_drills(load_catalogue(), "kubernetes", ["t4-mysql"]), use_fate=False)
    assert card.results[0].status == "error" and "refusing to drill" in card.results[0].reasons[0]
    after = {p.metadata.uid for p in fate_party["core"].list_namespaced_pod(fate_party["party_ns"]).items}
    assert after == before


@pytest.mark.airflow
def test_the_dag_drills_a_kubernetes_party_through_its_airflow_connections(
        kube_clusters: dict[str, KubeCluster], fate_party: dict[str, Any], airflow_db: Any,
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """fate_chaos_drill end to end on Kubernetes: connections → clients → drills → cleanup → scorecard."""
    import json
    from pathlib import Path

    import yaml

    from tests.integration.test_local_dags import run_dag, task_states, xcom

    for conn_id, cluster in (("K8S_PARTY_A", kube_clusters["party-a"]), ("K8S_PARTY_B", kube_clusters["party-b"])):
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id}", json.dumps({"conn_type": "kubernetes", "extra": {
            "kube_config_path": str(cluster.kubeconfig), "cluster_context": cluster.name}}))
    config = tmp_path / "federation.harness.yaml"
    config.write_text(yaml.safe_dump(
        _federation(fate_party["party_ns"], fate_party["exchange_ns"]).model_dump(mode="json", exclude_none=True)))
    dag_run = run_dag("fate_chaos_drill", {
        "federation": str(config), "backend": "kubernetes", "party_id": 9999, "dry_run": False, "run_jobs": False,
        "drills": ["t4-mysql", "t5-network-cut-permanent"]})
    states = task_states(dag_run)
    assert str(dag_run.state) == "success", states
    summary = xcom(dag_run, "scorecard")
    assert summary["passed"] is True and summary["counts"] == {"passed": 2}
    card = json.loads(Path(summary["json"]).read_text())
    assert [d["drill_id"] for d in card["drills"]] == ["t4-mysql", "t5-network-cut-permanent"]
    assert all(d["time_to_recover_s"] is not None for d in card["drills"])
    assert Ledger().entries() == []
