"""The fate-party and fate-exchange charts: lint, render, validate, and the policies they promise.

Only the real helm binary and kubernetes-validate are used (no cluster). Each distinct render is done
once per session and shared by every test that reads it. The Tanzu-like renders are built with the
same :mod:`fateops.k8s.chart_contract` builders the k8s domain code uses, so a drift between the
builders and the charts' schemas fails here.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from fateops.exceptions import ConfigError
from fateops.k8s import chart_contract as cc
from tests.harness.helm import ensure_helm

VALIDATE_VERSIONS = ("1.25.0", "1.37.0")
# Objects only rendered for a <= 1.24 cluster (the PSP flag): no 1.25+ schema exists for them.
PRE_125_ONLY = {("policy/v1beta1", "PodSecurityPolicy"), ("policy/v1beta1", "PodDisruptionBudget")}
TANZU_STORAGE_CLASS = "vsan-default-storage-policy"
# What `helm template` should assume for a Tanzu Kubernetes cluster that still enforces PSP.
TANZU_CAPS: dict[str, Any] = {"kube_version": "1.24.0", "api_versions": ("policy/v1beta1/PodSecurityPolicy",)}
EXCHANGE_AT = cc.ExchangeEndpoint(nginx_ip="10.159.229.69", traffic_server_ip="10.159.229.68")
PARTIES = (
    cc.PartyEndpoints(party_id=30000, nginx_ip="10.159.229.72", pulsar_ip="10.159.229.73"),
    cc.PartyEndpoints(party_id=40000, nginx_ip="10.159.229.82", pulsar_ip="10.159.229.83"),
)
STANDARD_LABELS = (cc.LABEL_NAME, cc.LABEL_INSTANCE, cc.LABEL_COMPONENT, cc.LABEL_PART_OF, cc.LABEL_MANAGED_BY,
                   cc.LABEL_CHART)


# -- rendering -------------------------------------------------------------------------------------------
@dataclass
class Render:
    """The documents of one `helm template` run, with lookups."""

    docs: list[dict[str, Any]]
    values: Mapping[str, Any] = field(default_factory=dict)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def names(self, kind: str) -> set[str]:
        return {d["metadata"]["name"] for d in self.of(kind)}

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [d for d in self.of(kind) if d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)} (have {sorted(self.names(kind))})"
        return found[0]

    def pod_templates(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            for d in self.of(kind):
                yield f"{kind}/{d['metadata']['name']}", d["spec"]["template"]

    def checksum(self, deployment: str) -> str | None:
        annotations = self.get("Deployment", deployment)["spec"]["template"]["metadata"].get("annotations") or {}
        return annotations.get(cc.CHECKSUM_ANNOTATION)

    def config(self, name: str, key: str) -> str:
        return self.get("ConfigMap", name)["data"][key]


class HelmFailed(AssertionError):
    """helm exited non-zero; carries its stderr."""

    def __init__(self, args: list[str], stderr: str) -> None:
        self.stderr = stderr
        super().__init__(f"helm {' '.join(args)} failed:\n{stderr}")


class Helm:
    """The real helm binary with a per-session cache of renders (keyed by chart, values and caps)."""

    def __init__(self, binary: Path, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self._renders: dict[str, Render] = {}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(self.binary), *args], capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise HelmFailed(list(args), proc.stderr)
        return proc

    def template(self, chart: Path, values: Mapping[str, Any] | None = None, *, kube_version: str | None = None,
                 api_versions: tuple[str, ...] = (), namespace: str = "fate-test", release: str = "rel") -> Render:
        key = json.dumps([str(chart), values or {}, kube_version, api_versions, namespace, release], sort_keys=True)
        if key not in self._renders:
            args = ["template", release, str(chart), "--namespace", namespace]
            if values:
                path = self.workdir / f"values-{hashlib.sha256(key.encode()).hexdigest()[:16]}.yaml"
                path.write_text(yaml.safe_dump(dict(values)))
                args += ["-f", str(path)]
            if kube_version:
                args += ["--kube-version", kube_version]
            for api in api_versions:
                args += ["--api-versions", api]
            out = self.run(*args).stdout
            self._renders[key] = Render([d for d in yaml.safe_load_all(out) if d], values or {})
        return self._renders[key]


@pytest.fixture(scope="session")
def helm() -> Iterator[Helm]:
    with tempfile.TemporaryDirectory(prefix="fateops-charts-") as tmp:
        yield Helm(ensure_helm(), Path(tmp))


def tanzu_party_values(**changes: Any) -> dict[str, Any]:
    """The seed's Tanzu party: PSP, vSAN storage class, exchange endpoint, external Spark."""
    kwargs: dict[str, Any] = {
        "storage_class": TANZU_STORAGE_CLASS,
        "psp": True,
        "exchange": EXCHANGE_AT,
        "externals": cc.Externals(spark_master="spark://spark-master.spark.svc:7077"),
    }
    kwargs.update(changes)
    return cc.party_values(30000, **kwargs)


