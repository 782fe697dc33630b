"""The bootstrap and exchange DAGs on the Kubernetes backend, run with ``dag.test()`` against two real clusters.

Party 30000 lives on cluster ``party-a`` (with the exchange, as in the seed), party 40000 on ``party-b``.
Every cluster is a real 1.20 control plane; only the kubelets are simulated (pods run by annotation,
LoadBalancers get loopback IPs, execs are answered and recorded). Outcomes are read back from the
clusters: Helm revisions, ConfigMaps, Secrets, pods, the node simulator's exec log.

The toy example: a simulated pod cannot run FATE, so the test first runs the pod's very command
(``fateops fate submit-toy``, the real CLI) against the real local FATE engine, and the harness
plays the kubelet by serving that output as the pod's log. Everything around it is real: the
KubernetesPodOperator creates the pod in the initiator's namespace and defers, reads the result
back, and the deferrable job sensor awaits that real job on the engine.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from fateops.k8s import chart_contract as cc
from fateops.k8s import step_result
from tests.integration.test_local_dags import run_dag, task_states, xcom

pytestmark = [pytest.mark.harness, pytest.mark.engine, pytest.mark.airflow]

STORAGE_CLASS = "sim-standard"
INGRESS_CLASS = "nginx"
RELOAD = list(cc.TRAFFIC_SERVER_RELOAD_COMMAND)
PARAMS = {"ready_timeout_s": 120, "exchange_timeout_s": 120, "sensor_timeout_s": 300, "job_timeout_s": 300}


# -- cluster and Airflow set-up -----------------------------------------------------------------------
def prepare_cluster(api: client.ApiClient, *, volumes: int = 12) -> None:
    """What a Tanzu cluster brings and the harness lacks: a storage class with volumes, an ingress class.

    No provisioner runs here, so the PVs are pre-created; the real PV controller binds the chart's PVCs
    to them, as a CSI provisioner's volumes would be bound.
    """
    storage, core, net = client.StorageV1Api(api), client.CoreV1Api(api), client.NetworkingV1Api(api)

    def create(fn: Any, body: Any) -> None:
        try:
            fn(body)
        except client.ApiException as err:
            if err.status != 409:
                raise

    create(storage.create_storage_class, client.V1StorageClass(
        metadata=client.V1ObjectMeta(name=STORAGE_CLASS), provisioner="kubernetes.io/no-provisioner",
        volume_binding_mode="Immediate", reclaim_policy="Retain"))
    for i in range(volumes):
        create(core.create_persistent_volume, client.V1PersistentVolume(
            metadata=client.V1ObjectMeta(name=f"sim-pv-{i}"),
            spec=client.V1PersistentVolumeSpec(
                capacity={"storage": "25Gi"}, access_modes=["ReadWriteOnce"], storage_class_name=STORAGE_CLASS,
                persistent_volume_reclaim_policy="Retain", host_path=client.V1HostPathVolumeSource(path=f"/sim/{i}"))))
    create(net.create_ingress_class, client.V1IngressClass(metadata=client.V1ObjectMeta(name=INGRESS_CLASS),
                                                           spec=client.V1IngressClassSpec(controller="k8s.io/ingress-nginx")))


def kube_conn(kubeconfig: Path) -> str:
    return json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}})


def placement(conn: str, namespace: str, **extra: Any) -> dict[str, Any]:
    return {"connection": conn, "namespace": namespace, "storage_class": STORAGE_CLASS,
            "ingress_class": INGRESS_CLASS, **extra}


@pytest.fixture(scope="module")
def world(kube_clusters: dict[str, Any], helm_bin: Path, fate_engine: Any, airflow_db: Path,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Clusters prepared, Airflow connections defined (env), the federation file written."""
    a, b = kube_clusters["party-a"], kube_clusters["party-b"]
    for cluster in (a, b):
        api = cluster.client()
        prepare_cluster(api)
        api.close()
    engine = f"fateflow://127.0.0.1:{os.environ['FATEOPS_ENGINE_PORT']}"
    env = {
        "AIRFLOW_CONN_K8S_PARTY_30000": kube_conn(a.kubeconfig), "AIRFLOW_CONN_K8S_EXCHANGE": kube_conn(a.kubeconfig),
        "AIRFLOW_CONN_K8S_PARTY_40000": kube_conn(b.kubeconfig),
        "AIRFLOW_CONN_FATEFLOW_30000": engine, "AIRFLOW_CONN_FATEFLOW_40000": engine,
        "FATEOPS_HELM_BIN": str(helm_bin),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)

    # What the pod would print: the real CLI step against the real engine (see the module docstring).
    from fateops.k8s.cli_steps import main as cli_steps

    tmp = tmp_path_factory.mktemp("k8s-dags")
    result_file = tmp / "termination-log"
    code = cli_steps(["fate", "submit-toy", "--guest", "30000", "--host", "40000", "--timeout", "300",
                      "--fateflow-url", fate_engine.config.base_url, "--result-file", str(result_file)])
    assert code == 0
    toy = json.loads(result_file.read_text())

    federation = {
        "name": "harness-tanzu",
        "initiator": 30000,
        "exchange": {"replicas": 2, "kubernetes": {"connection": "k8s_exchange", "namespace": "fate-exchange"}},
        "ops": {"image": "registry.invalid/fateops-ops:test", "on_finish_action": "keep_pod",
                "active_deadline_seconds": 300, "startup_timeout_seconds": 180, "poll_interval_seconds": 1,
                "annotations": {"sim.fateops.io/run-seconds": "2",
                                "sim.fateops.io/log": f"submitted\n{step_result.format_line(toy)}\n"}},
        "parties": [
            {"party_id": 30000, "name": "bank-a", "roles": ["guest", "arbiter"], "backend": "kubernetes",
             "connection": "fateflow_30000", "kubernetes": placement("k8s_party_30000", "fate-30000")},
            {"party_id": 40000, "name": "bank-b", "roles": ["host"], "backend": "kubernetes",
             "connection": "fateflow_40000", "kubernetes": placement("k8s_party_40000", "fate-40000")},
        ],
    }
    path = tmp / "federation.harness.yaml"
    path.write_text(yaml.safe_dump(federation, sort_keys=False))
    yield {"a": a, "b": b, "federation": str(path), "toy": toy, "tmp": tmp, "engine": fate_engine}
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


