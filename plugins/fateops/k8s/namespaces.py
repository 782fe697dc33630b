"""A party's (or the exchange's) namespace, labelled for Pod Security Admission — idempotently.

Kubernetes 1.25+ has no PodSecurityPolicy; a namespace's ``pod-security.kubernetes.io/*`` labels
decide which pods it admits. Our charts' pods satisfy "restricted", so that is the default level;
older clusters (Tanzu <= 1.24 with PSP) simply ignore the labels.
"""

from __future__ import annotations

from collections.abc import Mapping

from fateops.exceptions import KubernetesError
from fateops.k8s.access import REQUEST_TIMEOUT_S
from fateops.k8s.clients import KubeClients

PSA_PREFIX = "pod-security.kubernetes.io/"
MANAGED_BY = {"app.kubernetes.io/managed-by": "fateops"}


def psa_labels(level: str) -> dict[str, str]:
    """Enforce, audit and warn at ``level`` (versions pinned to ``latest``)."""
    if level not in ("privileged", "baseline", "restricted"):
        raise KubernetesError(f"unknown Pod Security level {level!r}", fix="use restricted, baseline or privileged")
    out: dict[str, str] = {}
    for mode in ("enforce", "audit", "warn"):
        out[f"{PSA_PREFIX}{mode}"] = level
        out[f"{PSA_PREFIX}{mode}-version"] = "latest"
    return out


def ensure_namespace(kube: KubeClients, name: str, *, pod_security: str = "restricted",
                     labels: Mapping[str, str] | None = None) -> bool:
    """Create ``name`` or converge its labels; returns True when something changed."""
    from kubernetes import client

    wanted = {**MANAGED_BY, **psa_labels(pod_security), **dict(labels or {})}
    core = kube.core
    try:
        current = core.read_namespace(name, _request_timeout=REQUEST_TIMEOUT_S)
    except client.ApiException as err:
        if err.status != 404:
            raise _error(kube, name, err) from err
        body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=wanted))
        try:
            core.create_namespace(body, _request_timeout=REQUEST_TIMEOUT_S)
            return True
        except client.ApiException as create_err:
            if create_err.status != 409:  # created meanwhile by a parallel task: converge it below
                raise _error(kube, name, create_err) from create_err
            current = core.read_namespace(name, _request_timeout=REQUEST_TIMEOUT_S)
    if current.status and current.status.phase == "Terminating":
        raise KubernetesError(f"namespace {name} on {kube.access.where} is being deleted",
                              fix=f"wait until `kubectl get namespace {name}` is gone, then run again")
    have = dict(current.metadata.labels or {})
    missing = {k: v for k, v in wanted.items() if have.get(k) != v}
    if not missing:
        return False
    try:
        core.patch_namespace(name, {"metadata": {"labels": missing}}, _request_timeout=REQUEST_TIMEOUT_S)
    except client.ApiException as err:
        raise _error(kube, name, err) from err
    return True


def namespace_exists(kube: KubeClients, name: str) -> bool:
    from kubernetes import client

    try:
        kube.core.read_namespace(name, _request_timeout=REQUEST_TIMEOUT_S)
    except client.ApiException as err:
        if err.status == 404:
            return False
        raise _error(kube, name, err) from err
    return True


def _error(kube: KubeClients, name: str, err: Exception) -> KubernetesError:
    status = getattr(err, "status", None)
    return KubernetesError(f"namespace {name} on {kube.access.where}: API error {status} {getattr(err, 'reason', '')}",
                           fix="the connection's user needs get/create/patch on namespaces "
                               "(`kubectl auth can-i create namespaces`)")
