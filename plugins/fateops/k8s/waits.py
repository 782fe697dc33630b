"""Waiting, with deadlines, for a release's workloads to be ready and its load balancers to get IPs.

Every wait has an absolute deadline and, when it passes, fails naming *what* is late (the
Deployment or Service), what was seen last (e.g. a pod's scheduling message) and what to check —
the seed's admins found these by ``kubectl get``/``describe``; the error does it for them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from fateops.exceptions import KubernetesError
from fateops.k8s.access import REQUEST_TIMEOUT_S
from fateops.k8s.clients import KubeClients


@dataclass
class Deadline:
    """An absolute monotonic deadline, started at construction."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    @property
    def remaining(self) -> float:
        return max(0.0, self.started + self.seconds - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining <= 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def sleep(self, interval: float) -> None:
        time.sleep(min(interval, self.remaining))


@dataclass(frozen=True)
class WorkloadState:
    """Readiness of one Deployment or StatefulSet."""

    kind: str
    name: str
    desired: int
    ready: int
    updated: int
    current_generation: bool

    @property
    def is_ready(self) -> bool:
        return self.current_generation and self.ready >= self.desired and self.updated >= self.desired

    def describe(self) -> str:
        lag = "" if self.current_generation else ", rollout not observed yet"
        return f"{self.kind.lower()} {self.name}: {self.ready}/{self.desired} ready, {self.updated} updated{lag}"


def workload_states(kube: KubeClients, namespace: str, selector: str) -> list[WorkloadState]:
    """Deployments and StatefulSets matching ``selector`` in ``namespace``."""
    apps = kube.apps
    states: list[WorkloadState] = []
    for kind, items in (
        ("Deployment", apps.list_namespaced_deployment(namespace, label_selector=selector,
                                                       _request_timeout=REQUEST_TIMEOUT_S).items),
        ("StatefulSet", apps.list_namespaced_stateful_set(namespace, label_selector=selector,
                                                          _request_timeout=REQUEST_TIMEOUT_S).items),
    ):
        for obj in items:
            desired = obj.spec.replicas if obj.spec.replicas is not None else 1
            status = obj.status
            states.append(WorkloadState(
                kind, obj.metadata.name, desired, status.ready_replicas or 0, status.updated_replicas or 0,
                (status.observed_generation or 0) >= (obj.metadata.generation or 0)))
    return sorted(states, key=lambda s: (s.kind, s.name))


def wait_workloads_ready(kube: KubeClients, namespace: str, selector: str, deadline: Deadline, *,
                         poll_s: float = 1.0, expect_some: bool = True) -> list[WorkloadState]:
    """Block until every matching workload is ready; :class:`KubernetesError` naming the laggards."""
    while True:
        states = workload_states(kube, namespace, selector)
        pending = [s for s in states if not s.is_ready]
        if (states or not expect_some) and not pending:
            return states
        if deadline.expired:
            break
        deadline.sleep(poll_s)
    if not states:
        raise KubernetesError(
            f"no Deployment/StatefulSet matching {selector} in {namespace} on {kube.access.where} "
            f"after {deadline.elapsed:.0f}s",
            fix=f"check the release installed: `helm -n {namespace} list` and `kubectl -n {namespace} get all`")
    hints = [f"{s.describe()}{_pod_hint(kube, namespace, s)}" for s in pending]
    first = pending[0]
    raise KubernetesError(
        f"{len(pending)} workload(s) in {namespace} on {kube.access.where} not ready after "
        f"{deadline.elapsed:.0f}s: " + "; ".join(hints),
        fix=f"`kubectl -n {namespace} describe {first.kind.lower()} {first.name}` and the pods' events "
            "(image pulls, PVC binding to the storage class, node capacity); raise the readiness deadline "
            "if the cluster is just slow")


def _pod_hint(kube: KubeClients, namespace: str, state: WorkloadState) -> str:
    """The first visible reason a workload's pods are not ready (scheduling, waiting container)."""
    try:
        read = (kube.apps.read_namespaced_deployment if state.kind == "Deployment"
                else kube.apps.read_namespaced_stateful_set)
        labels = read(state.name, namespace, _request_timeout=REQUEST_TIMEOUT_S).spec.selector.match_labels or {}
        pods = kube.core.list_namespaced_pod(namespace, label_selector=",".join(f"{k}={v}" for k, v in labels.items()),
                                             _request_timeout=REQUEST_TIMEOUT_S).items
    except Exception:  # a hint is best-effort; the timeout itself is the error
        return ""
    for pod in pods:
        status = pod.status
        for cond in status.conditions or []:
            if cond.type == "PodScheduled" and cond.status == "False":
                return f" (pod {pod.metadata.name} unschedulable: {cond.message or cond.reason})"
        for cs in status.container_statuses or []:
            if cs.state and cs.state.waiting and cs.state.waiting.reason:
                return f" (pod {pod.metadata.name} container {cs.name} {cs.state.waiting.reason})"
        if status.phase != "Running":
            return f" (pod {pod.metadata.name} {status.phase})"
    return " (no pods yet)" if not pods else ""


def load_balancer_ips(kube: KubeClients, namespace: str, names: Iterable[str] | None = None,
                      selector: str | None = None) -> dict[str, str | None]:
    """Service name → its first load-balancer ingress IP (or hostname), None while pending.

    ``names`` picks Services by name (missing ones map to None), ``selector`` all LoadBalancer
    Services matching it.
    """
    from kubernetes import client

    core = kube.core
    if names is not None:
        out: dict[str, str | None] = {}
        for name in names:
            try:
                svc = core.read_namespaced_service(name, namespace, _request_timeout=REQUEST_TIMEOUT_S)
            except client.ApiException as err:
                if err.status != 404:
                    raise
                out[name] = None
                continue
            out[name] = _ingress(svc)
        return out
    items = core.list_namespaced_service(namespace, label_selector=selector,
                                         _request_timeout=REQUEST_TIMEOUT_S).items
    return {s.metadata.name: _ingress(s) for s in items if s.spec.type == "LoadBalancer"}


def _ingress(svc: object) -> str | None:
    ingress = getattr(getattr(getattr(svc, "status", None), "load_balancer", None), "ingress", None) or []
    first = ingress[0] if ingress else None
    return (first.ip or first.hostname) if first is not None else None


def _service_exists(kube: KubeClients, namespace: str, name: str) -> bool:
    from kubernetes import client

    try:
        kube.core.read_namespaced_service(name, namespace, _request_timeout=REQUEST_TIMEOUT_S)
    except client.ApiException as err:
        if err.status == 404:
            return False
        raise
    return True


def wait_load_balancer_ips(kube: KubeClients, namespace: str, deadline: Deadline, *,
                           names: Iterable[str] | None = None, selector: str | None = None,
                           poll_s: float = 1.0) -> dict[str, str]:
    """Block until every chosen LoadBalancer Service has an ingress IP; the error names each Service."""
    wanted = list(names) if names is not None else None
    while True:
        ips = load_balancer_ips(kube, namespace, wanted, selector)
        pending = sorted(name for name, ip in ips.items() if not ip)
        if ips and not pending:
            return {name: ip for name, ip in ips.items() if ip}
        if deadline.expired:
            break
        deadline.sleep(poll_s)
    if not ips:
        raise KubernetesError(f"no LoadBalancer Service matching {selector} in {namespace} on {kube.access.where}",
                              fix=f"check the release rendered its Services: `kubectl -n {namespace} get svc`")
    missing = [name for name in pending if not _service_exists(kube, namespace, name)]
    if missing:
        raise KubernetesError(
            f"service {namespace}/{missing[0]} does not exist on {kube.access.where}",
            fix=f"install the release first (fate_party_bootstrap for a party); `kubectl -n {namespace} get svc`")
    services = ", ".join(f"service {namespace}/{name}" for name in pending)
    raise KubernetesError(
        f"{services} on {kube.access.where} got no load-balancer IP after {deadline.elapsed:.0f}s",
        fix=f"check the cluster's load-balancer provider (NSX-T/Avi on Tanzu, MetalLB elsewhere) and "
            f"`kubectl -n {namespace} describe service {pending[0]}` events; the Exchange's route table "
            "needs this IP")
