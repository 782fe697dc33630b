"""The kubelet that is not there: simulated nodes and pod lifecycles for one real apiserver.

Run as its own process per cluster (``python -m tests.harness.nodesim --kubeconfig K ...``) so a
test can kill it like a crashed kubelet. It

* registers N nodes (``worker-0``...) with the configured capacity/allocatable, InternalIP 127.0.0.1
  and our HTTPS port as kubelet endpoint, and heartbeats them (status + Lease) so they stay Ready —
  unless a node is annotated ``sim.fateops.io/down: "true"``, which stops its heartbeats like a dead
  kubelet (the real node-lifecycle controller then marks it NotReady and taints it);
* binds pods the scheduler left alone (another ``schedulerName``, or still unbound after a grace),
  but never one the scheduler declared Unschedulable — sizing problems must stay visible;
* moves bound pods Pending → Running (IPs from a loopback test range, Ready conditions, container
  statuses) and finishes them by annotation: ``sim.fateops.io/run-seconds`` (finish after N s),
  ``sim.fateops.io/exit-code`` (non-zero → Failed, or CrashLoopBackOff under restartPolicy Always),
  ``sim.fateops.io/never-ready: "true"`` (Running but never Ready);
* confirms graceful deletions (grace 0), as a kubelet does once containers stopped;
* plays the cloud: LoadBalancer Services get ``status.loadBalancer.ingress[0].ip`` from a loopback
  range unless annotated ``sim.fateops.io/no-lb-ip: "true"``;
* serves pod logs and exec for the apiserver to proxy (see :mod:`tests.harness.kubelet_server`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import ipaddress
import itertools
import json
import logging
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.harness import tls
from tests.harness.kubeapi import JSON, ApiError, KubeAPI
from tests.harness.kubelet_server import KubeletServer

log = logging.getLogger("fateops.harness.nodesim")

PREFIX = "sim.fateops.io/"
RUN_SECONDS = PREFIX + "run-seconds"
EXIT_CODE = PREFIX + "exit-code"
NEVER_READY = PREFIX + "never-ready"
NO_LB_IP = PREFIX + "no-lb-ip"
NODE_DOWN = PREFIX + "down"
_NODE_LIFECYCLE_TAINTS = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}
_LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"


@dataclass(frozen=True)
class SimConfig:
    """Everything one simulator needs to know about its cluster."""

    cluster_name: str
    node_names: tuple[str, ...]
    capacity: dict[str, str]
    allocatable: dict[str, str]
    kubelet_port: int
    pod_cidr: str
    lb_range: str
    bind_grace: float = 5.0
    heartbeat: float = 10.0
    resync: float = 5.0


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def _meta(obj: JSON) -> JSON:
    return obj.get("metadata") or {}


def _annotations(obj: JSON) -> dict[str, str]:
    return _meta(obj).get("annotations") or {}


def _pod_path(namespace: str, name: str, sub: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/pods/{name}" + (f"/{sub}" if sub else "")


class _Pool:
    """Hands out addresses of a CIDR, never one already in use."""

    def __init__(self, cidr: str) -> None:
        net = ipaddress.ip_network(cidr)
        self._first = int(net.network_address) + 2  # .1 stays free (a gateway, by habit)
        self._count = max(1, net.num_addresses - 3)
        self._next = 0
        self.used: dict[str, str] = {}  # owner uid -> ip

    def get(self, owner: str) -> str:
        if owner in self.used:
            return self.used[owner]
        taken = set(self.used.values())
        for _ in range(self._count):
            candidate = str(ipaddress.ip_address(self._first + self._next))
            self._next = (self._next + 1) % self._count
            if candidate not in taken:
                self.used[owner] = candidate
                return candidate
        raise RuntimeError("address pool exhausted")

    def claim(self, owner: str, ip: str) -> None:
        self.used.setdefault(owner, ip)

    def release(self, owner: str) -> None:
        self.used.pop(owner, None)


class NodeSim:
    """Reconciles nodes, pods and LoadBalancer services of one cluster; thread-safe."""

    def __init__(self, cfg: SimConfig, api: KubeAPI) -> None:
        self.cfg = cfg
        self.api = api
        self.stop_event = threading.Event()
        self._lock = threading.RLock()
        self._pod_ips = _Pool(cfg.pod_cidr)
        self._lb_ips = _Pool(cfg.lb_range)
        self._started: set[str] = set()
        self._finished: set[str] = set()
        self._timers: dict[str, threading.Timer] = {}
        self._down: set[str] = set()
        self._rr = itertools.count()

    # -- nodes ----------------------------------------------------------------------------------------
    def wait_for_apiserver(self, timeout: float = 120.0) -> None:
        """Block until the apiserver answers (we are started before it is ready)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.api.request("GET", "/api/v1/nodes", query={"limit": "1"}, timeout=5)
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"apiserver not reachable after {timeout:.0f}s: {exc}") from exc
                time.sleep(0.3)

    def register_nodes(self) -> None:
        """Create (or refresh) our nodes, Ready from the start."""
        for name in self.cfg.node_names:
            body = {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {
                    "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                    "node-role.kubernetes.io/worker": "", "sim.fateops.io/cluster": self.cfg.cluster_name}},
                "spec": {},
                "status": self._node_status(name),
            }
            try:
                self.api.post("/api/v1/nodes", body)
                log.info("registered node %s", name)
            except ApiError as exc:
                if exc.status != 409:
                    raise
            self._heartbeat_node(name)

    def _node_status(self, name: str) -> JSON:
        now = _now()
        ready = {"type": "Ready", "status": "True", "reason": "KubeletReady",
                 "message": "fateops node simulator is posting ready status",
                 "lastHeartbeatTime": now, "lastTransitionTime": now}
        pressure = [{"type": t, "status": "False", "reason": f"KubeletHasNo{t}", "lastHeartbeatTime": now,
                     "lastTransitionTime": now} for t in ("MemoryPressure", "DiskPressure", "PIDPressure")]
        return {
            "capacity": self.cfg.capacity, "allocatable": self.cfg.allocatable,
            "conditions": [ready, *pressure],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.cfg.kubelet_port}},
            "nodeInfo": {"machineID": name, "systemUUID": name, "bootID": name, "kernelVersion": "sim",
                         "osImage": "fateops node simulator", "containerRuntimeVersion": "sim://1",
                         "kubeletVersion": "v1.20.2", "kubeProxyVersion": "v1.20.2",
                         "operatingSystem": "linux", "architecture": "amd64"},
        }

    def _heartbeat_node(self, name: str) -> None:
        try:
            node = self.api.get(f"/api/v1/nodes/{name}")
        except ApiError as exc:
            if exc.status == 404:  # deleted by a test: a removed machine stays removed
                return
            raise
        if _truthy(_annotations(node).get(NODE_DOWN)):
            if name not in self._down:
                log.info("node %s is marked down: no more heartbeats", name)
            self._down.add(name)
            return
        self._down.discard(name)
        status = self._node_status(name)
        old = {c["type"]: c for c in (node.get("status") or {}).get("conditions") or []}
        for cond in status["conditions"]:  # keep transition times while the status is unchanged
            prev = old.get(cond["type"])
            if prev is not None and prev.get("status") == cond["status"] and prev.get("lastTransitionTime"):
                cond["lastTransitionTime"] = prev["lastTransitionTime"]
        self.api.patch(f"/api/v1/nodes/{name}/status", {"status": status})
        taints = (node.get("spec") or {}).get("taints") or []
        kept = [t for t in taints if t.get("key") not in _NODE_LIFECYCLE_TAINTS]
        if len(kept) != len(taints):
            self.api.patch(f"/api/v1/nodes/{name}", {"spec": {"taints": kept or None}}, merge="json")
        self._renew_lease(name)

    def _renew_lease(self, name: str) -> None:
        renew = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # a MicroTime
        spec = {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": renew}
        try:
            self.api.patch(f"{_LEASES}/{name}", {"spec": spec}, merge="json")
        except ApiError as exc:
            if exc.status != 404:
                raise
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": name, "namespace": "kube-node-lease"}, "spec": spec}
            with contextlib.suppress(ApiError):
                self.api.post(_LEASES, body)

    def heartbeat_loop(self) -> None:
        """Keep every live node Ready (the node-lifecycle controller's grace is 40 s)."""
        while not self.stop_event.wait(self.cfg.heartbeat):
            for name in self.cfg.node_names:
                try:
                    self._heartbeat_node(name)
                except Exception as exc:
                    log.warning("heartbeat of %s failed: %s", name, exc)

    # -- pods -----------------------------------------------------------------------------------------
    def handle_pod(self, pod: JSON) -> None:
        """Advance one pod by one step of its simulated life."""
        with self._lock:
            meta, spec, status = _meta(pod), pod.get("spec") or {}, pod.get("status") or {}
            uid = meta["uid"]
            node = spec.get("nodeName")
            if node and node not in self.cfg.node_names:
                return
            if node in self._down:
                return  # a dead kubelet does nothing: pods stay as they are
            phase = status.get("phase")
            if meta.get("deletionTimestamp"):
                self._confirm_deletion(pod)
            elif not node:
                self._maybe_bind(pod)
            elif phase in (None, "Pending") and uid not in self._started:
                self._run(pod)
            elif phase == "Running":
                self._started.add(uid)
                if status.get("podIP"):
                    self._pod_ips.claim(uid, status["podIP"])
                self._schedule_finish(pod)

    def forget_pod(self, pod: JSON) -> None:
        """Drop our bookkeeping for a pod that is gone."""
        with self._lock:
            uid = _meta(pod)["uid"]
            self._pod_ips.release(uid)
            self._started.discard(uid)
            self._finished.discard(uid)
            timer = self._timers.pop(uid, None)
            if timer is not None:
                timer.cancel()

    def _confirm_deletion(self, pod: JSON) -> None:
        meta = _meta(pod)
        try:
            self.api.delete(_pod_path(meta["namespace"], meta["name"]),
                            {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}})
            log.info("confirmed deletion of %s/%s", meta["namespace"], meta["name"])
        except ApiError as exc:
            if exc.status not in (404, 409):
                log.warning("confirming deletion of %s/%s failed: %s", meta["namespace"], meta["name"], exc)

    def _maybe_bind(self, pod: JSON) -> None:
        meta, spec = _meta(pod), pod.get("spec") or {}
        conditions = (pod.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "PodScheduled" and c.get("status") == "False" for c in conditions):
            return  # the scheduler looked and said no: leave it Pending, visibly
        created = _parse_time(meta.get("creationTimestamp"))
        age = (dt.datetime.now(dt.UTC) - created).total_seconds() if created else 0.0
        foreign = spec.get("schedulerName", "default-scheduler") != "default-scheduler"
        if not foreign and age < self.cfg.bind_grace:
            return
        live = [n for n in self.cfg.node_names if n not in self._down]
        if not live:
            return
        target = live[next(self._rr) % len(live)]
        body = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": meta["name"]},
                "target": {"apiVersion": "v1", "kind": "Node", "name": target}}
        try:
            self.api.post(_pod_path(meta["namespace"], meta["name"], "binding"), body)
            log.info("bound %s/%s to %s", meta["namespace"], meta["name"], target)
        except ApiError as exc:
            if exc.status != 409:
                log.warning("binding %s/%s failed: %s", meta["namespace"], meta["name"], exc)

    def _run(self, pod: JSON) -> None:
        meta, spec = _meta(pod), pod["spec"]
        uid = meta["uid"]
        ready = not _truthy(_annotations(pod).get(NEVER_READY))
        ip = "127.0.0.1" if spec.get("hostNetwork") else self._pod_ips.get(uid)
        now = _now()
        status = {
            "phase": "Running", "hostIP": "127.0.0.1", "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now,
            "conditions": _conditions(ready, now),
            "containerStatuses": [_container_status(c, uid, {"running": {"startedAt": now}}, ready)
                                  for c in spec.get("containers", [])],
            "initContainerStatuses": [
                _container_status(c, uid, {"terminated": {"exitCode": 0, "reason": "Completed",
                                                          "startedAt": now, "finishedAt": now}}, True)
                for c in spec.get("initContainers") or []],
        }
        try:
            self.api.patch(_pod_path(meta["namespace"], meta["name"], "status"), {"status": status})
        except ApiError as exc:
            if exc.status != 404:
                log.warning("starting %s/%s failed: %s", meta["namespace"], meta["name"], exc)
            return
        self._started.add(uid)
        log.info("pod %s/%s Running on %s (ip %s, ready=%s)", meta["namespace"], meta["name"],
                 spec.get("nodeName"), ip, ready)
        self._schedule_finish(pod, started=time.time())

    def _schedule_finish(self, pod: JSON, started: float | None = None) -> None:
        meta = _meta(pod)
        uid = meta["uid"]
        annotations = _annotations(pod)
        if uid in self._timers or uid in self._finished:
            return
        if RUN_SECONDS not in annotations and EXIT_CODE not in annotations:
            return
        try:
            seconds = float(annotations.get(RUN_SECONDS, "0"))
            code = int(annotations.get(EXIT_CODE, "0"))
        except ValueError:
            log.warning("pod %s/%s: bad %s/%s annotation; ignoring", meta["namespace"], meta["name"],
                        RUN_SECONDS, EXIT_CODE)
            return
        if started is None:
            begun = _parse_time((pod.get("status") or {}).get("startTime"))
            started = begun.timestamp() if begun else time.time()
        delay = max(0.0, started + seconds - time.time())
        timer = threading.Timer(delay, self._finish, args=(meta["namespace"], meta["name"], uid, code))
        timer.daemon = True
        self._timers[uid] = timer
        timer.start()

    def _finish(self, namespace: str, name: str, uid: str, code: int) -> None:
        with self._lock:
            self._timers.pop(uid, None)
            self._finished.add(uid)
            try:
                pod = self.api.get(_pod_path(namespace, name))
            except ApiError:
                return
            meta, spec = _meta(pod), pod["spec"]
            if meta["uid"] != uid or meta.get("deletionTimestamp"):
                return
            now = _now()
            started = (pod.get("status") or {}).get("startTime") or now
            terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                          "startedAt": started, "finishedAt": now}
            policy = spec.get("restartPolicy") or "Always"
            containers = spec.get("containers", [])
            if policy == "Always" or (policy == "OnFailure" and code != 0):
                # the kubelet would restart the container: crash-looping if it failed, running again if not
                state = ({"waiting": {"reason": "CrashLoopBackOff",
                                      "message": f"back-off restarting failed container (exit {code})"}}
                         if code != 0 else {"running": {"startedAt": now}})
                ready = code == 0 and not _truthy(_annotations(pod).get(NEVER_READY))
                statuses = [{**_container_status(c, uid, state, ready), "restartCount": 1,
                             "lastState": {"terminated": terminated}} for c in containers]
                status = {"phase": "Running", "conditions": _conditions(ready, now), "containerStatuses": statuses}
            else:
                statuses = [_container_status(c, uid, {"terminated": terminated}, False) for c in containers]
                status = {"phase": "Succeeded" if code == 0 else "Failed", "conditions": _conditions(False, now),
                          "containerStatuses": statuses}
            try:
                self.api.patch(_pod_path(namespace, name, "status"), {"status": status})
                log.info("pod %s/%s finished with exit code %d (%s)", namespace, name, code, status["phase"])
            except ApiError as exc:
                log.warning("finishing %s/%s failed: %s", namespace, name, exc)

    # -- services -------------------------------------------------------------------------------------
    def handle_service(self, svc: JSON) -> None:
        """Give LoadBalancer services an ingress IP; clear it when they stop being one."""
        with self._lock:
            meta, spec = _meta(svc), svc.get("spec") or {}
            uid = meta["uid"]
            ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            is_lb = spec.get("type") == "LoadBalancer"
            wants = is_lb and not _truthy(_annotations(svc).get(NO_LB_IP))
            if ingress and ingress[0].get("ip"):
                self._lb_ips.claim(uid, ingress[0]["ip"])
            if wants and not ingress:
                new: list[JSON] | None = [{"ip": self._lb_ips.get(uid)}]
            elif not is_lb and ingress:
                self._lb_ips.release(uid)
                new = None
            else:
                return
            path = f"/api/v1/namespaces/{meta['namespace']}/services/{meta['name']}/status"
            try:
                self.api.patch(path, {"status": {"loadBalancer": {"ingress": new}}}, merge="json")
                log.info("service %s/%s load balancer ingress: %s", meta["namespace"], meta["name"], new)
            except ApiError as exc:
                if exc.status != 404:
                    log.warning("patching service %s/%s failed: %s", meta["namespace"], meta["name"], exc)

    # -- loops ----------------------------------------------------------------------------------------
    def watch_loop(self, kind: str) -> None:
        """List then watch pods or services from that resourceVersion; relist when the watch expires."""
        path = f"/api/v1/{kind}"
        handle = self.handle_pod if kind == "pods" else self.handle_service
        while not self.stop_event.is_set():
            try:
                listed = self.api.get(path)
                for item in listed.get("items", []):
                    handle(item)
                version = _meta(listed).get("resourceVersion")
                while not self.stop_event.is_set():
                    for event_type, obj in self.api.watch(path, resource_version=version):
                        if event_type == "ERROR":  # typically 410 Gone: our version is too old
                            raise ApiError(int(obj.get("code", 500)), "WATCH", path, json.dumps(obj))
                        version = _meta(obj).get("resourceVersion", version)
                        if event_type == "DELETED":
                            if kind == "pods":
                                self.forget_pod(obj)
                            else:
                                self._lb_ips.release(_meta(obj)["uid"])
                        else:
                            handle(obj)
                        if self.stop_event.is_set():
                            return
            except Exception as exc:
                if not self.stop_event.is_set():
                    log.warning("%s watch broke (%s); relisting", kind, exc)
                    time.sleep(1)

    def resync_loop(self) -> None:
        """Periodically re-handle everything: bind graces expire and a watch can miss events."""
        while not self.stop_event.wait(self.cfg.resync):
            try:
                for pod in self.api.get("/api/v1/pods").get("items", []):
                    self.handle_pod(pod)
                for svc in self.api.get("/api/v1/services").get("items", []):
                    self.handle_service(svc)
            except Exception as exc:
                log.warning("resync failed: %s", exc)

    def pod_annotations(self, namespace: str, name: str) -> dict[str, str] | None:
        """Annotations of a pod, for the log endpoint (None if the pod does not exist)."""
        try:
            return dict(_annotations(self.api.get(_pod_path(namespace, name))))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise


