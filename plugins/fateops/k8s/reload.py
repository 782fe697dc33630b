"""Telling traffic-server to load a new SNI route table — once per table change (the seed's step 4).

The exchange chart runs with ``rollOnRouteChange: false``: a new route table updates the
``traffic-server-route-table`` ConfigMap, the kubelet refreshes the mounted file, and
``traffic_ctl config reload`` in ONE traffic-server pod makes it effective (as the seed does).

Idempotency: after a successful reload the ConfigMap is annotated with the sha256 of the table that
was loaded (:data:`RELOADED_ANNOTATION`). A rerun reloads only when the table's current sha differs
— so a second DAG run execs nothing, and a run interrupted between upgrade and reload still
reloads next time. Before the exec the chosen pod is annotated with the same sha: updating a pod
makes the kubelet sync it, which refreshes its ConfigMap volumes now instead of at its next
periodic sync (up to a minute or more later).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from fateops.exceptions import KubernetesError
from fateops.k8s import chart_contract as cc
from fateops.k8s.access import REQUEST_TIMEOUT_S
from fateops.k8s.clients import KubeClients
from fateops.k8s.pods import exec_in_pod, pick_ready_pod

RELOADED_ANNOTATION = "fateops.io/reloaded-sni-sha256"
POD_TABLE_ANNOTATION = "fateops.io/sni-sha256"


@dataclass(frozen=True)
class ReloadOutcome:
    """Whether a reload ran, where, and for which table."""

    reloaded: bool
    table_sha256: str
    pod: str | None = None
    output: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def reload_if_changed(kube: KubeClients, namespace: str, release: str, *, timeout_s: float = 60.0) -> ReloadOutcome:
    """Reload one traffic-server pod unless the current SNI table was already reloaded."""
    _, sha, annotations = sni_table(kube, namespace)
    if annotations.get(RELOADED_ANNOTATION) == sha:
        return ReloadOutcome(False, sha)
    pod = pick_ready_pod(kube, namespace, cc.label_selector(cc.EXCHANGE_CHART_NAME, "traffic-server", release),
                         deployment="traffic-server")
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
    name = cc.EXCHANGE_SNI_CONFIGMAP[0]
    kube.core.patch_namespaced_config_map(name, namespace, {"metadata": {"annotations": {RELOADED_ANNOTATION: sha}}},
                                          _request_timeout=REQUEST_TIMEOUT_S)
    return ReloadOutcome(True, sha, pod, result.stdout.strip()[-500:])
