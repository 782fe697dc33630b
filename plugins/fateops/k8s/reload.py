"""Telling traffic-server to load a new SNI route table — once per table change, in EVERY replica.

fateops runs the exchange chart with ``rollOnRouteChange: false``: a new route table updates the
``traffic-server-route-table`` ConfigMap, the kubelet refreshes the mounted file (a directory mount,
not subPath), and ``traffic_ctl config reload`` makes it effective. The seed reloads ONE pod; with two
replicas behind the load balancer the other would keep serving the old table, so the reload runs in
every Running+Ready traffic-server pod (a pod that starts later reads the new file at start).

Idempotency: only after every replica reloaded is the ConfigMap annotated with the sha256 of the
table that was loaded (:data:`RELOADED_ANNOTATION`). A rerun reloads only when the table's current sha
differs — so a second DAG run execs nothing, and a run that failed in any replica reloads them all
next time (a reload of an unchanged table is harmless). Before the exec each pod is annotated with
the same sha: updating a pod makes the kubelet sync it, which refreshes its ConfigMap volumes now
instead of at its next periodic sync.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from fateops.exceptions import KubernetesError
from fateops.k8s import chart_contract as cc
from fateops.k8s.access import REQUEST_TIMEOUT_S
from fateops.k8s.clients import KubeClients
from fateops.k8s.pods import exec_in_pod, ready_pods

RELOADED_ANNOTATION = "fateops.io/reloaded-sni-sha256"
POD_TABLE_ANNOTATION = "fateops.io/sni-sha256"


@dataclass(frozen=True)
class ReloadOutcome:
    """Whether a reload ran, in which pods, and for which table."""

    reloaded: bool
    table_sha256: str
    pods: tuple[str, ...] = ()
    output: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["pods"] = list(self.pods)
        return out


def sni_table(kube: KubeClients, namespace: str) -> tuple[str, str, dict[str, str]]:
    """(sni.yaml text, its sha256, the ConfigMap's annotations) as stored in the cluster."""
    from kubernetes import client

    name, key = cc.EXCHANGE_SNI_CONFIGMAP
    try:
        cm = kube.core.read_namespaced_config_map(name, namespace, _request_timeout=REQUEST_TIMEOUT_S)
    except client.ApiException as err:
        raise KubernetesError(f"configmap {namespace}/{name} on {kube.access.where}: {err.status} {err.reason}",
                              fix="the exchange release must be installed first (fate_exchange_federate does it)"
                              ) from err
    text = (cm.data or {}).get(key, "")
    return text, hashlib.sha256(text.encode()).hexdigest(), dict(cm.metadata.annotations or {})


def _reload_pod(kube: KubeClients, namespace: str, pod: str, sha: str, timeout_s: float) -> str:
    kube.core.patch_namespaced_pod(pod, namespace, {"metadata": {"annotations": {POD_TABLE_ANNOTATION: sha}}},
                                   _request_timeout=REQUEST_TIMEOUT_S)
    result = exec_in_pod(kube, namespace, pod, cc.TRAFFIC_SERVER_CONTAINER, cc.TRAFFIC_SERVER_RELOAD_COMMAND,
                         timeout_s=timeout_s)
    if result.exit_code != 0:
        tail = (result.stderr or result.stdout).strip()[-800:]
        raise KubernetesError(
            f"`{' '.join(cc.TRAFFIC_SERVER_RELOAD_COMMAND)}` in {namespace}/{pod} exited {result.exit_code}: {tail}",
            fix=f"`kubectl -n {namespace} logs {pod} -c {cc.TRAFFIC_SERVER_CONTAINER}`; a malformed sni.yaml is "
                "rejected by traffic-server — check the route table in the ConfigMap "
                f"{cc.EXCHANGE_SNI_CONFIGMAP[0]}")
    return result.stdout.strip()[-500:]


def reload_if_changed(kube: KubeClients, namespace: str, release: str, *, timeout_s: float = 60.0) -> ReloadOutcome:
    """Reload every ready traffic-server pod unless the current SNI table was already reloaded."""
    _, sha, annotations = sni_table(kube, namespace)
    if annotations.get(RELOADED_ANNOTATION) == sha:
        return ReloadOutcome(False, sha)
    pods = ready_pods(kube, namespace, cc.label_selector(cc.EXCHANGE_CHART_NAME, "traffic-server", release))
    outputs = [_reload_pod(kube, namespace, pod, sha, timeout_s) for pod in pods]
    name = cc.EXCHANGE_SNI_CONFIGMAP[0]
    kube.core.patch_namespaced_config_map(name, namespace, {"metadata": {"annotations": {RELOADED_ANNOTATION: sha}}},
                                          _request_timeout=REQUEST_TIMEOUT_S)
    return ReloadOutcome(True, sha, tuple(pods), "\n".join(o for o in outputs if o))