# -- reading the clusters back ------------------------------------------------------------------------
def apis(cluster: Any) -> tuple[client.CoreV1Api, client.AppsV1Api]:
    api = cluster.client()
    return client.CoreV1Api(api), client.AppsV1Api(api)


def helm_revisions(cluster: Any, namespace: str) -> dict[str, str]:
    """Release secrets helm keeps (``sh.helm.release.v1.<name>.v<rev>``): their names are the revisions."""
    core, _ = apis(cluster)
    return {s.metadata.name: s.metadata.resource_version for s in core.list_namespaced_secret(
        namespace, label_selector="owner=helm").items}


def snapshot(world: dict[str, Any]) -> dict[str, Any]:
    """Everything a rerun must leave alone."""
    out: dict[str, Any] = {}
    for key, cluster, namespaces in (("a", world["a"], ("fate-30000", "fate-exchange")),
                                     ("b", world["b"], ("fate-40000",))):
        core, apps = apis(cluster)
        for ns in namespaces:
            out[f"{key}/{ns}/helm"] = helm_revisions(cluster, ns)
            out[f"{key}/{ns}/deployments"] = {d.metadata.name: d.metadata.generation
                                              for d in apps.list_namespaced_deployment(ns).items}
            out[f"{key}/{ns}/secrets"] = {s.metadata.name: s.metadata.resource_version
                                          for s in core.list_namespaced_secret(ns).items}
            out[f"{key}/{ns}/labels"] = core.read_namespace(ns).metadata.labels
    out["reloads"] = reload_execs(world["a"])
    return out


