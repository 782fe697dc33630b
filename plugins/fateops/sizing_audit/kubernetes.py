"""(a) A Kubernetes party: its release as helm renders it for its cluster, the cluster's schedulable nodes
and its storage/ingress classes, against the seed's guidelines.

Verdicts come from :mod:`fateops.k8s.sizing`'s own checks applied to one subject at a time, so this audit
and the bootstrap preflight never disagree about what falls short. Node sizes are *allocatable*, not
what is free right now: the audit is about the cluster's shape, not today's load.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fateops.exceptions import KubernetesError
from fateops.k8s import sizing
from fateops.k8s.sizing import NodeCapacity, SizingRules
from fateops.sizing_audit.findings import Finding, cpu_mem, finding, party_scope

if TYPE_CHECKING:
    from fateops.backends.kubernetes import KubernetesBackend
    from fateops.federation import Federation, KubernetesPlacement, Party
    from fateops.k8s.clients import KubeClients

__all__ = ["audit_kubernetes", "audit_release"]

Manifests = Sequence[Mapping[str, Any]]


def audit_release(scope: str, manifests: Manifests, nodes: Sequence[NodeCapacity], rules: SizingRules, *,
                  dataset_bytes: Decimal | None = None) -> list[Finding]:
    """The rendered release and the schedulable nodes against the guidelines (pure: unit-testable)."""
    return [*_node_findings(scope, manifests, nodes, rules), *_pod_findings(scope, manifests, nodes, rules),
            *_volume_findings(scope, manifests, rules, dataset_bytes)]


def _node_findings(scope: str, manifests: Manifests, nodes: Sequence[NodeCapacity],
                   rules: SizingRules) -> list[Finding]:
    if not nodes:
        return [Finding(scope, "nodes", "schedulable nodes", "blocker", "no Ready, schedulable, untainted node",
                        "at least one", "`kubectl get nodes`: uncordon or untaint the workers, or add some")]
    g = rules.default
    out = [finding(scope, f"node {n.name}", "node allocatable",
                   "warning" if sizing.check_nodes([n], [], rules) else None, cpu_mem(n.cpu, n.memory),
                   f"≥ {cpu_mem(g.cpu, g.memory)} (one guideline-sized pod)",
                   "use a larger VM class for the worker node pool (vm_classes.workers in sizing.yaml)")
           for n in nodes]
    workers = [w for w in sizing.workloads(manifests) if sizing.component_of(w) == sizing.SPARK_WORKER]
    if workers:
        sw = rules.guide(sizing.SPARK_WORKER)
        replicas = sum(int(w["spec"].get("replicas", 1)) for w in workers)
        able = sum(1 for n in nodes if n.cpu >= sw.cpu and n.memory >= sw.memory)
        short = len(sizing.check_nodes(nodes, workers, rules)) > len(sizing.check_nodes(nodes, [], rules))
        out.append(finding(scope, sizing.SPARK_WORKER, "one Spark worker per node", "warning" if short else None,
                           f"{able} node(s) with ≥ {cpu_mem(sw.cpu, sw.memory)} allocatable",
                           f"{-(-replicas // max(1, rules.spark_workers_per_node))} for {replicas} worker(s)",
                           "add worker nodes of that size, or lower spark.worker.replicas in the party's values"))
    return out


def _pod_findings(scope: str, manifests: Manifests, nodes: Sequence[NodeCapacity],
                  rules: SizingRules) -> list[Finding]:
    out: list[Finding] = []
    for obj in sizing.workloads(manifests):
        name = sizing.component_of(obj)
        cpu, mem = sizing.pod_requests(obj["spec"]["template"]["spec"], name)
        g = rules.guide(name)
        out.append(finding(scope, name, "pod requests", "warning" if sizing.check_pods([obj], rules) else None,
                           cpu_mem(cpu, mem), f"≥ {cpu_mem(g.cpu, g.memory)}",
                           f"raise the {name} pod's resources.requests in the party's kubernetes.values "
                           "(fine to leave on a test cluster)"))
        if nodes and not any(n.cpu >= cpu and n.memory >= mem for n in nodes):
            big = max(nodes, key=lambda n: (n.cpu, n.memory))
            out.append(Finding(scope, name, "fits a node", "blocker", f"requests {cpu_mem(cpu, mem)}",
                               f"≤ a node's allocatable (largest: {big.name} {cpu_mem(big.cpu, big.memory)})",
                               f"the {name} pod would stay Pending: lower its requests or add a larger node"))
    return out


def _volume_findings(scope: str, manifests: Manifests, rules: SizingRules,
                     dataset_bytes: Decimal | None) -> list[Finding]:
    out: list[Finding] = []
    for obj in manifests:
        if obj.get("kind") != "PersistentVolumeClaim":
            continue
        name, component = obj["metadata"]["name"], sizing.component_of(obj)
        size = sizing.quantity(((obj["spec"].get("resources") or {}).get("requests") or {}).get("storage", "0"),
                               f"pvc {name}")
        required, note = f"≥ {sizing.fmt_mem(rules.min_volume)}", ""
        multiple = rules.dataset_multiple.get(component)
        if multiple is not None and dataset_bytes is not None:
            required += f" and ≥ {multiple}× the {sizing.fmt_mem(dataset_bytes)} dataset"
        elif multiple is not None:
            note = f"no dataset size given: the {multiple}× dataset rule was not checked"
        short = sizing.check_volumes([obj], rules, dataset_bytes)
        out.append(finding(scope, f"volume {name}", "volume size", "warning" if short else None,
                           sizing.fmt_mem(size), required,
                           f"raise the {component} persistence size in the party's kubernetes.values", note))
    return out


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
