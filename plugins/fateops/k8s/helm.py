"""A thin driver over the real ``helm`` binary (v3 or v4): install/upgrade, status, history, uninstall.

Why a subprocess and not a library: the binary is what operators run by hand, so a failure here
reproduces with the same command; its stderr is the diagnosis, so errors carry its tail and a fix.

Every call gets ``--kubeconfig`` explicitly (never ``$KUBECONFIG`` or ``~/.kube/config``), values go
through a 0600 temp file (they can hold secrets), helm's own cache/config dirs are kept under the
fateops cache, and every run has a timeout. ``upgrade --install`` runs without ``--wait``/
``--atomic``: readiness is :mod:`fateops.k8s.waits`' job, with deadlines that name what is late.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fateops.exceptions import KubernetesError
from fateops.k8s.access import KubeAccess
from fateops.paths import cache_dir

HELM_ENV = "FATEOPS_HELM_BIN"
DEFAULT_TIMEOUT_S = 300.0
_STDERR_TAIL = 1500

# stderr fragment → what the operator should do about it
_FIXES: tuple[tuple[str, str], ...] = (
    ("another operation (install/upgrade/rollback) is in progress",
     "another helm operation on this release is running or was interrupted: wait for it, or "
     "`helm -n {ns} history {release}` and `helm -n {ns} rollback {release}` to the last deployed revision"),
    ("kubernetes cluster unreachable", "check the kubernetes connection's kubeconfig and that the API server answers"),
    ("values don't meet the specifications of the schema",
     "fix the values named above (the federation's kubernetes.values for this party/exchange)"),
    ("cannot re-use a name that is still in use",
     "a release of that name exists in another state: `helm -n {ns} status {release}`"),
    ("forbidden", "the connection's user lacks RBAC permissions in namespace {ns} (`kubectl auth can-i ...`)"),
    ("has no deployed releases", "the first install failed: `helm -n {ns} uninstall {release}` and run again"),
)


@dataclass(frozen=True)
class Revision:
    """One entry of ``helm history``."""

    revision: int
    status: str
    chart: str
    app_version: str
    description: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Revision:
        return cls(int(data.get("revision", 0)), str(data.get("status", "")), str(data.get("chart", "")),
                   str(data.get("app_version", "")), str(data.get("description", "")))


def find_helm() -> Path:
    """``$FATEOPS_HELM_BIN``, else ``helm`` on PATH; a clear error when neither exists."""
    explicit = os.environ.get(HELM_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise KubernetesError(f"{HELM_ENV}={explicit} is not an executable file",
                              fix=f"point {HELM_ENV} at the helm binary or unset it to use helm from PATH")
    found = shutil.which("helm")
    if not found:
        raise KubernetesError("no helm binary found",
                              fix=f"install helm v3.8+ on the Airflow workers or set {HELM_ENV}; "
                                  "the fateops ops image (docker/ops) carries one")
    return Path(found)


class Helm:
    """helm bound to one cluster (``access``); methods raise :class:`KubernetesError` with stderr + fix."""

    def __init__(self, access: KubeAccess, *, binary: Path | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.access = access
        self.binary = binary or find_helm()
        self.timeout_s = timeout_s

    # -- queries -------------------------------------------------------------------------------------
    def history(self, release: str, namespace: str, *, max_revisions: int = 1) -> list[Revision]:
        """Newest-last revisions of ``release``; empty when it does not exist."""
        proc = self._run(["history", release, "-n", namespace, "--max", str(max_revisions), "-o", "json"],
                         release=release, namespace=namespace, check=False)
        if proc.returncode != 0:
            if "not found" in proc.stderr.lower():
                return []
            raise self._error("history", release, namespace, proc)
        return [Revision.from_json(r) for r in json.loads(proc.stdout or "[]")]

    def last(self, release: str, namespace: str) -> Revision | None:
        revisions = self.history(release, namespace)
        return revisions[-1] if revisions else None

    def status(self, release: str, namespace: str) -> str | None:
        """The release's status (``deployed``, ``failed``, ``pending-upgrade``...), None when it does not exist."""
        proc = self._run(["status", release, "-n", namespace, "-o", "json"], release=release, namespace=namespace,
                         check=False)
        if proc.returncode != 0:
            if "not found" in proc.stderr.lower():
                return None
            raise self._error("status", release, namespace, proc)
        return str((json.loads(proc.stdout or "{}").get("info") or {}).get("status") or "") or None

    def get_values(self, release: str, namespace: str) -> dict[str, Any]:
        """The user-supplied values of the current revision."""
        proc = self._run(["get", "values", release, "-n", namespace, "-o", "json"], release=release,
                         namespace=namespace)
        return json.loads(proc.stdout or "{}") or {}

    def template(self, release: str, chart: Path, namespace: str, values: Mapping[str, Any], *,
                 kube_version: str | None = None, api_versions: Sequence[str] = ()) -> list[dict[str, Any]]:
        """The manifests ``values`` would create (rendered offline; nothing is sent to the cluster).

        ``kube_version``/``api_versions`` stand in for the cluster's capabilities (as ``helm install``
        would discover them), so version-dependent templates render as they will there.
        """
        args = ["template", release, str(chart), "-n", namespace]
        if kube_version:
            args += ["--kube-version", kube_version]
        for api in api_versions:
            args += ["--api-versions", api]
        with _values_file(values) as values_path:
            proc = self._run([*args, "-f", values_path], release=release, namespace=namespace, offline=True)
        return [d for d in yaml.safe_load_all(proc.stdout) if isinstance(d, dict)]

    # -- changes -------------------------------------------------------------------------------------
    def upgrade_install(self, release: str, chart: Path, namespace: str, values: Mapping[str, Any], *,
                        description: str | None = None, timeout_s: float | None = None) -> Revision:
        """``helm upgrade --install`` with ``values`` (no --wait, no --atomic); returns the new revision."""
        timeout = timeout_s or self.timeout_s
        with _values_file(values) as values_path:
            args = ["upgrade", "--install", release, str(chart), "-n", namespace, "-f", values_path,
                    "--timeout", f"{int(timeout)}s", "--history-max", "10"]
            if description:
                args += ["--description", description]
            self._run(args, release=release, namespace=namespace, timeout_s=timeout + 60)
        revision = self.last(release, namespace)
        if revision is None:
            raise KubernetesError(f"helm reported success but release {namespace}/{release} has no history",
                                  fix=f"run `helm -n {namespace} status {release}` on {self.access.where}")
        return revision

    def uninstall(self, release: str, namespace: str, *, timeout_s: float | None = None) -> bool:
        """Remove the release (PVCs the chart keeps stay); False when there was none."""
        timeout = timeout_s or self.timeout_s
        proc = self._run(["uninstall", release, "-n", namespace, "--timeout", f"{int(timeout)}s"],
                         release=release, namespace=namespace, timeout_s=timeout + 60, check=False)
        if proc.returncode == 0:
            return True
        if "not found" in proc.stderr.lower():
            return False
        raise self._error("uninstall", release, namespace, proc)

    # -- plumbing ------------------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        base = cache_dir() / "helm"
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "HTTPS_PROXY",
                                                              "HTTP_PROXY", "NO_PROXY")}
        env.update(HELM_CACHE_HOME=str(base / "cache"), HELM_CONFIG_HOME=str(base / "config"),
                   HELM_DATA_HOME=str(base / "data"))
        return env

    def _run(self, args: Sequence[str], *, release: str, namespace: str, timeout_s: float | None = None,
             check: bool = True, offline: bool = False) -> subprocess.CompletedProcess[str]:
        timeout = timeout_s or self.timeout_s
        with contextlib.ExitStack() as stack:
            argv = [str(self.binary), *args]
            if not offline:
                argv += ["--kubeconfig", str(stack.enter_context(self.access.kubeconfig_file()))]
                if self.access.context:
                    argv += ["--kube-context", self.access.context]
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=self._env(),
                                      check=False)
            except subprocess.TimeoutExpired as err:
                raise KubernetesError(
                    f"helm {args[0]} {release} in {namespace} on {self.access.where} did not finish in {timeout:.0f}s",
                    fix=f"check `helm -n {namespace} status {release}` and the namespace's events; a stuck "
                        "operation can be rolled back with `helm rollback`") from err
        if check and proc.returncode != 0:
            raise self._error(args[0], release, namespace, proc)
        return proc

    def _error(self, verb: str, release: str, namespace: str,
               proc: subprocess.CompletedProcess[str]) -> KubernetesError:
        tail = (proc.stderr or proc.stdout or "").strip()[-_STDERR_TAIL:]
        lowered = tail.lower()
        fix = next((f for needle, f in _FIXES if needle in lowered),
                   "read helm's message above; `helm -n {ns} history {release}` shows what happened before")
        return KubernetesError(
            f"helm {verb} {release} in {namespace} on {self.access.where} failed (exit {proc.returncode}): {tail}",
            fix=fix.format(ns=namespace, release=release))


@contextlib.contextmanager
def _values_file(values: Mapping[str, Any]) -> Iterator[str]:
    """``values`` as a 0600 YAML file for ``-f`` (values may hold passwords), removed afterwards."""
    fd, path = tempfile.mkstemp(prefix="fateops-values-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w") as out:
            yaml.safe_dump(dict(values), out, sort_keys=True)
        yield path
    finally:
        os.unlink(path)