def reload_execs(cluster: Any, namespace: str = "fate-exchange") -> list[dict[str, Any]]:
    """Reloads the node simulator served in ``namespace`` (other tests share the cluster)."""
    return [r for r in cluster.exec_records() if r["command"] == RELOAD and r["namespace"] == namespace]


def task_span_s(dag_run: Any, first: str, last: str) -> float:
    """Seconds from the first ``first`` task instance's start to the last ``last`` one's end."""
    tis = dag_run.get_task_instances()
    start = min(ti.start_date for ti in tis if ti.task_id == first)
    end = max(ti.end_date for ti in tis if ti.task_id == last)
    return round((end - start).total_seconds(), 1)


@pytest.fixture(scope="module")
def first_runs(world: dict[str, Any]) -> dict[str, Any]:
    """Both DAGs once, timed: ``dag.test`` wall time (incl. DAG parsing and first imports) and the span of
    the deployment tasks themselves."""
    conf = {"federation": world["federation"], **PARAMS}
    started = time.monotonic()
    bootstrap = run_dag("fate_party_bootstrap", conf)
    bootstrap_s = time.monotonic() - started
    started = time.monotonic()
    federate = run_dag("fate_exchange_federate", conf)
    federate_s = time.monotonic() - started
    timings: dict[str, Any] = {"bootstrap_dag_test_s": round(bootstrap_s, 1),
                               "federate_dag_test_s": round(federate_s, 1)}
    if str(bootstrap.state) == "success":
        timings["bootstrap_preflight_to_ready_s"] = task_span_s(bootstrap, "preflight", "wait_ready")
    if str(federate.state) == "success":
        timings["configure_exchange_s"] = task_span_s(federate, "configure_exchange", "configure_exchange")
        timings["toy_submit_to_done_s"] = task_span_s(federate, "submit_toy_example", "wait_toy_example")
    if "bootstrap_preflight_to_ready_s" in timings and "configure_exchange_s" in timings:
        timings["two_parties_plus_exchange_s"] = round(
            timings["bootstrap_preflight_to_ready_s"] + timings["configure_exchange_s"], 1)
    print(f"\nwall time on the harness: {json.dumps(timings)}")
    from fateops.paths import reports_dir

    reports_dir().mkdir(parents=True, exist_ok=True)
    (reports_dir() / "k8s-dag-timings.json").write_text(json.dumps(timings, indent=1))
    return {"bootstrap": bootstrap, "federate": federate, "timings": timings, "after": snapshot(world)}


# -- the tests ----------------------------------------------------------------------------------------
def test_bootstrap_brings_up_each_party_on_its_own_cluster(world: dict[str, Any], first_runs: dict[str, Any]) -> None:
    run = first_runs["bootstrap"]
    assert str(run.state) == "success", json.dumps(task_states(run))
    report = xcom(run, "report")
    assert set(report["parties"]) == {"30000", "40000"}
    import ipaddress

    for pid, cluster in (("30000", world["a"]), ("40000", world["b"])):
        party = report["parties"][pid]
        assert party["ready"] is True and party["backend"] == "kubernetes"
        assert party["fateflow_url"] == f"http://fateflow.fate-{pid}.svc:9380"
        lbs = party["details"]["load_balancers"]
        assert set(lbs) == {cc.SVC_NGINX, cc.SVC_PULSAR_PUBLIC}
        assert all(ipaddress.ip_address(ip) in ipaddress.ip_network(cluster.lb_range) for ip in lbs.values())
        assert set(party["details"]["components"]) == set(cc.PARTY_COMPONENTS)
        core, _ = apis(cluster)
        labels = core.read_namespace(f"fate-{pid}").metadata.labels
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels[cc.LABEL_PARTY_ID] == pid
        assert set(core.read_namespaced_secret(cc.PULSAR_TLS_SECRET.name, f"fate-{pid}").data) == set(
            cc.PULSAR_TLS_SECRET.keys)
        pvcs = core.list_namespaced_persistent_volume_claim(f"fate-{pid}").items
        assert pvcs and all(p.status.phase == "Bound" and p.spec.storage_class_name == STORAGE_CLASS for p in pvcs)
    # each party only on its own cluster
    core_b, _ = apis(world["b"])
    assert "fate-30000" not in {n.metadata.name for n in core_b.list_namespace().items}
    # preflight ran and reported the seed's sizing guideline as a warning, not an error
    warnings = xcom(run, "preflight", 0)["warnings"]
    assert any("sizing guideline" in w for w in warnings)


