"""A real Kubernetes 1.20 control plane on 127.0.0.1: shared etcd, and per cluster an apiserver,
controller-manager, scheduler and node simulator.

Two party clusters must run side by side without seeing each other, as in real life. They share one
etcd (cheap) but each has its own ``--etcd-prefix``, CA, token, service range and free ports, so no
object, port or credential leaks between them. Everything binds to 127.0.0.1 only; the kubeconfig we
write is the single entry point for tests, helm and Airflow connections (never ``~/.kube/config``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import ssl
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tests.harness import tls
from tests.harness._common import HarnessError, log
from tests.harness.k8s_build import binary_version
from tests.harness.procs import Proc, free_port, spawn, wait_until

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0


@dataclass(frozen=True)
class ClusterSpec:
    """What makes one simulated cluster distinct: name, address ranges and node shape."""

    name: str
    service_cidr: str
    pod_cidr: str
    lb_range: str
    nodes: int = 3
    node_cpu: str = "16"
    node_memory: str = "64Gi"
    node_pods: str = "110"
    # Failure detection, shortened from Kubernetes' 40 s / 300 s so node-failure drills finish in a
    # test's time: a node whose simulator stops heartbeating is NotReady after ``node_grace`` and its
    # pods are evicted ``eviction_after_s`` later.
    node_grace: str = "20s"
    eviction_after_s: int = 20


# Loopback ranges on purpose: pod, service and load-balancer IPs are only labels here, but if any
# code ever dials one it must stay on this machine.
DEFAULT_SPECS = (
    ClusterSpec("party-a", service_cidr="127.96.0.0/20", pod_cidr="127.1.0.0/16", lb_range="127.241.0.0/16"),
    ClusterSpec("party-b", service_cidr="127.97.0.0/20", pod_cidr="127.2.0.0/16", lb_range="127.242.0.0/16"),
)


def _https_ok(url: str, token: str | None, ca: Path | None) -> bool:
    ctx = ssl.create_default_context(cafile=str(ca)) if ca else ssl._create_unverified_context()
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, context=ctx, timeout=2) as resp:
        return resp.status == 200 and resp.read().strip() == b"ok"


class Etcd:
    """One etcd on free loopback ports; clusters isolate themselves by key prefix."""

    def __init__(self, etcd_bin: Path, run_dir: Path) -> None:
        self.etcd_bin = etcd_bin
        self.dir = run_dir / "etcd"
        self.client_port = 0
        self.proc: Proc | None = None
        self.data_dir: Path | None = None

    @property
    def url(self) -> str:
        """Client URL for ``--etcd-servers``."""
        return f"http://127.0.0.1:{self.client_port}"

    def start(self) -> None:
        """Start etcd and wait for ``/health``."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = _scratch_dir("fateops-etcd-")
        self.client_port, peer = free_port(), free_port()
        peer_url = f"http://127.0.0.1:{peer}"
        argv = [
            str(self.etcd_bin), "--name", "fateops-harness", "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", f"fateops-harness={peer_url}", "--log-level", "warn",
        ]
        self.proc = spawn("etcd", argv, log_path=self.dir / "etcd.log", env=_tool_env())
        wait_until(lambda: json.loads(urllib.request.urlopen(self.url + "/health", timeout=2).read())
                   .get("health") == "true", timeout=30, what="etcd /health", proc=self.proc)

    def stop(self) -> None:
        """Stop etcd (after the apiservers)."""
        if self.proc:
            self.proc.stop(grace=10)
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


