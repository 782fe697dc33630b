"""The real-peers harness itself: real apiservers + controllers, simulated nodes, vcsim and helm.

These are the behaviours the Kubernetes backend and the chaos drills will rely on, so each test
asserts an outcome read back from the real API (pod phases, IPs, events, recorded execs), never that
a call merely returned.
"""

from __future__ import annotations

import ipaddress
import subprocess
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from tests.harness.cluster import KubeCluster
from tests.harness.vcsim import VCSim, find_by_name, query_events

pytestmark = pytest.mark.harness

T = TypeVar("T")
WAIT = 60.0


def wait_for(check: Callable[[], T | None], *, what: str, timeout: float = WAIT) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last value: {last!r})")


@pytest.fixture
def core(kube_cluster: KubeCluster) -> Iterator[client.CoreV1Api]:
    api = kube_cluster.client()
    yield client.CoreV1Api(api)
    api.close()


@pytest.fixture
def apps(kube_cluster: KubeCluster) -> Iterator[client.AppsV1Api]:
    api = kube_cluster.client()
    yield client.AppsV1Api(api)
    api.close()


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def _pod(name: str, *, annotations: dict[str, str] | None = None, restart: str = "Always") -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, annotations=annotations or {}),
        spec=client.V1PodSpec(restart_policy=restart, containers=[
            client.V1Container(name="main", image="registry.invalid/sim:1")]))


def _deployment(name: str, replicas: int) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas, selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(
                    name="app", image="registry.invalid/app:1",
                    resources=client.V1ResourceRequirements(requests={"cpu": "1", "memory": "1Gi"}))]))))