ALL_EXTERNAL = cc.party_values(
    40000,
    externals=cc.Externals(spark_master="spark://spark.ext:7077", hdfs_namenode="hdfs://hdfs.ext:9000",
                           pulsar=cc.ExternalPulsar(host="pulsar.ext")),
    ingress_class="nginx", ingress_domain="fate.example.com",
)

# name -> (chart, values, capabilities)
SCENARIOS: dict[str, tuple[Path, dict[str, Any], dict[str, Any]]] = {
    "party-default": (cc.PARTY_CHART, {}, {}),
    "party-tanzu": (cc.PARTY_CHART, tanzu_party_values(), TANZU_CAPS),
    "party-all-external": (cc.PARTY_CHART, ALL_EXTERNAL, {}),
    "exchange-default": (cc.EXCHANGE_CHART, {}, {}),
    "exchange-tanzu": (cc.EXCHANGE_CHART, cc.exchange_values(PARTIES, psp=True), TANZU_CAPS),
}


def render(helm: Helm, scenario: str) -> Render:
    chart, values, caps = SCENARIOS[scenario]
    return helm.template(chart, values, **caps)


_VALIDATED: set[tuple[str, str]] = set()


def validate_once(doc: Mapping[str, Any], version: str) -> None:
    """kubernetes-validate (strict), skipping documents already validated in another scenario."""
    key = (version, json.dumps(doc, sort_keys=True))
    if key not in _VALIDATED:
        kubernetes_validate.validate(dict(doc), version, strict=True)
        _VALIDATED.add(key)


