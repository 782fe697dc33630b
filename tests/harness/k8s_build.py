"""kube-apiserver, kube-controller-manager and kube-scheduler 1.20.2, built once from Debian's source.

No container registry or upstream release download is reachable here, but Debian bookworm's *source*
package ``kubernetes`` (1.20.2, full tree with ``vendor/``) builds offline with Debian's Go 1.19. The
build takes ≈6 minutes on 2 cores, so it runs once per machine into
``~/.cache/fateops/k8s/v1.20.2/bin`` (built in a temporary directory, renamed into place, guarded by
a lock). Users who already have envtest binaries point ``KUBEBUILDER_ASSETS`` at them instead.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

from tests.harness._common import (
    HarnessError,
    apt_install,
    build_lock,
    dpkg_installed,
    harness_cache,
    install_atomically,
    log,
    run_logged,
    staging_dir,
)

KUBE_VERSION = "1.20.2"
KUBE_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
DEB_SRC_LINE = "deb-src http://deb.debian.org/debian bookworm main"
BUILD_PACKAGES = ("golang-go", "rsync", "make")


def kube_root() -> Path:
    """Cache root for this Kubernetes version (``~/.cache/fateops/k8s/v1.20.2``)."""
    return harness_cache("k8s", f"v{KUBE_VERSION}")


def _complete(directory: Path) -> bool:
    return all((directory / name).is_file() and os.access(directory / name, os.X_OK)
               for name in KUBE_BINARIES)


@functools.cache
def binary_version(bin_dir: Path) -> tuple[int, int]:
    """(major, minor) reported by ``kube-apiserver --version`` (flags differ between releases)."""
    proc = subprocess.run([str(bin_dir / "kube-apiserver"), "--version"], capture_output=True, text=True,
                          timeout=30, check=False)
    match = re.search(r"v(\d+)\.(\d+)", proc.stdout + proc.stderr)
    if not match:
        raise HarnessError(
            f"cannot read the version of {bin_dir / 'kube-apiserver'}: {proc.stderr.strip()}",
            fix="point KUBEBUILDER_ASSETS at a directory of working envtest binaries or unset it",
        )
    return int(match.group(1)), int(match.group(2))


def ensure_kube_binaries() -> Path:
    """Directory holding kube-apiserver, kube-controller-manager and kube-scheduler; builds them if needed."""
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        if _complete(Path(assets)):
            log.info("using Kubernetes binaries from KUBEBUILDER_ASSETS=%s", assets)
            return Path(assets)
        log.warning("KUBEBUILDER_ASSETS=%s lacks one of %s; using the harness's own build",
                    assets, ", ".join(KUBE_BINARIES))
    final = kube_root() / "bin"
    if _complete(final):
        return final
    with build_lock(f"k8s-v{KUBE_VERSION}", timeout=3600):
        if _complete(final):
            return final
        _build(final)
    return final


def ensure_etcd() -> Path:
    """Path of an ``etcd`` server binary (Debian's etcd-server is installed if none is on PATH)."""
    found = shutil.which("etcd")
    if found:
        return Path(found)
    apt_install(["etcd-server"], log_file=harness_cache("logs") / "apt.log")
    found = shutil.which("etcd")
    if not found:
        raise HarnessError("etcd is not on PATH after installing etcd-server",
                           fix="apt-get install etcd-server (Debian) and make sure /usr/bin is on PATH")
    return Path(found)


def _build(final: Path) -> None:
    started = time.monotonic()
    root = kube_root()
    build_log = root / "build.log"
    build_log.write_text("")
    log.info("building Kubernetes %s from Debian's source package (≈6 min on 2 cores); log: %s",
             KUBE_VERSION, build_log)
    missing = [p for p in BUILD_PACKAGES if not dpkg_installed(p)]
    if missing or shutil.which("go") is None:
        apt_install(sorted(set(missing) | {"golang-go"}), log_file=build_log)
    tarball = _source_tarball(build_log)
    stage = staging_dir(root, "build")
    try:
        log.info("unpacking %s", tarball.name)
        run_logged(["tar", "-xf", str(tarball), "-C", str(stage)], log_file=build_log, timeout=1200,
                   what="tar (unpack the kubernetes source)")
        trees = [p for p in stage.iterdir() if p.is_dir() and (p / "Makefile").exists()]
        if not trees:
            raise HarnessError(f"{tarball} holds no Kubernetes tree with a Makefile",
                               fix=f"remove {tarball} so it is downloaded again")
        tree = trees[0]
        home = stage / "home"
        home.mkdir()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "GOPROXY": "off",
            "GOFLAGS": "",
            "CGO_ENABLED": "0",
            "LANG": "C",
        }
        what = " ".join(f"cmd/{name}" for name in KUBE_BINARIES)
        log.info("running make WHAT=%r (progress every 60 s)", what)
        with _progress("kube build", started):
            run_logged(["make", f"WHAT={what}", "KUBE_BUILD_PLATFORMS=linux/amd64"], cwd=tree, env=env,
                       log_file=build_log, timeout=3600, what="make (Kubernetes build)")
        out_bin = stage / "bin"
        out_bin.mkdir()
        for name in KUBE_BINARIES:
            built = tree / "_output" / "bin" / name
            if not built.is_file():
                raise HarnessError(f"the build did not produce {name}", fix=f"read {build_log}")
            shutil.copy2(built, out_bin / name)
        install_atomically(out_bin, final)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    elapsed = time.monotonic() - started
    (root / "build-seconds.txt").write_text(f"{elapsed:.1f}\n")
    log.info("Kubernetes %s binaries ready in %s after %.0f s", KUBE_VERSION, final, elapsed)


def _source_tarball(build_log: Path) -> Path:
    """Download (once) the ``kubernetes`` source package with a private deb-src apt configuration."""
    src_dir = harness_cache("k8s", "src")
    existing = sorted(src_dir.glob("kubernetes_*.orig.tar.*"))
    if existing:
        return existing[0]
    apt_dir = harness_cache("k8s", "apt-src")
    (apt_dir / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt_dir / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    sources = apt_dir / "sources.list"
    sources.write_text(DEB_SRC_LINE + "\n")
    opts = [
        "-o", f"Dir::Etc::sourcelist={sources}",
        "-o", "Dir::Etc::sourceparts=/dev/null",
        "-o", f"Dir::State::Lists={apt_dir / 'lists'}",
        "-o", f"Dir::Cache={apt_dir / 'cache'}",
    ]
    log.info("fetching Debian's kubernetes source package (private deb-src config in %s)", apt_dir)
    run_logged(["apt-get", *opts, "update"], log_file=build_log, timeout=600, what="apt-get update (deb-src)")
    tmp = staging_dir(src_dir, "dl")
    try:
        run_logged(["apt-get", *opts, "source", "--download-only", "kubernetes"], cwd=tmp, log_file=build_log,
                   timeout=1800, what="apt-get source kubernetes")
        for item in tmp.iterdir():
            item.replace(src_dir / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    found = sorted(src_dir.glob("kubernetes_*.orig.tar.*"))
    if not found:
        raise HarnessError("apt-get source kubernetes gave no orig tarball",
                           fix=f"check {build_log}; the line '{DEB_SRC_LINE}' must be reachable")
    return found[0]


class _progress:
    """Log 'still building' every minute so a long cold build doesn't look hung."""

    def __init__(self, what: str, started: float) -> None:
        self._what = what
        self._started = started
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(60):
            log.info("%s still running (%.0f s so far)", self._what, time.monotonic() - self._started)

    def __enter__(self) -> _progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