def _conditions(ready: bool, now: str) -> list[JSON]:
    flag = "True" if ready else "False"
    return [{"type": t, "status": s, "lastTransitionTime": now} for t, s in (
        ("Initialized", "True"), ("Ready", flag), ("ContainersReady", flag), ("PodScheduled", "True"))]


def _container_status(container: JSON, uid: str, state: JSON, ready: bool) -> JSON:
    image = container.get("image") or ""
    return {"name": container["name"], "ready": ready, "started": "running" in state, "restartCount": 0,
            "image": image, "imageID": f"sim://{image}", "containerID": f"sim://{uid[:12]}-{container['name']}",
            "state": state}


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.harness.nodesim", description=__doc__.split("\n")[0])
    p.add_argument("--kubeconfig", required=True, type=Path)
    p.add_argument("--cluster-name", default="cluster")
    p.add_argument("--nodes", type=int, default=3, help="number of nodes (default 3)")
    p.add_argument("--node-prefix", default="worker-", help="node names are <prefix><index>")
    p.add_argument("--cpu", default="16", help="node CPU capacity")
    p.add_argument("--memory", default="64Gi", help="node memory capacity")
    p.add_argument("--pods", default="110", help="node pod capacity")
    p.add_argument("--allocatable-cpu", help="defaults to --cpu")
    p.add_argument("--allocatable-memory", help="defaults to --memory")
    p.add_argument("--kubelet-port", type=int, required=True, help="HTTPS port for logs/exec on 127.0.0.1")
    p.add_argument("--pod-cidr", default="127.1.0.0/16")
    p.add_argument("--lb-range", default="127.240.0.0/16")
    p.add_argument("--exec-log", type=Path, required=True)
    p.add_argument("--rules-file", type=Path, required=True)
    p.add_argument("--state-dir", type=Path, required=True, help="where the kubelet TLS cert is written")
    p.add_argument("--ready-file", type=Path, help="touched once nodes exist and the HTTPS port listens")
    p.add_argument("--bind-grace", type=float, default=5.0)
    p.add_argument("--heartbeat", type=float, default=10.0)
    return p.parse_args(argv)