def all_containers(pod: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod["spec"]
    yield from spec.get("initContainers") or []
    yield from spec["containers"]


# -- lint and schema validation ------------------------------------------------------------------------
@pytest.mark.parametrize("chart", [cc.PARTY_CHART, cc.EXCHANGE_CHART], ids=lambda p: p.name)
def test_helm_lint_strict(helm: Helm, chart: Path) -> None:
    out = helm.run("lint", "--strict", str(chart)).stdout
    assert "0 chart(s) failed" in out
    assert "[WARNING]" not in out and "[ERROR]" not in out, out


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_document_validates_against_125_plus_schemas(helm: Helm, scenario: str) -> None:
    docs = render(helm, scenario).docs
    assert docs
    legacy = [d for d in docs if (d["apiVersion"], d["kind"]) in PRE_125_ONLY]
    if legacy:  # only the PSP-enabled (<= 1.24) renders may carry them
        assert SCENARIOS[scenario][2] == TANZU_CAPS, f"{scenario} renders pre-1.25-only objects"
    failures = []
    for version in VALIDATE_VERSIONS:
        for doc in docs:
            if (doc["apiVersion"], doc["kind"]) in PRE_125_ONLY:
                continue
            try:
                validate_once(doc, version)
            except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
                failures.append(f"{version} {doc['kind']}/{doc['metadata']['name']}: {str(exc).splitlines()[0]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_only_modern_api_groups(helm: Helm, scenario: str) -> None:
    """apps/v1 and networking.k8s.io/v1 everywhere; policy/v1beta1 only behind the PSP flag."""
    allowed = {"v1", "apps/v1", "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1", "policy/v1"}
    for doc in render(helm, scenario).docs:
        api = doc["apiVersion"]
        if api == "policy/v1beta1":
            assert doc["kind"] == "PodSecurityPolicy" and SCENARIOS[scenario][1].get("podSecurityPolicy", {}).get(
                "enabled"), f"{scenario}: {doc['kind']} uses policy/v1beta1"
        else:
            assert api in allowed, f"{scenario}: {doc['kind']}/{doc['metadata']['name']} uses {api}"


@pytest.mark.parametrize(
    ("chart", "values", "needle"),
    [
        (cc.PARTY_CHART, {"partyid": 9999}, "additional properties 'partyid' not allowed"),
        (cc.PARTY_CHART, {"partyId": "ninety-nine"}, "/partyId"),
        (cc.PARTY_CHART, {"persistence": {"storageclass": "x"}}, "'storageclass' not allowed"),
        (cc.PARTY_CHART, {"nginx": {"service": {"type": "LoadBalancr"}}}, "/nginx/service/type"),
        (cc.PARTY_CHART, {"externalSpark": {"enabled": True}}, "/externalSpark/master"),
        (cc.EXCHANGE_CHART, {"trafficserver": {"replicas": 3}}, "additional properties 'trafficserver' not allowed"),
        (cc.EXCHANGE_CHART, {"nginx": {"replicas": "two"}}, "/nginx/replicas"),
        (cc.EXCHANGE_CHART, {"trafficServer": {"route_table": {"sni": [{"fqdn": "9999.fate.org"}]}}},
         "tunnelRoute"),
    ],
    ids=["party-typo-top-level", "party-wrong-type", "party-typo-nested", "party-bad-enum",
         "party-external-without-endpoint", "exchange-typo-top-level", "exchange-wrong-type",
         "exchange-sni-missing-route"],
)
def test_schema_rejects_bad_values(helm: Helm, chart: Path, values: dict[str, Any], needle: str) -> None:
    with pytest.raises(HelmFailed) as failed:
        helm.template(chart, values)
    assert "values don't meet the specifications of the schema" in failed.value.stderr
    assert needle in failed.value.stderr


# -- policies ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_container_has_resources_and_a_restricted_security_context(helm: Helm, scenario: str) -> None:
    seen = 0
    for where, pod in render(helm, scenario).pod_templates():
        pod_sc = pod["spec"].get("securityContext") or {}
        assert pod["spec"].get("automountServiceAccountToken") is False, where
        for c in all_containers(pod):
            seen += 1
            name = f"{where}/{c['name']}"
            res = c.get("resources") or {}
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(res.get(kind) or {}), f"{name} lacks {kind}"
            sc = c.get("securityContext") or {}
            assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, f"{name} may run as root"
            assert sc.get("allowPrivilegeEscalation") is False, f"{name} allows privilege escalation"
            assert sc.get("privileged", False) is False, name
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name} keeps capabilities"
            seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
            assert seccomp == "RuntimeDefault", f"{name} has seccomp {seccomp}"
            assert (sc.get("runAsUser") or pod_sc.get("runAsUser") or 0) > 0, f"{name} has no non-root uid"
    assert seen >= 2


@pytest.mark.parametrize(("scenario", "storage_class"),
                         [("party-default", None), ("party-tanzu", TANZU_STORAGE_CLASS)])
def test_every_stateful_component_has_a_pvc_with_the_configured_class(
        helm: Helm, scenario: str, storage_class: str | None) -> None:
    r = render(helm, scenario)
    external = {c for switch, comps in cc.EXTERNAL_SWITCHES.items() if r.values.get(switch, {}).get("enabled")
                for c in comps}
    expected = [c for c in cc.STATEFUL_COMPONENTS if c not in external]
    assert {cc.pvc_name(c) for c in expected} == r.names("PersistentVolumeClaim")
    for component in expected:
        pvc = r.get("PersistentVolumeClaim", cc.pvc_name(component))
        assert pvc["spec"].get("storageClassName") == storage_class, component
        assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        deployment = r.get("Deployment", component)
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"]["type"] == "Recreate", "an RWO volume needs Recreate"
        claims = [v["persistentVolumeClaim"]["claimName"] for v in deployment["spec"]["template"]["spec"]["volumes"]
                  if "persistentVolumeClaim" in v]
        assert claims == [cc.pvc_name(component)]


def test_persistence_switches_and_per_component_overrides(helm: Helm) -> None:
    r = helm.template(cc.PARTY_CHART, {"persistence": {"storageClass": "fast"},
                                       "mysql": {"persistence": {"storageClass": "-", "size": "7Gi"}},
                                       "hdfs": {"datanode": {"persistence": {"existingClaim": "big-disk"}}}})
    assert r.get("PersistentVolumeClaim", "python-data")["spec"]["storageClassName"] == "fast"
    mysql = r.get("PersistentVolumeClaim", "mysql-data")["spec"]
    assert mysql["storageClassName"] == "" and mysql["resources"]["requests"]["storage"] == "7Gi"
    assert "datanode-data" not in r.names("PersistentVolumeClaim")
    volumes = r.get("Deployment", "datanode")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "big-disk"}} in volumes

    off = helm.template(cc.PARTY_CHART, {"persistence": {"enabled": False}})
    assert off.names("PersistentVolumeClaim") == set()
    volumes = off.get("Deployment", "mysql")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "data", "emptyDir": {}} in volumes


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_only_nginx_pulsar_public_and_traffic_server_are_load_balancers(helm: Helm, scenario: str) -> None:
    r = render(helm, scenario)
    lbs = {s["metadata"]["name"] for s in r.of("Service") if s["spec"]["type"] == "LoadBalancer"}
    chart = SCENARIOS[scenario][0]
    if chart == cc.EXCHANGE_CHART:
        assert lbs == set(cc.EXCHANGE_LOAD_BALANCERS)
    elif r.values.get("externalPulsar", {}).get("enabled"):
        assert lbs == {cc.SVC_NGINX}
    else:
        assert lbs == set(cc.PARTY_LOAD_BALANCERS)
    public = [s for s in r.of("Service") if s["metadata"]["name"] == cc.SVC_PULSAR_PUBLIC]
    for svc in public:
        assert [p["port"] for p in svc["spec"]["ports"]] == [cc.PULSAR_TLS_PORT]


