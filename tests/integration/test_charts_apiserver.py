"""Both charts against the harness's real Kubernetes 1.20 apiserver (the oldest API level we support).

The unit tests validate the manifests against 1.25+ schemas offline; here the same charts meet a
real 1.20 apiserver: helm picks the capabilities from the server (PodSecurityPolicy and
policy/v1beta1 PodDisruptionBudget exist there), the server validates every object in a dry run, and
a real install upgraded with the same values changes nothing — generated passwords and config
checksums are stable, so a rerun of the bootstrap DAG does not roll a single pod.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fateops.k8s import chart_contract as cc

pytestmark = pytest.mark.harness

PARTIES = (
    cc.PartyEndpoints(party_id=30000, nginx_ip="10.159.229.72", pulsar_ip="10.159.229.73"),
    cc.PartyEndpoints(party_id=40000, nginx_ip="10.159.229.82", pulsar_ip="10.159.229.83"),
)
PARTY_VALUES = cc.party_values(
    30000, storage_class="vsan-default-storage-policy", psp=True,
    exchange=cc.ExchangeEndpoint(nginx_ip="10.159.229.69", traffic_server_ip="10.159.229.68"),
    externals=cc.Externals(spark_master="spark://spark-master.spark.svc:7077"),
)
EXCHANGE_VALUES = cc.exchange_values(PARTIES, psp=True)


class Tools:
    """helm and kubectl bound to one cluster's kubeconfig (never the user's ~/.kube/config)."""

    def __init__(self, helm: Path, kubectl: Path, kubeconfig: Path, workdir: Path) -> None:
        self.helm_bin, self.kubectl_bin, self.kubeconfig, self.workdir = helm, kubectl, kubeconfig, workdir

    def _run(self, cmd: list[str], stdin: str | None = None) -> str:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=180, check=False)
        assert proc.returncode == 0, f"{' '.join(cmd[:4])} ... failed:\n{proc.stderr}"
        return proc.stdout

    def helm(self, *args: str) -> str:
        return self._run([str(self.helm_bin), "--kubeconfig", str(self.kubeconfig), *args])

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        return self._run([str(self.kubectl_bin), "--kubeconfig", str(self.kubeconfig), *args], stdin)

    def values_file(self, name: str, values: dict[str, Any]) -> str:
        path = self.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(values))
        return str(path)

    def ensure_namespace(self, name: str) -> None:
        manifest = self.kubectl("create", "namespace", name, "--dry-run=client", "-o", "yaml")
        self.kubectl("apply", "-f", "-", stdin=manifest)

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any]:
        return json.loads(self.kubectl("get", kind, name, "-n", namespace, "-o", "json"))


@pytest.fixture(scope="module")
def tools(kube_cluster: Any, helm_bin: Path, kubectl_bin: Path,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tools]:
    yield Tools(helm_bin, kubectl_bin, Path(kube_cluster.kubeconfig), tmp_path_factory.mktemp("charts"))


@pytest.mark.parametrize(
    ("chart", "namespace", "values"),
    [(cc.PARTY_CHART, "dry-fate-30000", PARTY_VALUES), (cc.EXCHANGE_CHART, "dry-fate-exchange", EXCHANGE_VALUES)],
    ids=["fate-party", "fate-exchange"],
)
def test_server_side_dry_run_on_the_120_apiserver(tools: Tools, chart: Path, namespace: str,
                                                  values: dict[str, Any]) -> None:
    tools.ensure_namespace(namespace)
    release = json.loads(tools.helm(
        "install", "dry", str(chart), "--namespace", namespace, "--dry-run=server", "--output", "json",
        "-f", tools.values_file(namespace, values)))
    docs = [d for d in yaml.safe_load_all(release["manifest"]) if d]
    kinds = {(d["apiVersion"], d["kind"]) for d in docs}
    # helm saw the 1.20 server's API: the PSP flag renders, the exchange's PDBs fall back to v1beta1.
    assert ("policy/v1beta1", "PodSecurityPolicy") in kinds
    if chart == cc.EXCHANGE_CHART:
        assert ("policy/v1beta1", "PodDisruptionBudget") in kinds
    # The apiserver itself admits and validates every object (nothing is persisted).
    out = tools.kubectl("apply", "--dry-run=server", "-n", namespace, "-o", "name", "-f", "-",
                        stdin=release["manifest"])
    applied = {line.split("/", 1)[0].split(".", 1)[0] for line in out.split()}
    assert {"deployment", "service", "configmap", "podsecuritypolicy"} <= applied
    assert len(out.split()) == len(docs)


def test_install_then_identical_upgrade_changes_nothing(tools: Tools) -> None:
    namespace, release = "fate-30000-idem", "fate-30000"
    tools.ensure_namespace(namespace)
    values = tools.values_file("idem", PARTY_VALUES)
    try:
        tools.helm("upgrade", "--install", release, str(cc.PARTY_CHART), "-n", namespace, "-f", values,
                   "--timeout", "120s")
        before = {name: tools.get("deployment", name, namespace) for name in ("python", "nginx", "mysql")}
        secret = tools.get("secret", cc.MYSQL_SECRET, namespace)["data"]
        pvc = tools.get("pvc", cc.pvc_name("python"), namespace)
        assert pvc["spec"]["storageClassName"] == "vsan-default-storage-policy"

        tools.helm("upgrade", "--install", release, str(cc.PARTY_CHART), "-n", namespace, "-f", values,
                   "--timeout", "120s")
        for name, old in before.items():
            new = tools.get("deployment", name, namespace)
            assert new["metadata"]["generation"] == old["metadata"]["generation"], f"{name} was rolled"
            assert (new["spec"]["template"]["metadata"].get("annotations")
                    == old["spec"]["template"]["metadata"].get("annotations"))
        assert tools.get("secret", cc.MYSQL_SECRET, namespace)["data"] == secret, "the password was regenerated"
    finally:
        subprocess.run([str(tools.helm_bin), "--kubeconfig", str(tools.kubeconfig), "uninstall", release,
                        "-n", namespace, "--wait", "--timeout", "120s"],
                       capture_output=True, text=True, timeout=180, check=False)
    # PVCs outlive the release (helm.sh/resource-policy: keep): a reinstall finds its data.
    kept = json.loads(tools.kubectl("get", "pvc", "-n", namespace, "-o", "json"))["items"]
    assert {p["metadata"]["name"] for p in kept} == {cc.pvc_name(c) for c in ("python", "mysql", "pulsar",
                                                                                "namenode", "datanode")}
    tools.kubectl("delete", "namespace", namespace, "--wait=false")
