"""The Kubernetes domain code against a real 1.20 apiserver (harness cluster ``party-a``), piece by piece:
namespaces, certificate Secrets, release convergence, waits that name what is late, the reload exec, preflight."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fateops.exceptions import KubernetesError
from fateops.federation import KubernetesPlacement
from fateops.k8s import chart_contract as cc
from fateops.k8s.access import KubeAccess
from fateops.k8s.clients import KubeClients, open_clients
from fateops.k8s.helm import Helm
from fateops.k8s.namespaces import ensure_namespace
from fateops.k8s.release import converge_release
from fateops.k8s.waits import Deadline, wait_load_balancer_ips, wait_workloads_ready

pytestmark = pytest.mark.harness


@pytest.fixture(scope="module")
def access(kube_cluster: Any) -> KubeAccess:
    return KubeAccess("k8s_party_a", kubeconfig=Path(kube_cluster.kubeconfig))


@pytest.fixture
def kube(access: KubeAccess) -> Iterator[KubeClients]:
    with open_clients(access) as k:
        yield k


@pytest.fixture
def namespace(kube: KubeClients) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    ensure_namespace(kube, name)
    yield name
    kube.core.delete_namespace(name)


def test_namespaces_get_psa_labels_idempotently(kube: KubeClients) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    try:
        assert ensure_namespace(kube, name, pod_security="baseline", labels={cc.LABEL_PARTY_ID: "30000"}) is True
        labels = kube.core.read_namespace(name).metadata.labels
        assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
        assert labels["pod-security.kubernetes.io/warn"] == "baseline" and labels[cc.LABEL_PARTY_ID] == "30000"
        version = kube.core.read_namespace(name).metadata.resource_version
        assert ensure_namespace(kube, name, pod_security="baseline", labels={cc.LABEL_PARTY_ID: "30000"}) is False
        assert kube.core.read_namespace(name).metadata.resource_version == version
        # someone lowered the level by hand: the next run puts it back
        kube.core.patch_namespace(name, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}})
        assert ensure_namespace(kube, name, pod_security="baseline") is True
        assert kube.core.read_namespace(name).metadata.labels["pod-security.kubernetes.io/enforce"] == "baseline"
    finally:
        kube.core.delete_namespace(name)


def test_certificate_secrets_are_kept_when_valid_and_reissued_when_not(kube: KubeClients, namespace: str) -> None:
    from fateops.k8s.tls_secrets import CA_SECRET, ensure_ca, ensure_tls_secret

    ca, action = ensure_ca(kube, namespace, "test")
    assert action == "created"
    again, action = ensure_ca(kube, namespace, "test")
    assert action == "kept" and again.cert_pem == ca.cert_pem
    layout = cc.PULSAR_TLS_SECRET
    first = ensure_tls_secret(kube, namespace, layout, ca, common_name="30000.fate.org", sans=["30000.fate.org"])
    assert first.action == "created"
    version = kube.core.read_namespaced_secret(layout.name, namespace).metadata.resource_version
    assert ensure_tls_secret(kube, namespace, layout, ca, common_name="30000.fate.org",
                             sans=["30000.fate.org"]).action == "kept"
    assert kube.core.read_namespaced_secret(layout.name, namespace).metadata.resource_version == version
    grown = ensure_tls_secret(kube, namespace, layout, ca, common_name="30000.fate.org",
                              sans=["30000.fate.org", "pulsar.fate-30000.svc"])
    assert grown.action == "replaced" and any("does not cover" in r for r in grown.reasons)
    assert set(kube.core.read_namespaced_secret(layout.name, namespace).data) == set(layout.keys)
    assert "ca.key.pem" in kube.core.read_namespaced_secret(CA_SECRET, namespace).data


def _tiny_chart(root: Path) -> Path:
    chart = root / "tiny"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 0.1.0\nappVersion: '1.0'\n")
    (chart / "values.yaml").write_text("greeting: hello\nnoLbIp: false\nneverReady: false\n")
    (chart / "templates" / "all.yaml").write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: greeting, labels: {app.kubernetes.io/instance: "{{ .Release.Name }}"}}
        data: {greeting: {{ .Values.greeting | quote }}}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, labels: {app.kubernetes.io/instance: "{{ .Release.Name }}"}}
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata:
              labels: {app: web}
              {{- if .Values.neverReady }}
              annotations: {sim.fateops.io/never-ready: "true"}
              {{- end }}
            spec:
              containers:
                - {name: web, image: registry.invalid/web:1, resources: {requests: {cpu: 10m, memory: 16Mi}}}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: front
          labels: {app.kubernetes.io/instance: "{{ .Release.Name }}"}
          {{- if .Values.noLbIp }}
          annotations: {sim.fateops.io/no-lb-ip: "true"}
          {{- end }}
        spec:
          type: LoadBalancer
          selector: {app: web}
          ports: [{name: http, port: 9300, protocol: TCP}]
        """))
    return chart


