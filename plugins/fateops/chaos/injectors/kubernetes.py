"""Faults on a party's (or the Exchange's) Kubernetes objects, through the kubernetes client.

Targets are found by the labels and names the charts promise (:mod:`fateops.k8s.chart_contract`):
a component's pods by ``app.kubernetes.io/{name,component}`` (+ instance), its Deployment by the
component name, a stateful component's volume by ``<component>-data``. Every client call carries a
request timeout. Recovery is what the real controllers do — a ReplicaSet recreating deleted pods,
the PV binder keeping a claim on its volume — observed through the API, not assumed.
"""

from __future__ import annotations

from typing import Any

from fateops.chaos.injectors.base import DrillContext, Injector, JobRef
from fateops.exceptions import DrillError, FateopsError, KubernetesError
from fateops.k8s.chart_contract import LABEL_PARTY_ID, label_selector, pvc_name

__all__ = ["DeletePods", "DeletePvcPod", "NetworkCut", "ScaleToZero", "pod_ready"]

REQUEST_TIMEOUT_S = 20
CUT_LABEL = "fateops.io/chaos-drill"


def pod_ready(pod: Any) -> bool:
    """Running, Ready and not being deleted."""
    if pod.metadata.deletion_timestamp or pod.status is None or pod.status.phase != "Running":
        return False
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def _api_error(err: Exception, what: str) -> FateopsError:
    if isinstance(err, FateopsError):  # e.g. no client in the context: already says what to fix
        return err
    status = getattr(err, "status", None)
    reason = getattr(err, "reason", None) or type(err).__name__
    return KubernetesError(f"{what}: {status or ''} {reason}".strip(),
                           fix="check the party's kubernetes connection and RBAC (pods, deployments/scale, "
                               "networkpolicies, persistentvolumeclaims in its namespace)")


class _KubeTarget(Injector):
    """Shared plumbing: which cluster/namespace/selector the spec's component lives in."""

    backend = "kubernetes"

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.namespace, self.release = self._placement()

    def _placement(self) -> tuple[str, str | None]:
        """Namespace and release of the target (no client needed: a dry run can describe it offline)."""
        if self.spec.chart == "fate-exchange":
            exchange = self.ctx.federation.exchange
            if exchange is None:
                raise DrillError("the federation has no exchange to drill", fix="add an 'exchange:' block")
            return exchange.kubernetes.namespace, exchange.kubernetes.release
        placement = self.ctx.require(f"party {self.ctx.party.party_id}'s kubernetes placement",
                                     self.ctx.party.kubernetes, "give the party a 'kubernetes:' block")
        return placement.namespace, self.ctx.party.release_name

    @property
    def api_client(self) -> Any:
        if self.spec.chart == "fate-exchange":
            return self.ctx.require("a client for the exchange's cluster", self.ctx.exchange_kube or self.ctx.kube,
                                    "pass the exchange's kubernetes connection")
        return self.ctx.require("a client for the party's cluster", self.ctx.kube,
                                "pass the party's kubernetes connection")

    @property
    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    @property
    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api_client)

    @property
    def selector(self) -> str:
        return label_selector(self.spec.chart, self.spec.component, self.release)

    def pods(self) -> list[Any]:
        try:
            return list(self.core.list_namespaced_pod(self.namespace, label_selector=self.selector,
                                                      _request_timeout=REQUEST_TIMEOUT_S).items)
        except Exception as err:
            raise _api_error(err, f"listing pods {self.selector} in {self.namespace}") from None

    def desired_replicas(self) -> int:
        """The Deployment's replicas (the chart names it after the component); the live count otherwise."""
        from kubernetes.client.rest import ApiException

        try:
            dep = self.apps.read_namespaced_deployment(self.spec.component, self.namespace,
                                                       _request_timeout=REQUEST_TIMEOUT_S)
            return int(dep.spec.replicas or 0)
        except ApiException as err:
            if err.status != 404:
                raise _api_error(err, f"reading deployment {self.spec.component}") from None
        return len(self.pods())


