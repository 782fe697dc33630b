"""An MLflow tracking server (and UI) on 127.0.0.1: the demo's UI over the embedded store, the tests' server.

Detached with a pid file like the Airflow components; ``/health`` answering ``OK`` means it serves.
One worker: a laptop UI and a test server need no more, and the machine is shared.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from fateops.exceptions import FateopsError
from fateops.paths import state_dir
from fateops.supervise import read_pid, spawn, stop_pid_file, wait_daemon
from fateops.tracking.store import TrackingLocation, embedded_location

log = logging.getLogger(__name__)


class MlflowServerError(FateopsError):
    """The MLflow server could not be started or did not become healthy."""

    default_fix = "read the server log named above (make demo-down, then retry)"


@dataclass
class MlflowServer:
    """``mlflow server`` over ``store`` (default: the embedded SQLite store), bound to 127.0.0.1."""

    port: int = field(default_factory=lambda: int(os.environ.get("FATEOPS_MLFLOW_PORT", "5000")))
    store: TrackingLocation = field(default_factory=embedded_location)
    home: Path = field(default_factory=lambda: state_dir() / "mlflow")
    bin_dir: Path = field(default_factory=lambda: Path(sys.executable).parent)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "server.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "server.log"

    def running(self) -> int | None:
        return read_pid(self.pid_file)

    def start(self, timeout_s: float = 300) -> str:
        """Start unless running, wait for ``/health``; returns the URL."""
        if self.running() is None:
            artifacts = self.store.artifact_root or self.home / "artifacts"
            artifacts.mkdir(parents=True, exist_ok=True)
            cmd = [str(self.bin_dir / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(self.port),
                   "--workers", "1", "--backend-store-uri", self.store.uri, "--artifacts-destination", str(artifacts)]
            env = {**os.environ, "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
            pid = spawn(cmd, pid_file=self.pid_file, log_file=self.log_file, env=env)
            log.info("mlflow server started on %s (pid %s)", self.url, pid)
        self.wait_healthy(timeout_s)
        return self.url

    def probe(self) -> str:
        """'' when ``/health`` answers, else what is wrong."""
        try:
            status = httpx.get(f"{self.url}/health", timeout=3.0).status_code
        except httpx.HTTPError as err:
            return f"{self.url}/health does not answer ({err.__class__.__name__})"
        return "" if status == 200 else f"{self.url}/health answered {status}"

    def wait_healthy(self, timeout_s: float) -> None:
        wait_daemon("mlflow server", self.running, self.probe, timeout_s=timeout_s, log_file=self.log_file,
                    error=MlflowServerError, fix=f"read {self.log_file} (make demo-down, then retry)", poll_s=1.0)

    def stop(self, grace_s: float = 8.0) -> bool:
        return stop_pid_file(self.pid_file, grace_s=grace_s)