def _ready(pod: client.V1Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def _running_pods(core: client.CoreV1Api, namespace: str, selector: str) -> list[client.V1Pod]:
    pods = core.list_namespaced_pod(namespace, label_selector=selector).items
    return [p for p in pods if p.status.phase == "Running" and _ready(p) and not p.metadata.deletion_timestamp]


def _running_pod(core: client.CoreV1Api, namespace: str, name: str, **kwargs: Any) -> client.V1Pod:
    core.create_namespaced_pod(namespace, _pod(name, **kwargs))
    return wait_for(lambda: (p := core.read_namespaced_pod(name, namespace)).status.phase == "Running" and p,
                    what=f"pod {name} Running")


# -- Kubernetes -----------------------------------------------------------------------------------------
def test_nodes_are_ready_with_configured_capacity(core: client.CoreV1Api) -> None:
    nodes = {n.metadata.name: n for n in core.list_node().items}
    assert sorted(nodes) == ["worker-0", "worker-1", "worker-2"]
    for node in nodes.values():
        ready = {c.type: c.status for c in node.status.conditions}["Ready"]
        assert ready == "True"
        assert node.status.allocatable["cpu"] == "16"
        assert node.status.capacity["memory"] == "64Gi"
        assert node.status.addresses[0].address == "127.0.0.1"


def test_deployment_pods_run_on_simulated_nodes(kube_cluster: KubeCluster, core: client.CoreV1Api,
                                                apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, _deployment("web", 3))
    pods = wait_for(lambda: len(r := _running_pods(core, namespace, "app=web")) == 3 and r,
                    what="3 Running+Ready pods of deployment web")
    pod_net = ipaddress.ip_network(kube_cluster.spec.pod_cidr)
    assert all(ipaddress.ip_address(p.status.pod_ip) in pod_net for p in pods)
    assert len({p.status.pod_ip for p in pods}) == 3
    assert {p.spec.node_name for p in pods} <= {"worker-0", "worker-1", "worker-2"}
    dep = wait_for(lambda: (d := apps.read_namespaced_deployment("web", namespace)).status.ready_replicas == 3
                   and d, what="deployment web reporting 3 ready replicas")
    assert dep.status.available_replicas == 3


def test_deleted_pod_is_recreated_by_the_controller_manager(core: client.CoreV1Api, apps: client.AppsV1Api,
                                                           namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, _deployment("flc", 1))
    first = wait_for(lambda: _running_pods(core, namespace, "app=flc"), what="the first flc pod")[0]
    core.delete_namespaced_pod(first.metadata.name, namespace)
    replacement = wait_for(
        lambda: [p for p in _running_pods(core, namespace, "app=flc") if p.metadata.name != first.metadata.name],
        what="a replacement flc pod Running")
    assert replacement[0].metadata.uid != first.metadata.uid

    def gone() -> bool:
        try:
            core.read_namespaced_pod(first.metadata.name, namespace)
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(gone, what="the deleted pod to disappear (deletion confirmed by the node simulator)")


def _node_ready(core: client.CoreV1Api, name: str) -> str:
    return {c.type: c.status for c in core.read_node(name).status.conditions}["Ready"]


def test_a_node_that_stops_heartbeating_loses_its_pods(core: client.CoreV1Api, apps: client.AppsV1Api,
                                                      namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, _deployment("python", 1))
    victim = wait_for(lambda: _running_pods(core, namespace, "app=python"), what="the python pod")[0]
    node = victim.spec.node_name
    core.patch_node(node, {"metadata": {"annotations": {"sim.fateops.io/down": "true"}}})
    try:
        wait_for(lambda: _node_ready(core, node) != "True", what=f"{node} to turn NotReady", timeout=90)
        moved = wait_for(lambda: [p for p in _running_pods(core, namespace, "app=python")
                                  if p.spec.node_name != node], what="the pod evicted and re-run elsewhere",
                         timeout=120)
        assert moved[0].metadata.name != victim.metadata.name
    finally:
        core.patch_node(node, {"metadata": {"annotations": {"sim.fateops.io/down": None}}})
    wait_for(lambda: _node_ready(core, node) == "True", what=f"{node} Ready again", timeout=60)


def test_unschedulable_pod_stays_pending(core: client.CoreV1Api, namespace: str) -> None:
    pod = _pod("too-big")
    pod.spec.containers[0].resources = client.V1ResourceRequirements(requests={"cpu": "64"})
    core.create_namespaced_pod(namespace, pod)

    def unschedulable() -> bool:
        p = core.read_namespaced_pod("too-big", namespace)
        return any(c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable"
                   for c in (p.status.conditions or []))

    wait_for(unschedulable, what="the scheduler to report too-big Unschedulable")
    assert core.read_namespaced_pod("too-big", namespace).spec.node_name is None


@pytest.mark.parametrize(("annotations", "phase", "code"), [
    ({"sim.fateops.io/run-seconds": "1"}, "Succeeded", 0),
    ({"sim.fateops.io/run-seconds": "1", "sim.fateops.io/exit-code": "2"}, "Failed", 2),
])
def test_pod_finishes_by_annotation(core: client.CoreV1Api, namespace: str, annotations: dict[str, str],
                                    phase: str, code: int) -> None:
    core.create_namespaced_pod(namespace, _pod("job", annotations=annotations, restart="Never"))
    pod = wait_for(lambda: (p := core.read_namespaced_pod("job", namespace)).status.phase == phase and p,
                   what=f"pod job {phase}")
    assert pod.status.container_statuses[0].state.terminated.exit_code == code


def test_never_ready_pod_runs_but_is_not_ready(core: client.CoreV1Api, namespace: str) -> None:
    pod = _running_pod(core, namespace, "stuck", annotations={"sim.fateops.io/never-ready": "true"})
    assert not _ready(pod)
    assert pod.status.container_statuses[0].ready is False


def test_load_balancer_services_get_ips_unless_opted_out(kube_cluster: KubeCluster, core: client.CoreV1Api,
                                                         namespace: str) -> None:
    def service(name: str, annotations: dict[str, str]) -> client.V1Service:
        return client.V1Service(
            metadata=client.V1ObjectMeta(name=name, annotations=annotations),
            spec=client.V1ServiceSpec(type="LoadBalancer", selector={"app": "nginx"},
                                      ports=[client.V1ServicePort(name="http", port=9300)]))

    core.create_namespaced_service(namespace, service("pending-lb", {"sim.fateops.io/no-lb-ip": "true"}))
    core.create_namespaced_service(namespace, service("nginx", {}))
    svc = wait_for(lambda: (s := core.read_namespaced_service("nginx", namespace)).status.load_balancer.ingress
                   and s, what="an ingress IP on service nginx")
    ip = ipaddress.ip_address(svc.status.load_balancer.ingress[0].ip)
    assert ip in ipaddress.ip_network(kube_cluster.lb_range)
    opted_out = core.read_namespaced_service("pending-lb", namespace)
    assert not opted_out.status.load_balancer.ingress


def _log(core: client.CoreV1Api, name: str, namespace: str, **kwargs: Any) -> str:
    # kubernetes-client 36 turns a text/plain body into "b'...'" when it preloads it: read it raw
    resp = core.read_namespaced_pod_log(name, namespace, _preload_content=False, **kwargs)
    return resp.data.decode()


def test_pod_logs_are_served_through_the_apiserver(core: client.CoreV1Api, namespace: str) -> None:
    _running_pod(core, namespace, "talker", annotations={"sim.fateops.io/log": "booting\nserving on 9380\n"})
    assert _log(core, "talker", namespace) == "booting\nserving on 9380\n"
    assert _log(core, "talker", namespace, tail_lines=1) == "serving on 9380\n"
    _running_pod(core, namespace, "quiet")
    assert _log(core, "quiet", namespace, container="main") == f"simulated log of {namespace}/quiet container main\n"


def test_exec_returns_simulated_output_and_is_recorded(kube_cluster: KubeCluster, core: client.CoreV1Api,
                                                       namespace: str) -> None:
    _running_pod(core, namespace, "shell")
    out = stream(core.connect_get_namespaced_pod_exec, "shell", namespace, command=["flow", "job", "query"],
                 stderr=True, stdin=False, stdout=True, tty=False, _request_timeout=30)
    assert out == "ran flow job query\n"
    records = [r for r in kube_cluster.exec_records() if r["namespace"] == namespace]
    assert [(r["pod"], r["container"], r["command"], r["exit_code"]) for r in records] == [
        ("shell", "main", ["flow", "job", "query"], 0)]


def test_exec_stdin_is_recorded(kube_cluster: KubeCluster, core: client.CoreV1Api, namespace: str) -> None:
    _running_pod(core, namespace, "writer")
    resp = stream(core.connect_get_namespaced_pod_exec, "writer", namespace,
                  command=["sh", "-c", "cat > /etc/nginx/route_table.yaml"], stderr=True, stdin=True,
                  stdout=True, tty=False, _preload_content=False)
    resp.write_stdin("route_table: {}\n")
    resp.run_forever(timeout=30)
    assert resp.returncode == 0
    resp.close()
    [record] = [r for r in kube_cluster.exec_records() if r["namespace"] == namespace]
    assert record["command"][-1] == "cat > /etc/nginx/route_table.yaml"
    assert record["stdin"] == "route_table: {}\n"


def test_exec_rules_drive_output_and_exit_codes(kube_cluster: KubeCluster, core: client.CoreV1Api,
                                                namespace: str) -> None:
    kube_cluster.set_exec_rules([
        {"command_prefix": "traffic_ctl config reload", "stdout": "reloaded on {pod}\n"},
        {"command": ["sh", "-c"], "command_contains": "exit 3", "stderr": "boom\n", "exit_code": 3,
         "namespace": namespace},
    ])
    try:
        _running_pod(core, namespace, "ats")
        ok = stream(core.connect_get_namespaced_pod_exec, "ats", namespace,
                    command=["traffic_ctl", "config", "reload"], stderr=True, stdin=False, stdout=True, tty=False)
        assert ok == "reloaded on ats\n"
        resp = stream(core.connect_get_namespaced_pod_exec, "ats", namespace, command=["sh", "-c", "exit 3"],
                      stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
        resp.run_forever(timeout=30)
        assert resp.read_stderr() == "boom\n"
        assert resp.returncode == 3
        resp.close()
    finally:
        kube_cluster.set_exec_rules([])
    codes = [r["exit_code"] for r in kube_cluster.exec_records() if r["namespace"] == namespace]
    assert codes == [0, 3]


def test_kubectl_exec_goes_through_the_real_apiserver(kube_cluster: KubeCluster, kubectl_bin: Path,
                                                      core: client.CoreV1Api, namespace: str) -> None:
    _running_pod(core, namespace, "cli")
    kube_cluster.set_exec_rules([{"command": ["false"], "exit_code": 7, "stderr": "nope\n"}])
    try:
        base = [str(kubectl_bin), "--kubeconfig", str(kube_cluster.kubeconfig), "-n", namespace]
        ok = subprocess.run([*base, "exec", "cli", "--", "hostname"], capture_output=True, text=True, timeout=60,
                            check=False)
        assert (ok.returncode, ok.stdout) == (0, "ran hostname\n"), ok.stderr
        bad = subprocess.run([*base, "exec", "cli", "--", "false"], capture_output=True, text=True, timeout=60,
                             check=False)
        assert bad.returncode == 7, bad.stderr
    finally:
        kube_cluster.set_exec_rules([])


def test_clusters_are_isolated(kube_clusters: dict[str, KubeCluster]) -> None:
    a, b = kube_clusters["party-a"], kube_clusters["party-b"]
    assert a.server != b.server and a.kubeconfig != b.kubeconfig and a.token != b.token
    api_a, api_b = a.client(), b.client()
    core_a, core_b = client.CoreV1Api(api_a), client.CoreV1Api(api_b)
    name = f"only-in-a-{uuid.uuid4().hex[:6]}"
    core_a.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        core_a.create_namespaced_config_map(name, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="route-table"), data={"party": "9999"}))
        assert core_a.read_namespaced_config_map("route-table", name).data == {"party": "9999"}
        with pytest.raises(ApiException) as missing:
            core_b.read_namespace(name)
        assert missing.value.status == 404
        assert name not in {ns.metadata.name for ns in core_b.list_namespace().items}
    finally:
        core_a.delete_namespace(name)
        api_a.close()
        api_b.close()