def test_service_types_are_values(helm: Helm) -> None:
    r = helm.template(cc.PARTY_CHART, cc.party_values(9999, nginx_service_type="NodePort", pulsar_public_lb=False))
    assert r.get("Service", cc.SVC_NGINX)["spec"]["type"] == "NodePort"
    assert cc.SVC_PULSAR_PUBLIC not in r.names("Service")
    assert not [s for s in r.of("Service") if s["spec"]["type"] == "LoadBalancer"]
    lb = helm.template(cc.PARTY_CHART, {"nginx": {"service": {"loadBalancerIP": "10.0.0.7",
                                                              "externalTrafficPolicy": "Local"}}})
    spec = lb.get("Service", cc.SVC_NGINX)["spec"]
    assert (spec["loadBalancerIP"], spec["externalTrafficPolicy"]) == ("10.0.0.7", "Local")


# -- config, checksums and route tables --------------------------------------------------------------
def test_route_table_change_rolls_exactly_the_pods_that_mount_it(helm: Helm) -> None:
    base = cc.party_values(30000, exchange=EXCHANGE_AT)
    before = helm.template(cc.PARTY_CHART, base)
    again = helm.template(cc.PARTY_CHART, dict(base, partyId=30000))  # a second, equal render
    new_nginx = cc.party_values(30000, exchange=EXCHANGE_AT, nginx_routes={
        40000: cc.NginxRoute(proxy=(cc.NginxHop("10.159.229.82"),))})
    new_pulsar = cc.party_values(30000, exchange=EXCHANGE_AT, overrides={"pulsar": {"exchange": {
        "ip": "10.159.229.99"}}})
    nginx_changed = helm.template(cc.PARTY_CHART, new_nginx)
    pulsar_changed = helm.template(cc.PARTY_CHART, new_pulsar)

    for name in ("python", "nginx", "pulsar", "spark-worker", "namenode"):
        checksum = before.checksum(name)
        assert checksum is not None and len(checksum) == 64, name
        assert again.checksum(name) == checksum, f"{name}: rendering twice must not roll pods"
    assert before.checksum("mysql") is None  # mounts no ConfigMap

    assert nginx_changed.checksum("nginx") != before.checksum("nginx")
    assert "40000:" in nginx_changed.config(*cc.PARTY_NGINX_CONFIGMAP)
    assert {n: nginx_changed.checksum(n) for n in ("python", "pulsar")} == {
        n: before.checksum(n) for n in ("python", "pulsar")}

    assert pulsar_changed.checksum("python") != before.checksum("python")
    assert "10.159.229.99:443" in pulsar_changed.config(*cc.PARTY_PULSAR_ROUTE_CONFIGMAP)
    assert pulsar_changed.checksum("nginx") == before.checksum("nginx")


def test_exchange_route_change_rolls_traffic_server_unless_hot_reload_is_chosen(helm: Helm) -> None:
    one = cc.exchange_values(PARTIES[:1])
    two = cc.exchange_values(PARTIES)
    r1, r2 = helm.template(cc.EXCHANGE_CHART, one), helm.template(cc.EXCHANGE_CHART, two)
    assert r1.checksum("traffic-server") != r2.checksum("traffic-server")
    assert r1.checksum("nginx") != r2.checksum("nginx")

    h1 = helm.template(cc.EXCHANGE_CHART, cc.exchange_values(PARTIES[:1], roll_on_route_change=False))
    h2 = helm.template(cc.EXCHANGE_CHART, cc.exchange_values(PARTIES, roll_on_route_change=False))
    assert h1.checksum("traffic-server") == h2.checksum("traffic-server")
    assert h1.config(*cc.EXCHANGE_SNI_CONFIGMAP) != h2.config(*cc.EXCHANGE_SNI_CONFIGMAP)
    # Hot reload needs the kubelet to refresh the file: the route table is a directory mount, not subPath.
    ts = h2.get("Deployment", "traffic-server")["spec"]["template"]["spec"]["containers"][0]
    route_mounts = [m for m in ts["volumeMounts"] if m["name"] == cc.EXCHANGE_SNI_CONFIGMAP[0]]
    assert route_mounts and all("subPath" not in m for m in route_mounts)