def test_a_release_is_upgraded_only_when_chart_or_values_change(helm_bin: Path, access: KubeAccess,
                                                                kube: KubeClients, namespace: str,
                                                                tmp_path: Path) -> None:
    chart = _tiny_chart(tmp_path)
    helm = Helm(access, binary=helm_bin, timeout_s=120)
    first = converge_release(helm, "tiny", chart, namespace, {"greeting": "hi"})
    assert (first.changed, first.revision) == (True, 1)
    again = converge_release(helm, "tiny", chart, namespace, {"greeting": "hi"})
    assert (again.changed, again.revision) == (False, 1)
    changed = converge_release(helm, "tiny", chart, namespace, {"greeting": "hello"})
    assert (changed.changed, changed.revision) == (True, 2)
    assert kube.core.read_namespaced_config_map("greeting", namespace).data == {"greeting": "hello"}
    assert helm.get_values("tiny", namespace) == {"greeting": "hello"}
    assert helm.status("tiny", namespace) == "deployed" and helm.status("absent", namespace) is None
    states = wait_workloads_ready(kube, namespace, "app.kubernetes.io/instance=tiny", Deadline(60))
    assert [(s.name, s.ready) for s in states] == [("web", 1)]
    from fateops.k8s.pods import pick_ready_pod, read_log

    pod = pick_ready_pod(kube, namespace, "app=web")
    assert read_log(kube, namespace, pod, container="web") == f"simulated log of {namespace}/{pod} container web\n"
    assert helm.uninstall("tiny", namespace) is True
    assert helm.uninstall("tiny", namespace) is False


def test_waits_time_out_naming_the_deployment_and_the_service(helm_bin: Path, access: KubeAccess,
                                                              kube: KubeClients, namespace: str,
                                                              tmp_path: Path) -> None:
    chart = _tiny_chart(tmp_path)
    converge_release(Helm(access, binary=helm_bin, timeout_s=120), "stuck", chart, namespace,
                     {"neverReady": True, "noLbIp": True})
    with pytest.raises(KubernetesError) as err:
        wait_workloads_ready(kube, namespace, "app.kubernetes.io/instance=stuck", Deadline(8))
    assert f"in {namespace}" in str(err.value) and "deployment web: 0/1 ready" in str(err.value)
    assert "describe deployment web" in err.value.fix
    with pytest.raises(KubernetesError) as err:
        wait_load_balancer_ips(kube, namespace, Deadline(3), names=["front"])
    assert f"service {namespace}/front" in str(err.value) and "no load-balancer IP" in str(err.value)