def test_party_certificates_are_signed_by_the_one_federation_ca(world: dict[str, Any],
                                                               first_runs: dict[str, Any]) -> None:
    import base64

    from cryptography import x509

    from fateops.k8s.certs import sans_of
    from fateops.k8s.tls_secrets import CA_SECRET

    core_a, _ = apis(world["a"])
    ca = x509.load_pem_x509_certificate(base64.b64decode(core_a.read_namespaced_secret(
        CA_SECRET, "fate-exchange").data["ca.cert.pem"]))
    for pid, cluster in (("30000", world["a"]), ("40000", world["b"])):
        core, _ = apis(cluster)
        data = core.read_namespaced_secret(cc.PULSAR_TLS_SECRET.name, f"fate-{pid}").data
        cert = x509.load_pem_x509_certificate(base64.b64decode(data[cc.PULSAR_TLS_SECRET.cert]))
        cert.verify_directly_issued_by(ca)
        assert f"{pid}.fate.org" in sans_of(cert)
        assert "ca.key.pem" not in data  # parties never get the CA's key
    ats = core_a.read_namespaced_secret(cc.EXCHANGE_TLS_SECRET.name, "fate-exchange").data
    assert set(ats) == set(cc.EXCHANGE_TLS_SECRET.keys)


def test_exchange_route_tables_hold_both_parties_lb_ips(world: dict[str, Any], first_runs: dict[str, Any]) -> None:
    run = first_runs["federate"]
    assert str(run.state) == "success", json.dumps(task_states(run))
    core_a, _ = apis(world["a"])
    core_b, _ = apis(world["b"])
    ips = {pid: {s.metadata.name: s.status.load_balancer.ingress[0].ip
                 for s in core.list_namespaced_service(f"fate-{pid}").items if s.spec.type == "LoadBalancer"}
           for pid, core in (("30000", core_a), ("40000", core_b))}
    sni_name, sni_key = cc.EXCHANGE_SNI_CONFIGMAP
    sni = core_a.read_namespaced_config_map(sni_name, "fate-exchange").data[sni_key]
    nginx_name, nginx_key = cc.EXCHANGE_NGINX_CONFIGMAP
    table = yaml.safe_load(core_a.read_namespaced_config_map(nginx_name, "fate-exchange").data[nginx_key])
    for pid in ("30000", "40000"):
        assert f"{pid}.fate.org" in sni
        assert f"{ips[pid][cc.SVC_PULSAR_PUBLIC]}:6651" in sni
        route = table[int(pid)]  # the chart writes party ids as YAML ints
        assert route["fateflow"][0]["host"] == route["proxy"][0]["host"] == ips[pid][cc.SVC_NGINX]
    exchange = xcom(run, "configure_exchange")
    assert {r["fqdn"]: r["tunnelRoute"] for r in exchange["route_table"]["sni"]} == {
        f"{pid}.fate.org": f"{ips[pid][cc.SVC_PULSAR_PUBLIC]}:6651" for pid in ("30000", "40000")}
    # and each party now routes through the exchange's load balancers
    ex_ips = exchange["exchange"]["load_balancers"]
    for pid, cluster in (("30000", world["a"]), ("40000", world["b"])):
        core, _ = apis(cluster)
        conf = core.read_namespaced_config_map(cc.PARTY_PULSAR_ROUTE_CONFIGMAP[0], f"fate-{pid}").data
        assert ex_ips[cc.SVC_TRAFFIC_SERVER] in conf[cc.PARTY_PULSAR_ROUTE_CONFIGMAP[1]]