def test_exchange_route_tables_hold_every_party_lb_ip(helm: Helm) -> None:
    r = render(helm, "exchange-tanzu")
    sni = yaml.safe_load(r.config(*cc.EXCHANGE_SNI_CONFIGMAP))
    assert sni == {"sni": [{"fqdn": "30000.fate.org", "tunnel_route": "10.159.229.73:6651"},
                           {"fqdn": "40000.fate.org", "tunnel_route": "10.159.229.83:6651"}]}
    table = yaml.safe_load(r.config(*cc.EXCHANGE_NGINX_CONFIGMAP))
    assert set(table) == {30000, 40000, "default"}  # bare integer keys, as FATE's nginx image reads them
    # an unlisted party goes to the local "not in this route table" server, never back into the exchange
    assert table["default"] == {"proxy": [{"host": "127.0.0.1", "http_port": 9398, "grpc_port": 9399}]}
    assert table[40000]["proxy"] == [{"host": "10.159.229.82", "http_port": 9300, "grpc_port": 9310}]
    assert table[30000]["fateflow"] == [{"host": "10.159.229.72", "http_port": 9300, "grpc_port": 9310}]
    ts = r.get("Deployment", "traffic-server")
    assert ts["spec"]["replicas"] == 2 and r.get("Deployment", "nginx")["spec"]["replicas"] == 2
    assert [c["name"] for c in ts["spec"]["template"]["spec"]["containers"]] == [cc.TRAFFIC_SERVER_CONTAINER]
    tls = [v for v in ts["spec"]["template"]["spec"]["volumes"] if "secret" in v]
    assert [v["secret"]["secretName"] for v in tls] == [cc.EXCHANGE_TLS_SECRET.name]
    multicert = r.config("traffic-server-config", "ssl_multicert.config")
    assert cc.EXCHANGE_TLS_SECRET.cert in multicert and cc.EXCHANGE_TLS_SECRET.key in multicert
    assert r.get("Service", cc.SVC_TRAFFIC_SERVER)["spec"]["ports"][0]["port"] == cc.TRAFFIC_SERVER_PORT
    assert {p["port"] for p in r.get("Service", cc.SVC_NGINX)["spec"]["ports"]} == {9300, 9310}
    assert {d["metadata"]["name"] for d in r.of("PodDisruptionBudget")} == set(cc.EXCHANGE_COMPONENTS)


def test_party_route_tables_and_service_conf(helm: Helm) -> None:
    r = render(helm, "party-tanzu")
    pulsar = yaml.safe_load(r.config(*cc.PARTY_PULSAR_ROUTE_CONFIGMAP))
    assert pulsar[30000] == {"host": "pulsar", "port": 6650, "sslPort": 6651, "proxy": ""}
    assert pulsar["default"] == {"proxy": "10.159.229.68:443", "domain": "fate.org",
                                 "brokerPort": 6650, "brokerSslPort": 6651}
    nginx = yaml.safe_load(r.config(*cc.PARTY_NGINX_CONFIGMAP))
    assert nginx[30000] == {"fateflow": [{"host": cc.SVC_FATEFLOW, "http_port": 9380, "grpc_port": 9360}]}
    assert nginx["default"] == {"proxy": [{"host": "10.159.229.69", "http_port": 9300, "grpc_port": 9310}]}
    conf = yaml.safe_load(r.config(*cc.PARTY_SERVICE_CONF_CONFIGMAP))
    assert conf["party_id"] == "30000"
    assert conf["default_engines"] == {"computing": "spark", "federation": "pulsar", "storage": "hdfs"}
    assert conf["database"]["mysql"]["passwd"] == "@@MYSQL_PASSWORD@@", "no secret may land in a ConfigMap"
    assert conf["federation"]["pulsar"]["host"] == "pulsar"
    assert "spark.master spark://spark-master.spark.svc:7077" in r.config("spark-config", "spark-defaults.conf")
    python = r.get("Deployment", "python")["spec"]["template"]["spec"]
    secret_env = [e for c in all_containers({"spec": python}) for e in c.get("env", []) if "valueFrom" in e
                  and "secretKeyRef" in e["valueFrom"]]
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in secret_env} == {cc.MYSQL_SECRET, cc.FATEBOARD_SECRET}
    pulsar_pod = r.get("Deployment", "pulsar")["spec"]["template"]["spec"]
    assert {"name": "pulsar-cert", "secret": {"secretName": cc.PULSAR_TLS_SECRET.name, "defaultMode": 0o440}} \
        in pulsar_pod["volumes"]
    assert cc.PULSAR_TLS_SECRET.key in r.config("pulsar-config", "standalone.conf")