class DeletePods(_KubeTarget):
    """A component's pods crash: delete them (grace 0); the ReplicaSet must bring replacements up."""

    action = "delete_pods"
    self_healing = True

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.deleted: dict[str, str] = {}  # uid -> name
        self.desired = 0

    def describe(self) -> str:
        how_many = f"{self.spec.pods} pod(s)" if self.spec.pods else "every pod"
        return (f"delete {how_many} of {self.spec.chart}/{self.spec.component} in namespace {self.namespace} "
                f"({self.selector}, grace 0); heal: the ReplicaSet recreates them")

    def preflight(self) -> None:
        pods = self.pods()
        self.desired = self.desired_replicas()
        ready = [p for p in pods if pod_ready(p)]
        if not pods or len(ready) < max(1, self.desired):
            raise DrillError(f"{self.spec.component} in {self.namespace} is not healthy before the drill "
                             f"({len(ready)}/{self.desired} pods ready)",
                             fix="wait until the release is Ready; drills only break what is healthy")

    def inject(self, job: JobRef | None) -> None:
        from kubernetes import client

        self.desired = self.desired or self.desired_replicas()
        victims = [p for p in self.pods() if pod_ready(p)]
        limit = self.spec.pods
        for pod in victims[:limit] if limit else victims:
            try:
                self.core.delete_namespaced_pod(pod.metadata.name, self.namespace,
                                                body=client.V1DeleteOptions(grace_period_seconds=0),
                                                _request_timeout=REQUEST_TIMEOUT_S)
            except Exception as err:
                raise _api_error(err, f"deleting pod {pod.metadata.name}") from None
            self.deleted[pod.metadata.uid] = pod.metadata.name
        self.note(f"deleted pod(s) {', '.join(sorted(self.deleted.values()))} in {self.namespace}")

    def detected(self) -> bool:
        live = {p.metadata.uid: p for p in self.pods()}
        return all(uid not in live or not pod_ready(live[uid]) for uid in self.deleted)

    def recovered(self) -> bool:
        ready = [p for p in self.pods() if pod_ready(p)]
        fresh = [p for p in ready if p.metadata.uid not in self.deleted]
        need_fresh = min(len(self.deleted), self.desired) if self.desired else len(self.deleted)
        return len(ready) >= max(1, self.desired) and len(fresh) >= need_fresh

    def events(self) -> list[dict[str, Any]]:
        fresh = [p for p in self.pods() if p.metadata.uid not in self.deleted]
        def ready_since(pod: Any) -> str | None:
            cond = next((c for c in (pod.status.conditions or []) if c.type == "Ready" and c.status == "True"), None)
            return cond.last_transition_time.isoformat() if cond and cond.last_transition_time else None

        return [{"kind": "PodReplaced", "pod": p.metadata.name, "ready": pod_ready(p), "node": p.spec.node_name,
                 "created": p.metadata.creation_timestamp.isoformat() if p.metadata.creation_timestamp else None,
                 "ready_since": ready_since(p),
                 "message": f"{p.metadata.name} on {p.spec.node_name} replaced {', '.join(self.deleted.values())}"}
                for p in fresh]

    def lift(self) -> None:
        """The controller-manager heals; nothing for fateops to undo."""


class ScaleToZero(_KubeTarget):
    """A component is down for good: its Deployment scaled to 0; heal scales it back."""

    action = "scale_to_zero"

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.original: int | None = None

    def describe(self) -> str:
        held = f"for {self.spec.duration_s:.0f}s" if self.spec.duration_s else "until the job's wait has ended"
        return (f"scale deployment {self.spec.component} in {self.namespace} to 0 {held}; "
                f"heal: scale it back to its replicas")

    def _scale(self, replicas: int) -> None:
        try:
            self.apps.patch_namespaced_deployment_scale(self.spec.component, self.namespace,
                                                        {"spec": {"replicas": replicas}},
                                                        _request_timeout=REQUEST_TIMEOUT_S)
        except Exception as err:
            raise _api_error(err, f"scaling deployment {self.spec.component} to {replicas}") from None

    def _deployment(self) -> Any:
        try:
            return self.apps.read_namespaced_deployment(self.spec.component, self.namespace,
                                                        _request_timeout=REQUEST_TIMEOUT_S)
        except Exception as err:
            raise _api_error(err, f"reading deployment {self.spec.component}") from None

    def preflight(self) -> None:
        dep = self._deployment()
        if not dep.spec.replicas or (dep.status.ready_replicas or 0) < dep.spec.replicas:
            raise DrillError(f"deployment {self.spec.component} in {self.namespace} is not fully ready",
                             fix="wait until the release is Ready; drills only break what is healthy")

    def inject(self, job: JobRef | None) -> None:
        self.original = int(self._deployment().spec.replicas or 1)
        self._scale(0)
        self.note(f"deployment {self.namespace}/{self.spec.component} scaled {self.original} → 0")

    def detected(self) -> bool:
        return not any(pod_ready(p) for p in self.pods())

    def recovered(self) -> bool:
        dep = self._deployment()
        return self.original is not None and (dep.status.ready_replicas or 0) >= self.original

    def lift(self) -> None:
        if self.original is None:
            return
        if int(self._deployment().spec.replicas or 0) != self.original:
            self._scale(self.original)
            self.note(f"deployment {self.namespace}/{self.spec.component} scaled back to {self.original}")

    def record(self) -> dict[str, Any]:
        return {"original": self.original}

    def restore(self, record: dict[str, Any]) -> None:
        self.original = record.get("original")