# -- helm -----------------------------------------------------------------------------------------------
def _write_chart(root: Path) -> Path:
    chart = root / "tiny"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 0.1.0\nappVersion: '1.0'\n")
    (chart / "values.yaml").write_text("partyId: '9999'\nreplicas: 2\n")
    (chart / "templates" / "all.yaml").write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-conf
        data:
          partyId: {{ .Values.partyId | quote }}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}-python
        spec:
          replicas: {{ .Values.replicas }}
          selector:
            matchLabels: {app: {{ .Release.Name }}-python}
          template:
            metadata:
              labels: {app: {{ .Release.Name }}-python}
            spec:
              containers:
                - name: fateflow
                  image: federatedai/fateflow:2.0.0-release
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: {{ .Release.Name }}-nginx
        spec:
          type: LoadBalancer
          selector: {app: {{ .Release.Name }}-python}
          ports:
            - {name: http, port: 9300}
        """))
    return chart


def test_helm_install_and_uninstall_a_chart(helm_bin: Path, kube_cluster: KubeCluster, core: client.CoreV1Api,
                                            apps: client.AppsV1Api, namespace: str, tmp_path: Path) -> None:
    chart = _write_chart(tmp_path)
    base = [str(helm_bin), "--kubeconfig", str(kube_cluster.kubeconfig), "--namespace", namespace]
    # helm v4 applies server-side by default; a 1.20 apiserver rejects that for Service ports without an
    # explicit protocol (no schema default for the list-map key), so charts like KubeFATE's need client-side
    install = subprocess.run([*base, "install", "party", str(chart), "--set", "partyId=10000", "--wait",
                              "--timeout", "90s", "--server-side=false"],
                             capture_output=True, text=True, timeout=120, check=False)
    assert install.returncode == 0, install.stderr
    assert core.read_namespaced_config_map("party-conf", namespace).data == {"partyId": "10000"}
    assert apps.read_namespaced_deployment("party-python", namespace).status.ready_replicas == 2
    assert core.read_namespaced_service("party-nginx", namespace).status.load_balancer.ingress[0].ip
    listed = subprocess.run([*base, "list", "-q"], capture_output=True, text=True, timeout=60, check=True)
    assert listed.stdout.split() == ["party"]

    uninstall = subprocess.run([*base, "uninstall", "party", "--wait", "--timeout", "90s"], capture_output=True,
                               text=True, timeout=120, check=False)
    assert uninstall.returncode == 0, uninstall.stderr
    assert core.list_namespaced_config_map(namespace, field_selector="metadata.name=party-conf").items == []
    assert apps.list_namespaced_deployment(namespace).items == []
    assert core.list_namespaced_service(namespace).items == []


# -- vSphere --------------------------------------------------------------------------------------------
def test_vcsim_inventory_power_cycle_and_events(vcsim: VCSim) -> None:
    from pyVim.task import WaitForTask
    from pyVmomi import vim

    si = vcsim.connect()
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine, vim.HostSystem], True)
    vms = [o for o in view.view if isinstance(o, vim.VirtualMachine)]
    hosts = [o for o in view.view if isinstance(o, vim.HostSystem)]
    view.Destroy()
    assert len(hosts) >= 3 and len(vms) >= 2

    vm = find_by_name(si, vim.VirtualMachine, "DC0_C0_RP0_VM0")
    assert vm.runtime.powerState == "poweredOn"
    WaitForTask(vm.PowerOffVM_Task())
    assert vm.runtime.powerState == "poweredOff"
    WaitForTask(vm.PowerOnVM_Task())
    assert vm.runtime.powerState == "poweredOn"
    kinds = [type(e).__name__ for e in query_events(si, entity=vm,
                                                   type_ids=["VmPoweredOffEvent", "VmPoweredOnEvent"])]
    assert "vim.event.VmPoweredOffEvent" in kinds and "vim.event.VmPoweredOnEvent" in kinds


def test_injected_ha_events_are_read_back(vcsim: VCSim) -> None:
    from pyVmomi import vim

    si = vcsim.connect()
    vm = find_by_name(si, vim.VirtualMachine, "DC0_C0_RP0_VM1")
    # the simulator is shared by the session (drills post events too): compare against what was there
    failed_before = len(query_events(si, type_ids=["DasHostFailedEvent"]))
    restarted_before = len(query_events(si, type_ids=["VmRestartedOnAlternateHostEvent"], entity=vm))
    vcsim.post_host_failed_event("DC0_C0_H1")
    vcsim.post_vm_restarted_event("DC0_C0_RP0_VM1")
    failed = query_events(si, type_ids=["DasHostFailedEvent"])
    assert len(failed) == failed_before + 1
    newest = max(failed, key=lambda e: e.key)  # event keys increase
    assert newest.failedHost.name == "DC0_C0_H1"
    assert newest.computeResource.name == "DC0_C0"
    restarted = query_events(si, type_ids=["VmRestartedOnAlternateHostEvent"], entity=vm)
    assert len(restarted) == restarted_before + 1
    assert {e.vm.name for e in restarted} == {"DC0_C0_RP0_VM1"}