def test_pulsar_routes_to_other_parties_are_refused_with_the_fate_source(helm: Helm) -> None:
    """FATE 2.x looks explicit routes up with int(party_id) against string keys: they would be ignored."""
    with pytest.raises(ConfigError, match=r"pulsar_routes\[40000\]") as err:
        cc.party_values(30000, pulsar_routes={40000: cc.PulsarRoute(host="40000.fate.org")})
    assert "_federation.py" in str(err.value)
    own = cc.party_values(30000, pulsar_routes={30000: cc.PulsarRoute(host="pulsar")})
    assert helm.template(cc.PARTY_CHART, own).config(*cc.PARTY_PULSAR_ROUTE_CONFIGMAP)
    with pytest.raises(HelmFailed, match=r"pulsar\.route_table\.40000: FATE 2\.x"):
        helm.template(cc.PARTY_CHART, {"partyId": 30000, "pulsar": {"route_table": {
            "40000": {"host": "h", "port": 6650, "sslPort": 6651, "proxy": ""}}}})


# -- external switches -----------------------------------------------------------------------------------
def test_external_switches_remove_the_in_chart_components(helm: Helm) -> None:
    default = render(helm, "party-default")
    ext = render(helm, "party-all-external")
    assert default.names("Deployment") == set(cc.PARTY_COMPONENTS)
    removed = {c for comps in cc.EXTERNAL_SWITCHES.values() for c in comps}
    assert ext.names("Deployment") == set(cc.PARTY_COMPONENTS) - removed
    assert not {"spark-master", "namenode", "datanode", "pulsar", cc.SVC_PULSAR_PUBLIC} & ext.names("Service")
    assert ext.names("PersistentVolumeClaim") == {cc.pvc_name("python"), cc.pvc_name("mysql")}
    assert "pulsar-config" not in ext.names("ConfigMap")

    conf = yaml.safe_load(ext.config(*cc.PARTY_SERVICE_CONF_CONFIGMAP))
    assert conf["federation"]["pulsar"]["host"] == "pulsar.ext"
    assert conf["storage"]["hdfs"]["name_node"] == "hdfs://hdfs.ext:9000"
    assert "spark.master spark://spark.ext:7077" in ext.config("spark-config", "spark-defaults.conf")
    assert "<value>hdfs://hdfs.ext:9000</value>" in ext.config("hadoop-config", "core-site.xml")
    assert yaml.safe_load(ext.config(*cc.PARTY_PULSAR_ROUTE_CONFIGMAP))[40000]["host"] == "pulsar.ext"
    rules = ext.get("Ingress", "fate-party")["spec"]["rules"]
    assert {r["host"] for r in rules} == {"40000.notebook.fate.example.com", "40000.fateboard.fate.example.com"}

    only_spark = render(helm, "party-tanzu")
    assert only_spark.names("Deployment") == set(cc.PARTY_COMPONENTS) - {"spark-master", "spark-worker"}


def test_optional_components_switch_off_cleanly(helm: Helm) -> None:
    r = helm.template(cc.PARTY_CHART, {"client": {"enabled": False}, "fateboard": {"enabled": False},
                                       "ingress": {"enabled": True}})
    assert "client" not in r.names("Deployment")
    assert not {cc.SVC_NOTEBOOK, cc.SVC_FATEBOARD} & r.names("Service")
    assert [c["name"] for c in r.get("Deployment", "python")["spec"]["template"]["spec"]["containers"]] == ["python"]
    assert "fateboard-config" not in r.names("ConfigMap") and "fateboard-auth" not in r.names("Secret")
    assert not r.of("Ingress"), "an Ingress without hosts must not be rendered"
    with pytest.raises(HelmFailed, match=r"needs pulsar\.tls\.enabled"):
        helm.template(cc.PARTY_CHART, {"pulsar": {"tls": {"enabled": False}}})