def test_the_reload_ran_once_in_every_traffic_server_pod(world: dict[str, Any], first_runs: dict[str, Any]) -> None:
    reloads = first_runs["after"]["reloads"]
    assert len(reloads) == 2, reloads
    for rec in reloads:
        assert (rec["namespace"], rec["container"], rec["exit_code"]) == ("fate-exchange",
                                                                          cc.TRAFFIC_SERVER_CONTAINER, 0)
    core_a, _ = apis(world["a"])
    ats_pods = {p.metadata.name for p in core_a.list_namespaced_pod(
        "fate-exchange", label_selector=cc.label_selector(cc.EXCHANGE_CHART_NAME, "traffic-server")).items}
    assert len(ats_pods) == 2 and {rec["pod"] for rec in reloads} == ats_pods  # both replicas, not one
    assert not any(r["command"] == RELOAD for r in world["b"].exec_records())


def test_toy_pod_ran_in_the_initiators_namespace_and_its_job_was_awaited(world: dict[str, Any],
                                                                         first_runs: dict[str, Any]) -> None:
    run = first_runs["federate"]
    submitted = xcom(run, "submit_toy_example", 0)
    assert submitted["job_id"] == world["toy"]["job_id"]
    assert submitted["pod"]["namespace"] == "fate-30000"
    core_a, _ = apis(world["a"])
    pod = core_a.read_namespaced_pod(submitted["pod"]["name"], "fate-30000")
    assert pod.status.phase == "Succeeded"
    base = pod.spec.containers[0]
    assert [c.name for c in pod.spec.containers] == ["base"]  # no XCom sidecar
    assert base.image == "registry.invalid/fateops-ops:test"
    assert base.command == ["fateops"]
    assert base.args == ["fate", "submit-toy", "--guest", "30000", "--host", "40000", "--timeout", "300",
                         "--fateflow-url", "http://fateflow.fate-30000.svc:9380"]
    assert pod.spec.active_deadline_seconds == 300
    assert base.resources.requests == {"cpu": "100m", "memory": "256Mi"}
    assert base.security_context.allow_privilege_escalation is False and pod.spec.security_context.run_as_non_root
    summary = xcom(run, "summarize")
    assert summary["all_succeeded"] is True
    assert summary["jobs"][0]["job_id"] == world["toy"]["job_id"]
    assert summary["jobs"][0]["party_statuses"] == {"guest:30000": "success", "host:40000": "success"}


def test_a_second_run_changes_nothing(world: dict[str, Any], first_runs: dict[str, Any]) -> None:
    conf = {"federation": world["federation"], **PARAMS}
    before = first_runs["after"]
    bootstrap = run_dag("fate_party_bootstrap", conf)
    assert str(bootstrap.state) == "success", json.dumps(task_states(bootstrap))
    federate = run_dag("fate_exchange_federate", conf)
    assert str(federate.state) == "success", json.dumps(task_states(federate))
    after = snapshot(world)
    assert after == before
    exchange = xcom(federate, "configure_exchange")
    assert exchange["changed"] is False and exchange["reload"]["reloaded"] is False
    for i in range(2):
        assert xcom(bootstrap, "provision", i)["details"]["release"]["changed"] is False


# -- failures: named, early, and leaving nothing behind ----------------------------------------------
def _write(world: dict[str, Any], name: str, federation: dict[str, Any]) -> str:
    path = world["tmp"] / f"{name}.yaml"
    path.write_text(yaml.safe_dump(federation, sort_keys=False))
    return str(path)


