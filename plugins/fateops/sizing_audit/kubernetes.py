"""(a) A Kubernetes party: its release as helm renders it for its cluster, the cluster's schedulable nodes
and its storage/ingress classes, against the seed's guidelines.

Verdicts are :mod:`fateops.k8s.sizing`'s structured checks turned into findings — the bootstrap preflight
renders the same checks as warnings — so the two never disagree about what falls short. Node sizes are
*allocatable*, not what is free right now: the audit is about the cluster's shape, not today's load.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fateops.exceptions import KubernetesError
from fateops.k8s import sizing
from fateops.k8s.sizing import NodeCapacity, SizingCheck, SizingRules
from fateops.sizing_audit.findings import Finding, Severity, finding, party_scope

if TYPE_CHECKING:
    from fateops.backends.kubernetes import KubernetesBackend
    from fateops.federation import Federation, KubernetesPlacement, Party
    from fateops.k8s.clients import KubeClients

__all__ = ["audit_kubernetes", "audit_release"]

Manifests = Sequence[Mapping[str, Any]]


def audit_release(scope: str, manifests: Manifests, nodes: Sequence[NodeCapacity], rules: SizingRules, *,
                  dataset_bytes: Decimal | None = None) -> list[Finding]:
    """The rendered release and the schedulable nodes against the guidelines (pure: unit-testable)."""
    if not nodes:
        head = [Finding(scope, "nodes", "schedulable nodes", "blocker", "no Ready, schedulable, untainted node",
                        "at least one", "`kubectl get nodes`: uncordon or untaint the workers, or add some")]
        checks = [*sizing.pod_checks(manifests, rules), *sizing.volume_checks(manifests, rules, dataset_bytes)]
        return head + [from_check(scope, c) for c in checks]
    spark = sizing.spark_worker_check(nodes, manifests, rules)
    checks = [*sizing.node_checks(nodes, rules), *([spark] if spark else []), *_pods_then_fit(manifests, nodes, rules),
              *sizing.volume_checks(manifests, rules, dataset_bytes)]
    return [from_check(scope, c) for c in checks]


def _pods_then_fit(manifests: Manifests, nodes: Sequence[NodeCapacity], rules: SizingRules) -> list[SizingCheck]:
    """Each pod's requests check, followed by its "fits a node" blocker when no node can hold it."""
    fits = {c.subject: c for c in sizing.pod_fit_checks(manifests, nodes)}
    out: list[SizingCheck] = []
    for check in sizing.pod_checks(manifests, rules):
        out.append(check)
        if check.subject in fits:
            out.append(fits[check.subject])
    return out


def from_check(scope: str, check: SizingCheck) -> Finding:
    """A finding from one of :mod:`fateops.k8s.sizing`'s checks (the preflight reads the same checks)."""
    short: Severity | None = ("blocker" if check.blocker else "warning") if check.short else None
    return finding(scope, check.subject, check.check, short, check.measured, check.required, check.fix, check.note)


def _class_findings(scope: str, kube: KubeClients, where: KubernetesPlacement, manifests: Manifests) -> list[Finding]:
    """Storage and ingress class, by the preflight's checks: a named class that does not exist blocks."""
    from fateops.k8s.preflight import check_ingress_class, check_storage_class

    checks: list[tuple[str, str, Callable[[], list[str]]]] = []
    if any(m.get("kind") == "PersistentVolumeClaim" for m in manifests):
        checks.append(("storage class", where.storage_class or "the cluster's default",
                       lambda: check_storage_class(kube, where, True)))
    if where.ingress_class:
        checks.append(("ingress class", where.ingress_class, lambda: check_ingress_class(kube, where)))
    out: list[Finding] = []
    for check, subject, run in checks:
        try:
            warnings = run()
        except KubernetesError as err:
            out.append(Finding(scope, subject, check, "blocker", err.message, "exists on the cluster", err.fix))
            continue
        out.append(finding(scope, subject, check, "warning" if warnings else None, "; ".join(warnings) or "exists",
                           "exists on the cluster", "name an existing class in the party's kubernetes: block"))
    return out


def audit_kubernetes(party: Party, federation: Federation, backend: KubernetesBackend, rules: SizingRules, *,
                     dataset_bytes: Decimal | None = None) -> list[Finding]:
    """Render the party's release as helm would install it on its cluster (offline ``helm template`` with
    the cluster's version and APIs), read nodes and classes, audit them. Nothing is created. An
    unreachable cluster or a release that does not render is one blocker finding, not an exception."""
    from fateops.k8s import chart_contract as cc
    from fateops.k8s import desired
    from fateops.k8s.clients import open_clients
    from fateops.k8s.preflight import capabilities, schedulable_nodes

    scope, where = party_scope(party), desired.placement(party)
    values = desired.party_values(federation, party, None)
    try:
        with open_clients(backend.access(where.connection)) as kube:
            version = kube.server_version()
            rendered = backend.helm(where.connection).template(
                party.release_name, cc.PARTY_CHART, where.namespace, values, kube_version=version,
                api_versions=capabilities(kube, version))
            classes = _class_findings(scope, kube, where, rendered)
            nodes = schedulable_nodes(kube)
    except KubernetesError as err:
        return [Finding(scope, f"cluster {where.connection}", "reachable, release renders", "blocker", err.message,
                        "the API server answers and helm renders the release", err.fix)]
    return [*classes, *audit_release(scope, rendered, nodes, rules, dataset_bytes=dataset_bytes)]
