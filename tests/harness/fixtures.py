"""pytest fixtures for the real peers (registered by ``tests/conftest.py`` via ``pytest_plugins``).

Session-scoped and lazy: a test run that touches no cluster starts none. Everything started is
stopped at the end of the session, by pid. A missing prerequisite makes the requesting tests *fail*
with the reason and the fix — never skip — so CI cannot go green by silently testing nothing.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.harness._common import HarnessError
from tests.harness.cluster import KubeCluster
from tests.harness.helm import ensure_helm, ensure_kubectl
from tests.harness.runner import ENV_FILE_NAME, Harness, harness_state_dir, reap_orphans, write_owned_env
from tests.harness.vcsim import VCSim, ensure_vcsim

_KEEP_RUNS = 5
T = TypeVar("T")


def _prerequisite(step: Callable[[], T]) -> T:
    """Run a prepare/start step; turn a :class:`HarnessError` into a test failure naming the fix."""
    try:
        return step()
    except HarnessError as exc:
        message = str(exc)
    pytest.fail(f"real-peers harness unavailable: {message}", pytrace=False)


def _new_run_dir(kind: str) -> Path:
    runs = harness_state_dir() / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    reap_orphans(runs)
    old = sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for stale in old[:-_KEEP_RUNS]:
        shutil.rmtree(stale, ignore_errors=True)
    path = runs / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def helm_bin() -> Iterator[Path]:
    """The real helm v4 binary; its directory (with kubectl) is put first on PATH for the session."""
    helm = _prerequisite(ensure_helm)
    _prerequisite(ensure_kubectl)
    old_path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{helm.parent}{os.pathsep}{old_path}"
    yield helm
    os.environ["PATH"] = old_path


@pytest.fixture(scope="session")
def kubectl_bin(helm_bin: Path) -> Path:
    """The real kubectl binary (fetched with helm)."""
    return helm_bin.parent / "kubectl"


@pytest.fixture(scope="session")
def kube_clusters() -> Iterator[dict[str, KubeCluster]]:
    """Two isolated real clusters, ``party-a`` and ``party-b``, each with simulated nodes.

    Each value has ``.name``, ``.kubeconfig``, ``.server``, ``.token``, ``.exec_log``, ``.rules_file``,
    ``.lb_range``, ``.client()`` (an ApiClient from that kubeconfig), ``.set_exec_rules()`` and
    ``.exec_records()``.
    """
    harness = Harness(run_dir=_new_run_dir("pytest"), with_vcsim=False)
    _prerequisite(harness.start)
    write_owned_env(harness.run_dir / ENV_FILE_NAME, harness.env())
    yield harness.clusters
    harness.stop()


@pytest.fixture(scope="session")
def kube_cluster(kube_clusters: dict[str, KubeCluster]) -> KubeCluster:
    """The ``party-a`` cluster."""
    return kube_clusters["party-a"]


@pytest.fixture(scope="session")
def vcsim() -> Iterator[VCSim]:
    """A running vCenter simulator with per-run credentials (``.host``, ``.port``, ``.user``,
    ``.password``, ``.connect()`` → pyvmomi ServiceInstance, HA event helpers)."""
    sim = VCSim(run_dir=_new_run_dir("vcsim"))

    def start() -> None:
        try:
            sim.start(ensure_vcsim())
        except BaseException:
            sim.stop()
            raise

    _prerequisite(start)
    write_owned_env(sim.run_dir / ENV_FILE_NAME, {"vcsim": sim.to_json()})
    yield sim
    sim.stop()