async def _amain(args: argparse.Namespace) -> None:
    capacity = {"cpu": args.cpu, "memory": args.memory, "pods": args.pods, "ephemeral-storage": "500Gi"}
    allocatable = {**capacity, "cpu": args.allocatable_cpu or args.cpu,
                   "memory": args.allocatable_memory or args.memory}
    cfg = SimConfig(cluster_name=args.cluster_name,
                    node_names=tuple(f"{args.node_prefix}{i}" for i in range(args.nodes)),
                    capacity=capacity, allocatable=allocatable, kubelet_port=args.kubelet_port,
                    pod_cidr=args.pod_cidr, lb_range=args.lb_range, bind_grace=args.bind_grace,
                    heartbeat=args.heartbeat)
    sim = NodeSim(cfg, KubeAPI(args.kubeconfig))
    args.state_dir.mkdir(parents=True, exist_ok=True)
    cert = tls.make_self_signed(args.state_dir, "kubelet", ips=["127.0.0.1"])
    server = KubeletServer(rules_file=args.rules_file, exec_log=args.exec_log, pod_lookup=sim.pod_annotations)
    await server.start(args.kubelet_port, cert.cert, cert.key)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sim.wait_for_apiserver)
    await loop.run_in_executor(None, sim.register_nodes)
    for target, name in ((sim.heartbeat_loop, "heartbeat"), (sim.resync_loop, "resync")):
        threading.Thread(target=target, name=name, daemon=True).start()
    for kind in ("pods", "services"):
        threading.Thread(target=sim.watch_loop, args=(kind,), name=f"watch-{kind}", daemon=True).start()
    if args.ready_file:
        args.ready_file.write_text("ready\n")
    log.info("node simulator for %s running: nodes %s", cfg.cluster_name, ", ".join(cfg.node_names))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    sim.stop_event.set()
    await server.stop()
    log.info("node simulator stopped")


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m tests.harness.nodesim``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    asyncio.run(_amain(_parse_args(argv)))


if __name__ == "__main__":
    main()