class NetworkCut(_KubeTarget):
    """The party is cut off the Exchange: a deny-all NetworkPolicy on its pods (ingress and egress).

    Enforced by any NetworkPolicy-capable CNI (Antrea on Tanzu, Calico…); on a cluster without one the
    object is accepted but inert — the drill still proves it is applied and removed on time.
    """

    action = "network_cut"

    @property
    def policy_name(self) -> str:
        return f"fateops-chaos-cut-{self.ctx.party.party_id}"

    def describe(self) -> str:
        held = f"for {self.spec.duration_s:.0f}s" if self.spec.duration_s else "until the job's wait has ended"
        return (f"apply NetworkPolicy {self.policy_name} (deny all ingress+egress of party "
                f"{self.ctx.party.party_id}'s pods) in {self.namespace} {held}; heal: delete it")

    def _policy(self) -> Any:
        from kubernetes import client

        return client.V1NetworkPolicy(
            metadata=client.V1ObjectMeta(name=self.policy_name, labels={CUT_LABEL: "network-cut"}),
            spec=client.V1NetworkPolicySpec(
                pod_selector=client.V1LabelSelector(match_labels={LABEL_PARTY_ID: str(self.ctx.party.party_id)}),
                policy_types=["Ingress", "Egress"]))

    @property
    def net(self) -> Any:
        from kubernetes import client

        return client.NetworkingV1Api(self.api_client)

    def exists(self) -> bool:
        from kubernetes.client.rest import ApiException

        try:
            self.net.read_namespaced_network_policy(self.policy_name, self.namespace,
                                                    _request_timeout=REQUEST_TIMEOUT_S)
            return True
        except ApiException as err:
            if err.status == 404:
                return False
            raise _api_error(err, f"reading NetworkPolicy {self.policy_name}") from None

    def preflight(self) -> None:
        if self.exists():
            raise DrillError(f"NetworkPolicy {self.policy_name} already exists in {self.namespace}",
                             fix="a previous drill was not healed: run the cleanup (`fateops chaos heal`)")

    def inject(self, job: JobRef | None) -> None:
        try:
            self.net.create_namespaced_network_policy(self.namespace, self._policy(),
                                                      _request_timeout=REQUEST_TIMEOUT_S)
        except Exception as err:
            raise _api_error(err, f"creating NetworkPolicy {self.policy_name}") from None
        self.note(f"NetworkPolicy {self.namespace}/{self.policy_name} applied (deny all)")

    def detected(self) -> bool:
        return self.exists()

    def recovered(self) -> bool:
        return not self.exists()

    def lift(self) -> None:
        from kubernetes.client.rest import ApiException

        try:
            self.net.delete_namespaced_network_policy(self.policy_name, self.namespace,
                                                      _request_timeout=REQUEST_TIMEOUT_S)
            self.note(f"NetworkPolicy {self.namespace}/{self.policy_name} removed")
        except ApiException as err:
            if err.status != 404:
                raise _api_error(err, f"deleting NetworkPolicy {self.policy_name}") from None


class DeletePvcPod(DeletePods):
    """A volume's pod loses its node/disk: the pod is deleted; its replacement must mount the *same* PV."""

    action = "delete_pvc_pod"

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.claim = pvc_name(spec.component)
        self.volume: str | None = None
        self.claim_uid: str | None = None

    def describe(self) -> str:
        return (f"delete the pod of {self.spec.component} that mounts PVC {self.claim} in {self.namespace}; "
                f"heal: the ReplicaSet recreates it on the same volume")

    def _pvc(self) -> Any:
        try:
            return self.core.read_namespaced_persistent_volume_claim(self.claim, self.namespace,
                                                                     _request_timeout=REQUEST_TIMEOUT_S)
        except Exception as err:
            raise _api_error(err, f"reading PVC {self.claim}") from None

    def _mounts_claim(self, pod: Any) -> bool:
        return any(v.persistent_volume_claim and v.persistent_volume_claim.claim_name == self.claim
                   for v in (pod.spec.volumes or []))

    def pods(self) -> list[Any]:
        return [p for p in super().pods() if self._mounts_claim(p)]

    def preflight(self) -> None:
        pvc = self._pvc()
        if pvc.status.phase != "Bound":
            raise DrillError(f"PVC {self.claim} in {self.namespace} is {pvc.status.phase}, not Bound",
                             fix="fix the storage class / provisioner before drilling the volume")
        super().preflight()

    def inject(self, job: JobRef | None) -> None:
        pvc = self._pvc()
        self.volume, self.claim_uid = pvc.spec.volume_name, pvc.metadata.uid
        self.note(f"PVC {self.claim} is Bound to volume {self.volume}")
        super().inject(job)

    def preserved(self) -> dict[str, tuple[bool, str]]:
        pvc = self._pvc()
        same = (pvc.status.phase == "Bound" and pvc.spec.volume_name == self.volume
                and pvc.metadata.uid == self.claim_uid)
        fresh = [p for p in self.pods() if p.metadata.uid not in self.deleted and pod_ready(p)]
        detail = (f"PVC {self.claim} {pvc.status.phase} on {pvc.spec.volume_name} (before: {self.volume}); "
                  f"{len(fresh)} replacement pod(s) mount it")
        return {"pvc_binding": (same and bool(fresh), detail)}