# -- PodSecurityPolicy ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("scenario", "sa"), [("party-tanzu", "fate-party"), ("exchange-tanzu", "fate-exchange")])
def test_psp_flag_renders_a_policy_the_pods_are_bound_to(helm: Helm, scenario: str, sa: str) -> None:
    r = render(helm, scenario)
    (psp,) = r.of("PodSecurityPolicy")
    assert psp["apiVersion"] == "policy/v1beta1"
    spec = psp["spec"]
    assert spec["privileged"] is False and spec["allowPrivilegeEscalation"] is False
    assert spec["runAsUser"]["rule"] == "MustRunAsNonRoot" and spec["requiredDropCapabilities"] == ["ALL"]
    (role,) = r.of("Role")
    assert role["rules"][0]["resourceNames"] == [psp["metadata"]["name"]]
    assert role["rules"][0]["verbs"] == ["use"]
    (binding,) = r.of("RoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": "fate-test"}]
    for where, pod in r.pod_templates():
        assert pod["spec"]["serviceAccountName"] == sa, where
        for volume in pod["spec"]["volumes"]:
            kinds = set(volume) - {"name"}
            assert kinds <= set(spec["volumes"]), f"{where}: volume {volume['name']} not allowed by the PSP"


def test_psp_without_the_api_fails_with_the_fix(helm: Helm) -> None:
    with pytest.raises(HelmFailed) as failed:
        helm.template(cc.PARTY_CHART, {"podSecurityPolicy": {"enabled": True}})
    assert "removed in Kubernetes 1.25" in failed.value.stderr
    assert "Pod Security Admission" in failed.value.stderr
    assert not render(helm, "party-default").of("PodSecurityPolicy")


def test_exchange_pdb_falls_back_to_v1beta1_on_a_120_cluster(helm: Helm) -> None:
    old = helm.template(cc.EXCHANGE_CHART, {}, kube_version="1.20.2",
                        api_versions=("policy/v1beta1/PodDisruptionBudget",))
    assert {d["apiVersion"] for d in old.of("PodDisruptionBudget")} == {"policy/v1beta1"}
    assert {d["apiVersion"] for d in render(helm, "exchange-default").of("PodDisruptionBudget")} == {"policy/v1"}


# -- labels and the contract -----------------------------------------------------------------------------
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_standard_labels_on_everything(helm: Helm, scenario: str) -> None:
    r = render(helm, scenario)
    chart = SCENARIOS[scenario][0]
    for doc in r.docs:
        labels = doc["metadata"]["labels"]
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        assert set(STANDARD_LABELS) <= set(labels), f"{where} lacks {set(STANDARD_LABELS) - set(labels)}"
        assert labels[cc.LABEL_NAME] == chart.name and labels[cc.LABEL_PART_OF] == "fate"
        if chart == cc.PARTY_CHART:
            assert labels[cc.LABEL_PARTY_ID] == str(r.values.get("partyId", 9999)), where
        else:
            assert labels[cc.LABEL_ROLE] == "exchange", where
    for where, pod in r.pod_templates():
        deployment = r.get("Deployment", where.split("/", 1)[1])
        selector = deployment["spec"]["selector"]["matchLabels"]
        component = selector[cc.LABEL_COMPONENT]
        assert selector == cc.selector_labels(chart.name, component, release="rel")  # type: ignore[arg-type]
        assert selector.items() <= pod["metadata"]["labels"].items(), where
        assert set(STANDARD_LABELS) <= set(pod["metadata"]["labels"]), where


def test_contract_names_match_the_rendered_party(helm: Helm) -> None:
    r = render(helm, "party-default")
    contract = {cc.SVC_NGINX, cc.SVC_PULSAR_PUBLIC, cc.SVC_FATEFLOW, cc.SVC_FATEBOARD, cc.SVC_NOTEBOOK}
    assert contract <= r.names("Service")
    fateflow = {p["name"]: p["port"] for p in r.get("Service", cc.SVC_FATEFLOW)["spec"]["ports"]}
    assert fateflow == {"http": cc.FATEFLOW_HTTP_PORT, "grpc": cc.FATEFLOW_GRPC_PORT}
    nginx = {p["name"]: p["port"] for p in r.get("Service", cc.SVC_NGINX)["spec"]["ports"]}
    assert nginx == {"http": cc.NGINX_HTTP_PORT, "grpc": cc.NGINX_GRPC_PORT}
    assert r.get("Service", "fateboard")["spec"]["selector"][cc.LABEL_COMPONENT] == "python"
    assert {"mysql-auth", "fateboard-auth"} == r.names("Secret")
    assert {cc.PARTY_NGINX_CONFIGMAP[0], cc.PARTY_PULSAR_ROUTE_CONFIGMAP[0]} <= r.names("ConfigMap")


