"""Can this cluster host the party? Checked before anything is created in it.

Blockers raise (unreachable cluster, a named storage class or ingress class that does not exist,
a namespace being deleted); everything the seed's sizing guidelines would flag — small nodes, too
few nodes for one Spark worker each, pods or volumes below the recommendation — comes back as
warnings, because a test cluster is small on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fateops.exceptions import KubernetesError
from fateops.federation import KubernetesPlacement
from fateops.k8s import sizing
from fateops.k8s.access import REQUEST_TIMEOUT_S
from fateops.k8s.clients import KubeClients

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")


def check_storage_class(kube: KubeClients, where: KubernetesPlacement, persistence: bool) -> list[str]:
    """The named storage class must exist; without one, a default class should (warning)."""
    if not persistence:
        return []
    classes = kube.storage.list_storage_class(_request_timeout=REQUEST_TIMEOUT_S).items
    names = sorted(c.metadata.name for c in classes)
    if where.storage_class:
        if where.storage_class not in names:
            raise KubernetesError(
                f"storage class {where.storage_class!r} does not exist on {kube.access.where} "
                f"(it has: {', '.join(names) or 'none'})",
                fix="set kubernetes.storage_class of this party to one of the listed classes (on Tanzu the vSAN "
                    "policy class, e.g. vsan-default-storage-policy)")
        return []
    defaults = [c.metadata.name for c in classes
                if any((c.metadata.annotations or {}).get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS)]
    if not defaults:
        return [f"no storage_class is set and {kube.access.where} has no default storage class: the party's "
                "PersistentVolumeClaims will stay Pending"]
    return []


def check_ingress_class(kube: KubeClients, where: KubernetesPlacement) -> list[str]:
    """The named ingress class must exist (IngressClass API, Kubernetes 1.19+)."""
    from kubernetes import client

    if not where.ingress_class:
        return []
    try:
        classes = kube.networking.list_ingress_class(_request_timeout=REQUEST_TIMEOUT_S).items
    except client.ApiException as err:
        if err.status == 404:
            return [f"cannot verify ingress class {where.ingress_class!r}: the cluster has no IngressClass API"]
        raise
    names = sorted(c.metadata.name for c in classes)
    if where.ingress_class not in names:
        raise KubernetesError(
            f"ingress class {where.ingress_class!r} does not exist on {kube.access.where} "
            f"(it has: {', '.join(names) or 'none'})",
            fix="install the ingress controller first (the seed's step 1: ingress-nginx with a LoadBalancer "
                "service) or set kubernetes.ingress_class to an existing class")
    return []


def capabilities(kube: KubeClients, version: str) -> list[str]:
    """The API versions our charts test with ``.Capabilities.APIVersions.Has`` (PSP, PDB), as helm
    install would see them on this cluster."""
    from kubernetes import client

    groups = client.ApisApi(kube.api).get_api_versions(_request_timeout=REQUEST_TIMEOUT_S).groups or []
    served = {v.group_version for g in groups for v in g.versions or []}
    out = sorted(served)
    minor = _minor(version)
    if "policy/v1beta1" in served and minor is not None and minor < 25:
        out.append("policy/v1beta1/PodSecurityPolicy")
    if "policy/v1beta1" in served:
        out.append("policy/v1beta1/PodDisruptionBudget")
    if "policy/v1" in served:
        out.append("policy/v1/PodDisruptionBudget")
    return out


def schedulable_nodes(kube: KubeClients) -> list[sizing.NodeCapacity]:
    """Ready, schedulable nodes without NoSchedule taints, with their allocatable CPU and memory."""
    out: list[sizing.NodeCapacity] = []
    for node in kube.core.list_node(_request_timeout=REQUEST_TIMEOUT_S).items:
        ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
        tainted = any(t.effect in ("NoSchedule", "NoExecute") for t in node.spec.taints or [])
        if not ready or node.spec.unschedulable or tainted:
            continue
        alloc = node.status.allocatable or {}
        out.append(sizing.NodeCapacity(node.metadata.name, sizing.quantity(alloc.get("cpu", "0"), "cpu"),
                                       sizing.quantity(alloc.get("memory", "0"), "memory")))
    return out


def preflight_party(kube: KubeClients, where: KubernetesPlacement, manifests: list[Mapping[str, Any]], *,
                    rules: sizing.SizingRules | None = None, dataset_bytes: Decimal | None = None) -> list[str]:
    """Every check for one party on ``manifests`` (the release rendered with :func:`capabilities`);
    returns the warnings (blockers raise :class:`KubernetesError`)."""
    from fateops.k8s.namespaces import namespace_exists

    version = kube.server_version()

    if namespace_exists(kube, where.namespace):
        ns = kube.core.read_namespace(where.namespace, _request_timeout=REQUEST_TIMEOUT_S)
        if ns.status and ns.status.phase == "Terminating":
            raise KubernetesError(f"namespace {where.namespace} on {kube.access.where} is being deleted",
                                  fix="wait until it is gone, then run again")
    rules = rules or sizing.load_rules()
    persistence = any(m.get("kind") == "PersistentVolumeClaim" for m in manifests)
    warnings = [*check_storage_class(kube, where, persistence), *check_ingress_class(kube, where)]
    warnings += sizing.check_nodes(schedulable_nodes(kube), manifests, rules)
    warnings += sizing.check_pods(manifests, rules)
    warnings += sizing.check_volumes(manifests, rules, dataset_bytes)
    minor = _minor(version)
    if where.pod_security_policy and minor is not None and minor >= 25:
        warnings.append(f"pod_security_policy is set but the cluster runs {version} (no PodSecurityPolicy API "
                        "since 1.25): Pod Security Admission labels apply instead")
    return warnings


def _minor(version: str) -> int | None:
    parts = version.lstrip("v").split(".")
    try:
        return int("".join(ch for ch in parts[1] if ch.isdigit()))
    except (IndexError, ValueError):
        return None