@dataclass
class KubeCluster:
    """One cluster: apiserver + controller-manager + scheduler + node simulator, on free ports."""

    spec: ClusterSpec
    run_dir: Path
    bin_dir: Path
    etcd_url: str
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    api_port: int = 0
    kubelet_port: int = 0
    procs: dict[str, Proc] = field(default_factory=dict)

    # -- attributes tests use -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Cluster name (``party-a``...), also the kubeconfig context name."""
        return self.spec.name

    @property
    def dir(self) -> Path:
        """This cluster's run directory (certs, kubeconfig, logs, exec log)."""
        return self.run_dir / self.spec.name

    @property
    def server(self) -> str:
        """The apiserver URL."""
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def kubeconfig(self) -> Path:
        """Path of the kubeconfig written for this cluster."""
        return self.dir / "kubeconfig"

    @property
    def ca_file(self) -> Path:
        """CA certificate that signed the apiserver's serving certificate."""
        return self.dir / "pki" / "ca.crt"

    @property
    def exec_log(self) -> Path:
        """JSON-lines record of every exec the node simulator served."""
        return self.dir / "exec-log.jsonl"

    @property
    def rules_file(self) -> Path:
        """JSON exec rules the node simulator reads on every exec."""
        return self.dir / "exec-rules.json"

    @property
    def lb_range(self) -> str:
        """CIDR the simulated cloud allocates LoadBalancer ingress IPs from."""
        return self.spec.lb_range

    def client(self) -> ApiClient:
        """A ``kubernetes.client.ApiClient`` built from this cluster's own kubeconfig."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig), context=self.name)

    def set_exec_rules(self, rules: list[dict[str, Any]]) -> None:
        """Replace the exec rules (the simulator re-reads the file on every exec)."""
        tmp = self.rules_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(rules, indent=2))
        tmp.replace(self.rules_file)

    def exec_records(self) -> list[dict[str, Any]]:
        """Every exec recorded so far, oldest first."""
        if not self.exec_log.exists():
            return []
        return [json.loads(line) for line in self.exec_log.read_text().splitlines() if line.strip()]

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the control plane and node simulator; returns when nodes are Ready."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write_credentials()
        self._start_apiserver()  # also spawns the node simulator, whose Python start-up overlaps
        self._start_controllers()
        wait_until((self.dir / "nodesim.ready").exists, timeout=START_TIMEOUT,
                   what=f"{self.name} node simulator ready", proc=self.procs["nodesim"])

    def stop(self) -> None:
        """Stop every process of this cluster (node simulator first, apiserver last)."""
        for key in ("nodesim", "kube-scheduler", "kube-controller-manager", "kube-apiserver"):
            proc = self.procs.get(key)
            if proc is not None:
                proc.stop(grace=10)

    def to_json(self) -> dict[str, Any]:
        """Plain values for ``env.json`` (no token: it is in the kubeconfig, mode 0600)."""
        return {
            "name": self.name, "server": self.server, "kubeconfig": str(self.kubeconfig),
            "ca_file": str(self.ca_file), "exec_log": str(self.exec_log), "rules_file": str(self.rules_file),
            "lb_range": self.lb_range, "pod_cidr": self.spec.pod_cidr, "service_cidr": self.spec.service_cidr,
            "kubelet_port": self.kubelet_port, "procs": [p.to_json() for p in self.procs.values()],
        }

    def _write_credentials(self) -> None:
        pki = self.dir / "pki"
        ca = tls.make_ca(pki, f"fateops-harness-{self.name}-ca")
        first_service_ip = _first_host(self.spec.service_cidr)
        tls.make_serving_cert(ca, pki, "apiserver", common_name="kube-apiserver",
                              ips=["127.0.0.1", first_service_ip],
                              dns=["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                   "kubernetes.default.svc.cluster.local"])
        tls.write_private_key(pki / "sa.key")
        tls.write_public_key(pki / "sa.key", pki / "sa.pub")
        tokens = self.dir / "tokens.csv"
        tokens.write_text(f'{self.token},admin,admin-uid,"system:masters"\n')
        tokens.chmod(0o600)
        if not self.rules_file.exists():
            self.set_exec_rules([])
        self.exec_log.touch()

    def _write_kubeconfig(self) -> None:
        import base64

        ca_data = base64.b64encode(self.ca_file.read_bytes()).decode()
        doc = {
            "apiVersion": "v1", "kind": "Config", "current-context": self.name, "preferences": {},
            "clusters": [{"name": self.name, "cluster": {"server": self.server,
                                                        "certificate-authority-data": ca_data}}],
            "users": [{"name": f"{self.name}-admin", "user": {"token": self.token}}],
            "contexts": [{"name": self.name, "context": {"cluster": self.name, "user": f"{self.name}-admin",
                                                         "namespace": "default"}}],
        }
        tmp = self.kubeconfig.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
        tmp.replace(self.kubeconfig)

    def _start_apiserver(self) -> None:
        major_minor = binary_version(self.bin_dir)
        pki = self.dir / "pki"
        for attempt in range(3):  # a free port can be taken between our probe and the bind
            self.api_port = free_port()
            argv = [
                str(self.bin_dir / "kube-apiserver"),
                f"--etcd-servers={self.etcd_url}", f"--etcd-prefix=/fateops-harness/{self.name}",
                "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.api_port}",
                f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}", f"--token-auth-file={self.dir / 'tokens.csv'}",
                "--authorization-mode=AlwaysAllow",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--api-audiences=https://kubernetes.default.svc",
                f"--service-cluster-ip-range={self.spec.service_cidr}",
                "--service-node-port-range=30000-32767",
                "--disable-admission-plugins=ServiceAccount",
                f"--default-not-ready-toleration-seconds={self.spec.eviction_after_s}",
                f"--default-unreachable-toleration-seconds={self.spec.eviction_after_s}",
                "--kubelet-preferred-address-types=InternalIP",
                "--endpoint-reconciler-type=none",  # the 127.0.0.1 advertise address is not a valid endpoint
                "--allow-privileged=true", "--profiling=false", "--v=1",
            ]
            if major_minor < (1, 24):
                argv.append("--insecure-port=0")
            self._write_kubeconfig()
            proc = spawn(f"{self.name}/kube-apiserver", argv, log_path=self.dir / "logs" / "kube-apiserver.log",
                         env=_tool_env())
            self.procs["kube-apiserver"] = proc
            self._spawn_nodesim()
            try:
                wait_until(lambda: _https_ok(f"{self.server}/readyz", self.token, self.ca_file),
                           timeout=START_TIMEOUT, what=f"{self.name} kube-apiserver /readyz", proc=proc)
                break
            except HarnessError:
                proc.stop(grace=5)
                self.procs["nodesim"].stop(grace=5)
                if attempt == 2 or "address already in use" not in proc.log_path.read_text(errors="replace"):
                    raise
                log.warning("%s: apiserver port %d was taken; retrying on another", self.name, self.api_port)

    def _start_controllers(self) -> None:
        major_minor = binary_version(self.bin_dir)
        pki = self.dir / "pki"
        kc = str(self.kubeconfig)
        common = [f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
                  "--leader-elect=false", "--bind-address=127.0.0.1", "--v=1"]
        kcm_port, sched_port = free_port(), free_port()
        kcm = [str(self.bin_dir / "kube-controller-manager"), *common, f"--secure-port={kcm_port}",
               f"--cert-dir={self.dir / 'kcm-certs'}",
               f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
               "--use-service-account-credentials=false", "--controllers=*,-nodeipam",
               f"--node-monitor-grace-period={self.spec.node_grace}", "--node-monitor-period=2s",
               f"--service-cluster-ip-range={self.spec.service_cidr}"]
        sched = [str(self.bin_dir / "kube-scheduler"), *common, f"--secure-port={sched_port}",
                 f"--cert-dir={self.dir / 'sched-certs'}"]
        if major_minor < (1, 24):
            kcm.append("--port=0")
        if major_minor < (1, 23):
            sched.append("--port=0")
        logs = self.dir / "logs"
        self.procs["kube-controller-manager"] = spawn(f"{self.name}/kube-controller-manager", kcm,
                                                      log_path=logs / "kube-controller-manager.log",
                                                      env=_tool_env())
        self.procs["kube-scheduler"] = spawn(f"{self.name}/kube-scheduler", sched,
                                             log_path=logs / "kube-scheduler.log", env=_tool_env())
        for key, port in (("kube-controller-manager", kcm_port), ("kube-scheduler", sched_port)):
            wait_until(lambda p=port: _https_ok(f"https://127.0.0.1:{p}/healthz", None, None),
                       timeout=START_TIMEOUT, what=f"{self.name} {key} /healthz", proc=self.procs[key])

    def _spawn_nodesim(self) -> None:
        """Start the node simulator; it waits for the apiserver itself and touches its ready file."""
        self.kubelet_port = free_port()
        ready_file = self.dir / "nodesim.ready"
        ready_file.unlink(missing_ok=True)
        argv = [
            sys.executable, "-m", "tests.harness.nodesim", "--kubeconfig", str(self.kubeconfig),
            "--cluster-name", self.name, "--nodes", str(self.spec.nodes), "--cpu", self.spec.node_cpu,
            "--memory", self.spec.node_memory, "--pods", self.spec.node_pods,
            "--kubelet-port", str(self.kubelet_port), "--pod-cidr", self.spec.pod_cidr,
            "--lb-range", self.spec.lb_range, "--exec-log", str(self.exec_log),
            "--rules-file", str(self.rules_file), "--state-dir", str(self.dir / "nodesim"),
            "--ready-file", str(ready_file), "--heartbeat", "5",
        ]
        proc = spawn(f"{self.name}/nodesim", argv, log_path=self.dir / "logs" / "nodesim.log", cwd=REPO_ROOT)
        self.procs["nodesim"] = proc


def _scratch_dir(prefix: str) -> Path:
    """A fresh directory in RAM (``/dev/shm``) when possible: etcd's fsyncs on test data are pure cost."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def _first_host(cidr: str) -> str:
    import ipaddress

    return str(next(ipaddress.ip_network(cidr).hosts()))


def _tool_env() -> dict[str, str]:
    """A minimal environment for the Go servers (no proxies, no stray KUBECONFIG)."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    return {k: os.environ[k] for k in keep if k in os.environ}
