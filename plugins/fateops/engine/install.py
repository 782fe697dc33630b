"""Install the FATE 2.2 engine into its own venv under the cache, once per requirements hash.

The venv is keyed by a hash of ``requirements.txt`` (plus the interpreter version), so ``install`` is a
no-op when that exact engine is already there, and changing a pin builds a fresh venv beside the old one.
A marker file is written last: a half-finished install (killed, disk full) is detected and redone.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fateops.exceptions import EngineError
from fateops.paths import cache_dir

log = logging.getLogger(__name__)

REQUIREMENTS_FILE = Path(__file__).with_name("requirements.txt")
PYTHON_SERIES = "3.11"
INSTALL_TIMEOUT_S = 1800
MARKER = "fateops-engine.json"


def _requirements() -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in REQUIREMENTS_FILE.read_text().splitlines())
    return [line for line in lines if line]


def spec_hash() -> str:
    """Cache key of the engine: what we install and for which Python series."""
    digest = hashlib.sha256(REQUIREMENTS_FILE.read_bytes() + PYTHON_SERIES.encode()).hexdigest()
    return digest[:12]


def find_python311() -> Path:
    """An interpreter of the only series FATE 2.2 supports; pyenv first, then PATH, then ourselves."""
    candidates: list[Path] = []
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted((pyenv_root / "versions").glob(f"{PYTHON_SERIES}.*/bin/python"), reverse=True)
    on_path = shutil.which(f"python{PYTHON_SERIES}")
    if on_path:
        candidates.append(Path(on_path))
    if sys.version_info[:2] == (3, 11):
        candidates.append(Path(sys.executable))
    for candidate in candidates:
        if candidate.exists() and os.access(candidate, os.X_OK):
            return candidate
    raise EngineError(
        "no Python 3.11 interpreter found (FATE 2.2 only ships wheels for Python 3.8–3.11)",
        fix="install one: `pyenv install 3.11` or `apt-get install python3.11 python3.11-venv`",
    )


@contextmanager
def file_lock(path: Path, timeout_s: float = INSTALL_TIMEOUT_S) -> Iterator[None]:
    """Serialise installs across processes (two test workers, the demo and CI on one machine)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EngineError(f"timed out waiting for the install lock {path}") from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class EngineInstall:
    """Where an installed engine lives; cheap to build, does no I/O."""

    root: Path

    @classmethod
    def default(cls) -> EngineInstall:
        """The cached engine for this spec; ``FATEOPS_ENGINE_ROOT`` pins another (one venv = one home)."""
        override = os.environ.get("FATEOPS_ENGINE_ROOT")
        return cls(Path(override)) if override else cls(cache_dir() / "engine" / spec_hash())

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        return self.venv / "lib" / f"python{PYTHON_SERIES}" / "site-packages"

    @property
    def server_script(self) -> Path:
        return self.site_packages / "fate_flow" / "fate_flow_server.py"

    @property
    def marker(self) -> Path:
        return self.root / MARKER

    def is_installed(self) -> bool:
        try:
            info = json.loads(self.marker.read_text())
        except (FileNotFoundError, ValueError):
            return False
        return info.get("spec_hash") == spec_hash() and self.server_script.exists()


def _run(cmd: list[str | Path], *, log_file: Path, timeout_s: float = INSTALL_TIMEOUT_S) -> None:
    shown = " ".join(str(c) for c in cmd)
    log.info("engine install: %s", shown)
    with log_file.open("a") as out:
        out.write(f"\n$ {shown}\n")
        out.flush()
        try:
            proc = subprocess.run([str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise EngineError(f"engine install step timed out after {timeout_s:.0f}s: {shown}",
                              fix=f"check network access to PyPI and read {log_file}") from None
    if proc.returncode != 0:
        raise EngineError(f"engine install step failed (exit {proc.returncode}): {shown}",
                          fix=f"read {log_file}; `rm -rf` the engine dir to retry from scratch")


def _uv() -> Path:
    """uv resolves FATE's pin clash with an override, which pip cannot; kept in the cache's tools venv."""
    found = shutil.which("uv")
    if found:
        return Path(found)
    tools = cache_dir() / "tools"
    uv = tools / "bin" / "uv"
    if not uv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True, timeout=300)
        subprocess.run([str(tools / "bin" / "pip"), "install", "-q", "uv"], check=True, timeout=600)
    return uv


def install_engine(target: EngineInstall | None = None) -> EngineInstall:
    """Install the engine if needed; returns where it is. Idempotent and safe to call concurrently."""
    target = target or EngineInstall.default()
    if target.is_installed():
        log.info("FATE engine already installed at %s", target.root)
        return target
    with file_lock(target.root.with_suffix(".lock")):
        if target.is_installed():
            return target
        started = time.monotonic()
        if target.root.exists():
            log.warning("removing a half-finished engine install at %s", target.root)
            shutil.rmtree(target.root)
        target.root.mkdir(parents=True)
        log_file = target.root / "install.log"
        pins = _requirements()
        torch, fate, override, *fixes = pins
        python = find_python311()
        _run([python, "-m", "venv", target.venv], log_file=log_file)
        _run([target.python, "-m", "pip", "install", "-q", torch], log_file=log_file)
        (target.root / "constraints.txt").write_text(torch + "\n")
        (target.root / "overrides.txt").write_text(override + "\n")
        find_links = ["--find-links", os.environ["PIP_FIND_LINKS"]] if os.environ.get("PIP_FIND_LINKS") else []
        uv = _uv()
        # copies, not hard links into uv's cache: FATE Flow's settings.py is rewritten per home
        link = ["--link-mode", "copy"]
        _run([uv, "pip", "install", *link, "--python", target.python, *find_links,
              "-c", target.root / "constraints.txt", "--override", target.root / "overrides.txt", fate],
             log_file=log_file)
        _run([uv, "pip", "install", *link, "--python", target.python, *fixes], log_file=log_file)
        target.marker.write_text(json.dumps({
            "spec_hash": spec_hash(), "requirements": pins, "python": str(python),
            "seconds": round(time.monotonic() - started, 1),
        }, indent=1))
        log.info("FATE engine installed at %s in %.0fs", target.root, time.monotonic() - started)
    return target