def test_reload_runs_once_per_table_in_every_replica_and_fails_on_a_bad_exit(
        kube_cluster: Any, helm_bin: Path, access: KubeAccess, kube: KubeClients, namespace: str) -> None:
    from fateops.k8s.reload import RELOADED_ANNOTATION, reload_if_changed

    parties = [cc.PartyEndpoints(30000, "10.0.0.1", "10.0.0.2")]
    values = cc.exchange_values(parties, replicas=2, roll_on_route_change=False)
    converge_release(Helm(access, binary=helm_bin, timeout_s=120), "fate-exchange", cc.EXCHANGE_CHART, namespace,
                     values)
    wait_workloads_ready(kube, namespace, "app.kubernetes.io/instance=fate-exchange", Deadline(90))
    reload_cmd = list(cc.TRAFFIC_SERVER_RELOAD_COMMAND)

    def reloads() -> list[dict[str, Any]]:
        return [r for r in kube_cluster.exec_records() if r["namespace"] == namespace and r["command"] == reload_cmd]

    kube_cluster.set_exec_rules([{"command": reload_cmd, "namespace": namespace, "exit_code": 1,
                                  "stderr": "traffic_ctl: sni.yaml: line 3: bad tunnel_route\n"}])
    try:
        with pytest.raises(KubernetesError) as err:
            reload_if_changed(kube, namespace, "fate-exchange")
        assert "exited 1" in str(err.value) and "bad tunnel_route" in str(err.value)
    finally:
        kube_cluster.set_exec_rules([])
    cm = kube.core.read_namespaced_config_map(cc.EXCHANGE_SNI_CONFIGMAP[0], namespace)
    assert RELOADED_ANNOTATION not in (cm.metadata.annotations or {})  # a failed reload is retried next run

    done = reload_if_changed(kube, namespace, "fate-exchange")
    # both replicas behind the load balancer load the new table, not just one
    assert done.reloaded and len(done.pods) == 2 and all(p.startswith("traffic-server-") for p in done.pods)
    assert reload_if_changed(kube, namespace, "fate-exchange").reloaded is False
    assert [r["exit_code"] for r in reloads()] == [1, 0, 0]
    assert {r["pod"] for r in reloads()[-2:]} == set(done.pods)
    assert reloads()[-1]["container"] == cc.TRAFFIC_SERVER_CONTAINER
    for name in done.pods:
        pod = kube.core.read_namespaced_pod(name, namespace)
        assert pod.metadata.annotations["fateops.io/sni-sha256"] == done.table_sha256

    # a new party joins: the table changes, traffic-server is not rolled, and each replica reloads once more
    deployment = kube.apps.read_namespaced_deployment("traffic-server", namespace).metadata.generation
    parties.append(cc.PartyEndpoints(40000, "10.0.1.1", "10.0.1.2"))
    upgraded = converge_release(Helm(access, binary=helm_bin, timeout_s=120), "fate-exchange", cc.EXCHANGE_CHART,
                                namespace, cc.exchange_values(parties, replicas=2, roll_on_route_change=False))
    assert upgraded.changed and upgraded.revision == 2
    assert kube.apps.read_namespaced_deployment("traffic-server", namespace).metadata.generation == deployment
    second = reload_if_changed(kube, namespace, "fate-exchange")
    assert second.reloaded and second.table_sha256 != done.table_sha256
    assert reload_if_changed(kube, namespace, "fate-exchange").reloaded is False
    assert second.pods == done.pods
    assert [r["exit_code"] for r in reloads()] == [1, 0, 0, 0, 0]


def test_preflight_blocks_on_a_missing_storage_class_and_an_unreachable_cluster(kube: KubeClients,
                                                                                tmp_path: Path) -> None:
    from fateops.k8s.preflight import check_storage_class

    where = KubernetesPlacement(connection="k8s_party_a", namespace="fate-30000", storage_class="vsan-missing")
    with pytest.raises(KubernetesError) as err:
        check_storage_class(kube, where, persistence=True)
    assert "storage class 'vsan-missing' does not exist" in str(err.value) and "storage_class" in err.value.fix

    dead = tmp_path / "dead.yaml"
    dead.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "x"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    with open_clients(KubeAccess("k8s_dead", kubeconfig=dead)) as gone, pytest.raises(KubernetesError) as err:
        gone.api.configuration.retries = 0
        gone.server_version()
    assert "k8s_dead" in str(err.value) and "not reachable" in str(err.value)