def test_notes_tell_how_to_get_the_lb_ips_and_the_next_step(helm: Helm) -> None:
    out = helm.run("install", "notes", str(cc.PARTY_CHART), "--dry-run=client", "--namespace", "fate-30000",
                   "--set", "partyId=30000").stdout
    notes = out[out.index("NOTES:"):]
    assert "FATE party 30000" in notes and "get svc nginx" in notes and "get svc pulsar-public-tls" in notes
    assert "fate_exchange_federate" in notes
    out = helm.run("install", "notes", str(cc.EXCHANGE_CHART), "--dry-run=client", "--namespace", "x").stdout
    notes = out[out.index("NOTES:"):]
    assert "rolled the traffic-server" in notes and "get svc traffic-server" in notes
    out = helm.run("install", "notes", str(cc.EXCHANGE_CHART), "--dry-run=client", "--namespace", "x",
                   "--set", "trafficServer.rollOnRouteChange=false").stdout
    notes = out[out.index("NOTES:"):]
    assert "EVERY traffic-server pod" in notes and "traffic_ctl config reload" in notes


def test_generated_passwords_are_kept_in_secrets_not_config(helm: Helm) -> None:
    r = render(helm, "party-default")
    for cm in r.of("ConfigMap"):
        for content in cm["data"].values():
            assert "passwd: fate" not in content
    explicit = helm.template(cc.PARTY_CHART, {"mysql": {"password": "s3cret.pw"}})
    data = explicit.get("Secret", cc.MYSQL_SECRET)["data"]
    assert data["mysql-password"] == "czNjcmV0LnB3"  # base64("s3cret.pw")
    external = helm.template(cc.PARTY_CHART, {"mysql": {"existingSecret": "db"},
                                              "fateboard": {"existingSecret": "board"}})
    assert external.names("Secret") == set()


# -- value builders (pure) -------------------------------------------------------------------------------
def test_value_builders_reject_bad_input_naming_the_field() -> None:
    with pytest.raises(ConfigError, match="party_id") as dup:
        cc.exchange_values([PARTIES[0], PARTIES[0]])
    assert dup.value.value == 30000
    with pytest.raises(ConfigError, match=r"parties\[30000\]\.pulsar_ip"):
        cc.exchange_values([cc.PartyEndpoints(30000, nginx_ip="10.0.0.1", pulsar_ip="not an ip")])
    with pytest.raises(ConfigError, match=r"exchange\.nginx_ip"):
        cc.party_values(1, exchange=cc.ExchangeEndpoint(nginx_ip="", traffic_server_ip="10.0.0.2"))
    with pytest.raises(ConfigError, match=r"externals\.spark_master"):
        cc.party_values(1, externals=cc.Externals(spark_master="http://x:7077"))
    with pytest.raises(ConfigError, match="party_id"):
        cc.party_values(0)
    with pytest.raises(ConfigError, match="component"):
        cc.pvc_name("nginx")  # type: ignore[arg-type]


def test_value_builders_are_deterministic_and_merge_overrides() -> None:
    forward = cc.exchange_values(PARTIES, replicas=3)
    backward = cc.exchange_values(reversed(PARTIES), replicas=3)
    assert forward == backward
    assert cc.values_at(forward, cc.EXCHANGE_SNI_PATH)[0]["fqdn"] == "30000.fate.org"
    values = cc.party_values(30000, storage_class="gold", overrides={"python": {"persistence": {"size": "50Gi"}},
                                                                        "persistence": {"keepOnUninstall": False}})
    assert values["persistence"] == {"enabled": True, "storageClass": "gold", "keepOnUninstall": False}
    assert values["python"]["persistence"]["size"] == "50Gi"
    assert cc.values_at(values, cc.PULSAR_EXCHANGE_PATH) is None
    assert cc.label_selector("fate-exchange", "traffic-server") == (
        "app.kubernetes.io/component=traffic-server,app.kubernetes.io/name=fate-exchange")
    assert list(cc.TRAFFIC_SERVER_RELOAD_COMMAND) == ["/opt/trafficserver/bin/traffic_ctl", "config", "reload"]