def _namespaces(cluster: Any) -> set[str]:
    core, _ = apis(cluster)
    return {n.metadata.name for n in core.list_namespace().items}


def _two_party_federation(guest: dict[str, Any], host: dict[str, Any], exchange_ns: str) -> dict[str, Any]:
    return {"name": exchange_ns, "exchange": {"kubernetes": {"connection": "k8s_exchange", "namespace": exchange_ns}},
            "ops": {"image": "registry.invalid/fateops-ops:test"},
            "parties": [{"roles": ["guest"], "backend": "kubernetes", **guest},
                        {"roles": ["host"], "backend": "kubernetes", **host}]}


@pytest.mark.parametrize("mistake", ["duplicate party id", "unknown connection"])
def test_a_bad_federation_config_fails_before_anything_is_deployed(world: dict[str, Any], mistake: str) -> None:
    from fateops.airflow.kubernetes import check_connections
    from fateops.exceptions import ConfigError
    from fateops.federation import parse_federation

    host_conn = "k8s_party_40000" if mistake == "duplicate party id" else "k8s_party_nowhere"
    host_id = 61000 if mistake == "duplicate party id" else 62000
    federation = _two_party_federation(
        {"party_id": 61000, "kubernetes": placement("k8s_party_30000", "fate-61000")},
        {"party_id": host_id, "kubernetes": placement(host_conn, f"fate-{host_id}")}, "fate-exchange-bad")
    path = _write(world, mistake.replace(" ", "-"), federation)
    before = (_namespaces(world["a"]), _namespaces(world["b"]))
    for dag_id in ("fate_party_bootstrap", "fate_exchange_federate"):
        run = run_dag(dag_id, {"federation": path, **PARAMS})
        states = task_states(run)
        assert str(run.state) == "failed"
        assert states["validate_federation"] == "failed"
        assert all(s in ("upstream_failed", "None") for t, s in states.items() if t != "validate_federation"), states
    assert (_namespaces(world["a"]), _namespaces(world["b"])) == before
    # the error itself names the field and the fix
    if mistake == "duplicate party id":
        with pytest.raises(ConfigError, match="duplicate party_id 61000"):
            parse_federation(federation)
    else:
        with pytest.raises(ConfigError) as err:
            check_connections(parse_federation(federation))
        assert err.value.field == "parties[62000].kubernetes.connection"
        assert "k8s_party_nowhere" in str(err.value) and "Admin → Connections" in err.value.fix


def test_a_party_whose_load_balancer_never_gets_an_ip_times_out_naming_the_service(world: dict[str, Any]) -> None:
    from fateops.airflow.kubernetes import party_and_backend
    from fateops.exceptions import KubernetesError

    no_ip = {"nginx": {"service": {"annotations": {"sim.fateops.io/no-lb-ip": "true"}}}}
    federation = _two_party_federation(
        {"party_id": 51000, "kubernetes": placement("k8s_party_30000", "fate-51000")},
        {"party_id": 52000, "kubernetes": placement("k8s_party_40000", "fate-52000", values=no_ip)},
        "fate-exchange-lb")
    path = _write(world, "no-lb-ip", federation)
    run = run_dag("fate_party_bootstrap", {"federation": path, **PARAMS, "ready_timeout_s": 40})
    states = task_states(run)
    assert str(run.state) == "failed"
    assert states["wait_ready[0]"] == "success" and states["wait_ready[1]"] == "failed", states
    assert states["report"] == "upstream_failed"

    party, backend = party_and_backend(path, 52000)
    with pytest.raises(KubernetesError) as err:
        backend.wait_ready(party, 3)
    message = str(err.value)
    assert "service fate-52000/nginx" in message and "pulsar-public-tls" not in message
    assert "load-balancer" in err.value.fix
