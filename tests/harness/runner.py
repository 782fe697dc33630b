"""Bring the whole set of real peers up and down together: etcd, two clusters, vcsim.

Used by the pytest session fixtures and by ``python -m tests.harness up|down|status``. The peers
start in parallel (two cores, but most of a start is waiting), and a start that fails half-way stops
whatever already runs before raising, so no orphan apiserver is left holding ports.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fateops.paths import state_dir
from tests.harness._common import HarnessError, log
from tests.harness.cluster import DEFAULT_SPECS, ClusterSpec, Etcd, KubeCluster
from tests.harness.helm import ensure_helm, ensure_kubectl
from tests.harness.k8s_build import ensure_etcd, ensure_kube_binaries
from tests.harness.procs import pid_matches, stop_pid
from tests.harness.vcsim import VCSim, ensure_vcsim

ENV_FILE_NAME = "env.json"


def harness_state_dir() -> Path:
    """``<repo>/.fateops/harness`` (or under ``FATEOPS_STATE_DIR``)."""
    path = state_dir() / "harness"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Prepared:
    """Paths of every prepared artefact."""

    kube_bin: Path
    etcd: Path
    vcsim: Path | None
    helm: Path
    kubectl: Path


def prepare(timings: dict[str, float] | None = None, *, with_vcsim: bool = True) -> Prepared:
    """Build/fetch everything the harness needs (a no-op, in well under a second, once cached)."""
    timings = timings if timings is not None else {}

    def timed(name: str, fn: Callable[[], Path]) -> Path:
        started = time.monotonic()
        result = fn()
        timings[name] = time.monotonic() - started
        return result

    helm = timed("helm", ensure_helm)
    kubectl = timed("kubectl", ensure_kubectl)
    etcd = timed("etcd", ensure_etcd)
    kube_bin = timed("kube binaries", ensure_kube_binaries)  # heavy builds one after the other
    vcsim = timed("vcsim", ensure_vcsim) if with_vcsim else None
    return Prepared(kube_bin=kube_bin, etcd=etcd, vcsim=vcsim, helm=helm, kubectl=kubectl)


@dataclass
class Harness:
    """The running set of peers for one test session or one ``up``."""

    run_dir: Path
    specs: tuple[ClusterSpec, ...] = DEFAULT_SPECS
    with_vcsim: bool = True
    clusters: dict[str, KubeCluster] = field(default_factory=dict)
    etcd: Etcd | None = None
    vcsim: VCSim | None = None
    prepared: Prepared | None = None
    startup_seconds: float = 0.0

    def start(self) -> None:
        """Prepare (cached), then start etcd, every cluster and vcsim; stop everything on failure."""
        self.prepared = prepare(with_vcsim=self.with_vcsim)
        started = time.monotonic()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.etcd = Etcd(self.prepared.etcd, self.run_dir)
            self.etcd.start()
            for spec in self.specs:
                self.clusters[spec.name] = KubeCluster(spec=spec, run_dir=self.run_dir,
                                                       bin_dir=self.prepared.kube_bin, etcd_url=self.etcd.url)
            jobs: list[tuple[str, Callable[[], None]]] = [(c.name, c.start) for c in self.clusters.values()]
            if self.prepared.vcsim is not None:
                vcsim, vcsim_bin = VCSim(self.run_dir / "vcsim"), self.prepared.vcsim
                self.vcsim = vcsim
                jobs.append(("vcsim", lambda: vcsim.start(vcsim_bin)))
            _run_parallel(jobs)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        log.info("harness up in %.1f s (run dir %s)", self.startup_seconds, self.run_dir)

    def stop(self) -> None:
        """Stop vcsim, the clusters, then etcd (each by pid, SIGTERM → SIGKILL)."""
        if self.vcsim is not None:
            self.vcsim.stop()
        threads = [threading.Thread(target=c.stop) for c in self.clusters.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self.etcd is not None:
            self.etcd.stop()

    def env(self) -> dict[str, Any]:
        """What other processes need to use (and later stop) this harness."""
        assert self.prepared is not None
        return {
            "run_dir": str(self.run_dir),
            "helm": str(self.prepared.helm), "kubectl": str(self.prepared.kubectl),
            "etcd": {"url": self.etcd.url if self.etcd else None,
                     "data_dir": str(self.etcd.data_dir) if self.etcd and self.etcd.data_dir else None,
                     "procs": [self.etcd.proc.to_json()] if self.etcd and self.etcd.proc else []},
            "clusters": {name: c.to_json() for name, c in self.clusters.items()},
            "vcsim": self.vcsim.to_json() if self.vcsim else None,
            "startup_seconds": round(self.startup_seconds, 2),
        }

    def write_env(self, path: Path) -> None:
        """Write :meth:`env` as JSON, readable by the owner only (it holds the vcsim password)."""
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(self.env(), indent=2))
        tmp.replace(path)


def _run_parallel(jobs: list[tuple[str, Callable[[], None]]]) -> None:
    errors: list[tuple[str, BaseException]] = []

    def run(name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append((name, exc))

    threads = [threading.Thread(target=run, args=job, name=f"start-{job[0]}") for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        name, first = errors[0]
        if isinstance(first, HarnessError):
            raise first
        raise HarnessError(f"starting {name} failed: {first!r}", fix="read the logs in the run directory") from first


def _all_procs(env: dict[str, Any]) -> list[dict[str, Any]]:
    """Every recorded process, in stop order: vcsim, cluster processes, etcd last."""
    procs: list[dict[str, Any]] = list((env.get("vcsim") or {}).get("procs", []))
    for cluster in env.get("clusters", {}).values():
        order = {"nodesim": 0, "kube-scheduler": 1, "kube-controller-manager": 2, "kube-apiserver": 3}
        procs += sorted(cluster.get("procs", []), key=lambda p: order.get(p["name"].split("/")[-1], 9))
    procs += env.get("etcd", {}).get("procs", [])
    return procs


def stop_from_env(env_path: Path) -> int:
    """Stop every process recorded in ``env_path``; returns how many were still running."""
    if not env_path.exists():
        return 0
    env = json.loads(env_path.read_text())
    running = 0
    for proc in _all_procs(env):
        if pid_matches(int(proc["pid"]), str(proc["program"])):
            running += 1
            stop_pid(int(proc["pid"]), str(proc["program"]), grace=10, name=str(proc["name"]))
    data_dir = (env.get("etcd") or {}).get("data_dir")
    if data_dir and Path(data_dir).name.startswith("fateops-etcd-"):
        shutil.rmtree(data_dir, ignore_errors=True)
    env_path.unlink()
    return running


def write_owned_env(path: Path, env: dict[str, Any]) -> None:
    """Write an env record owned by this process, so a later session can reap it if we die."""
    record = {**env, "owner_pid": os.getpid()}
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(path)


def reap_orphans(runs_dir: Path) -> int:
    """Stop peers left behind by test sessions that died without tearing down (e.g. killed by CI).

    Only records whose owner process is gone are touched, so a concurrent session is safe.
    """
    reaped = 0
    for env_path in runs_dir.glob(f"*/{ENV_FILE_NAME}"):
        try:
            owner = int(json.loads(env_path.read_text()).get("owner_pid", 0))
        except (OSError, ValueError):
            continue
        if owner and not Path(f"/proc/{owner}").exists():
            log.warning("stopping peers orphaned by dead session %d (%s)", owner, env_path.parent)
            reaped += stop_from_env(env_path)
    return reaped


def status_from_env(env_path: Path) -> list[tuple[str, int, bool]]:
    """(name, pid, alive) of every process recorded in ``env_path``."""
    if not env_path.exists():
        return []
    env = json.loads(env_path.read_text())
    return [(str(p["name"]), int(p["pid"]), pid_matches(int(p["pid"]), str(p["program"])))
            for p in _all_procs(env)]
