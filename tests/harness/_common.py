"""Small shared pieces of the real-peers harness: cache paths, a build lock, atomic install, errors.

Every artefact the harness builds or fetches (kube binaries, vcsim, helm, kubectl) is heavy and
rebuildable, so it lives under ``~/.cache/fateops`` keyed by version or content hash. Two pytest
sessions (or a ``prepare`` racing a test run) must not build the same thing twice at once, hence the
``flock`` around each build; the result is moved into place atomically so a half-built directory is
never mistaken for a finished one.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from fateops.exceptions import FateopsError
from fateops.paths import cache_dir

log = logging.getLogger("fateops.harness")


class HarnessError(FateopsError):
    """A prerequisite of the real-peers harness is missing or one of its peers failed to start."""

    default_fix = "run `python -m tests.harness prepare` and read its output"


def harness_cache(*parts: str) -> Path:
    """A directory under the fateops cache (created)."""
    path = cache_dir().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def build_lock(name: str, *, timeout: float = 3600.0) -> Iterator[None]:
    """Hold an exclusive lock named ``name`` in the cache so only one process builds an artefact."""
    lock_path = harness_cache("locks") / f"{name}.lock"
    deadline = time.monotonic() + timeout
    with lock_path.open("a+") as handle:
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    log.info("waiting for another process building %s (lock %s)", name, lock_path)
                    announced = True
                if time.monotonic() > deadline:
                    raise HarnessError(
                        f"timed out after {timeout:.0f}s waiting for the build lock {lock_path}",
                        fix="check whether another `prepare`/pytest is still building; remove the lock "
                        "file only if no such process exists",
                    ) from None
                time.sleep(1.0)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install_atomically(staged: Path, final: Path) -> None:
    """Move a fully built ``staged`` file/dir to ``final`` in one rename (same filesystem)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
        staged.rename(final)
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    else:
        staged.rename(final)


def staging_dir(parent: Path, prefix: str) -> Path:
    """A fresh temporary directory beside ``parent``'s final artefacts (same filesystem for rename)."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{prefix}-", dir=parent))


def run_logged(cmd: Sequence[str], *, log_file: Path, cwd: Path | None = None,
               env: dict[str, str] | None = None, timeout: float = 3600.0, what: str = "") -> None:
    """Run a build step with its output in ``log_file``; raise :class:`HarnessError` with the log tail."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        try:
            proc = subprocess.run(list(cmd), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout, check=False)
        except FileNotFoundError as exc:
            raise HarnessError(f"{what or cmd[0]}: command not found: {cmd[0]}",
                               fix="install it (see the message above) and run again") from exc
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"{what or cmd[0]} timed out after {timeout:.0f}s",
                               fix=f"read {log_file}") from exc
    if proc.returncode != 0:
        tail = log_file.read_text(errors="replace").splitlines()[-25:]
        raise HarnessError(
            f"{what or cmd[0]} failed (exit {proc.returncode}); last lines:\n" + "\n".join(tail),
            fix=f"read {log_file}",
        )


def apt_install(packages: Sequence[str], *, log_file: Path) -> None:
    """``apt-get install`` the given Debian packages (running ``apt-get update`` once if needed)."""
    if shutil.which("apt-get") is None:
        raise HarnessError(f"apt-get is not available to install {', '.join(packages)}",
                           fix=f"install the Debian packages {' '.join(packages)} by other means")
    if os.geteuid() != 0:
        raise HarnessError(f"installing {', '.join(packages)} needs root",
                           fix=f"run: sudo apt-get install -y {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    with build_lock("apt"):
        log.info("apt-get install %s", " ".join(packages))
        try:
            run_logged(cmd, log_file=log_file, env=env, timeout=1200, what="apt-get install")
        except HarnessError:
            log.info("apt-get install failed; running apt-get update once and retrying")
            run_logged(["apt-get", "update"], log_file=log_file, env=env, timeout=600, what="apt-get update")
            run_logged(cmd, log_file=log_file, env=env, timeout=1200, what="apt-get install")


def dpkg_installed(package: str) -> bool:
    """Whether a Debian package is installed (status ``install ok installed``)."""
    if shutil.which("dpkg-query") is None:
        return False
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True,
                          check=False)
    return proc.returncode == 0 and proc.stdout.strip().endswith(" installed")
