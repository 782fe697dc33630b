"""Airflow 3's components on 127.0.0.1 for the laptop demo and the REST-path tests.

``airflow standalone`` binds its log servers on 0.0.0.0, so we start api-server, scheduler,
dag-processor and triggerer ourselves (``--skip-serve-logs``), each detached with a pid file, and wait
for ``/api/v2/monitor/health`` to report all of them healthy.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from fateops.exceptions import FateopsError
from fateops.paths import PROJECT_ROOT, state_dir
from fateops.supervise import read_pid, spawn, stop_pid_file

log = logging.getLogger(__name__)

COMPONENTS: dict[str, list[str]] = {
    "api-server": ["api-server", "--host", "127.0.0.1"],
    "scheduler": ["scheduler", "--skip-serve-logs"],  # started through fateops.localstack.preload
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
HEALTH_KEYS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


class AirflowStackError(FateopsError):
    """The local Airflow components could not be started or reached."""

    default_fix = "read the component logs under .fateops/airflow/logs/ (make demo-down, then retry)"


@dataclass
class AirflowStack:
    """One Airflow home in the state dir, our dags/ and plugins/, components bound to 127.0.0.1."""

    port: int = field(default_factory=lambda: int(os.environ.get("FATEOPS_AIRFLOW_PORT", "8080")))
    home: Path = field(default_factory=lambda: state_dir() / "airflow")
    bin_dir: Path = field(default_factory=lambda: Path(sys.executable).parent)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def password_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json.generated"

    def env(self) -> dict[str, str]:
        """The environment every component and CLI call shares (also what a user exports to poke at it)."""
        env = dict(os.environ)
        env.update(airflow_env(self.home, port=self.port))
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env.update(self.extra_env)
        return env

    def _pid_file(self, component: str) -> Path:
        return self.home / "pids" / f"{component}.pid"

    def migrate(self, timeout_s: float = 300) -> None:
        """Create or upgrade the metadata DB (idempotent)."""
        self.home.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(self.bin_dir / "airflow"), "db", "migrate"], env=self.env(), check=True,
                       capture_output=True, timeout=timeout_s)

    def running(self) -> dict[str, int | None]:
        return {name: read_pid(self._pid_file(name)) for name in COMPONENTS}

    def start(self, timeout_s: float = 180) -> dict[str, object]:
        """Start whatever is not running yet, then wait until all four report healthy."""
        self.migrate()
        env = self.env()
        for name, args in COMPONENTS.items():
            if read_pid(self._pid_file(name)) is not None:
                continue
            cmd = self.command(name, args)
            if name == "api-server":
                cmd += ["--port", str(self.port)]
            pid = spawn(cmd, pid_file=self._pid_file(name), log_file=self.home / "logs" / f"{name}.log", env=env)
            log.info("airflow %s started (pid %s)", name, pid)
        return self.wait_healthy(timeout_s)

    def command(self, name: str, args: list[str]) -> list[str]:
        """The scheduler starts through :mod:`fateops.localstack.preload`: its LocalExecutor forks every
        task process, which then inherits the task code's imports instead of paying them per task."""
        if name == "scheduler":
            return [str(self.bin_dir / "python"), "-m", "fateops.localstack.preload", *args]
        return [str(self.bin_dir / "airflow"), *args]

    def health(self) -> dict[str, object] | None:
        try:
            response = httpx.get(f"{self.url}/api/v2/monitor/health", timeout=3.0)
            return response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    def wait_healthy(self, timeout_s: float) -> dict[str, object]:
        deadline = time.monotonic() + timeout_s
        health: dict[str, object] | None = None
        while time.monotonic() < deadline:
            health = self.health()
            if health and all(
                isinstance(health.get(k), dict) and health[k].get("status") == "healthy"  # type: ignore[union-attr]
                for k in HEALTH_KEYS
            ):
                return health
            dead = [name for name, pid in self.running().items() if pid is None]
            if dead:
                raise AirflowStackError(f"airflow component(s) exited during start-up: {', '.join(dead)}")
            time.sleep(1)
        raise AirflowStackError(f"Airflow not healthy after {timeout_s:.0f}s: {json.dumps(health)}")

    def restart(self, component: str, timeout_s: float = 180) -> int:
        """Stop one component and start it again (a fresh process); returns its new pid."""
        stop_pid_file(self._pid_file(component), grace_s=8.0)
        self.start(timeout_s=timeout_s)
        pid = read_pid(self._pid_file(component))
        if pid is None:
            raise AirflowStackError(f"airflow {component} did not come back after a restart")
        return pid

    def stop(self, grace_s: float = 8.0) -> list[str]:
        """Stop every component (SIGTERM, then SIGKILL: api-server and triggerer may ignore TERM)."""
        return [name for name in COMPONENTS if stop_pid_file(self._pid_file(name), grace_s=grace_s)]

    def admin_password(self) -> str | None:
        try:
            return json.loads(self.password_file.read_text()).get("admin")
        except (FileNotFoundError, ValueError):
            return None


def airflow_env(home: Path, *, port: int = 8080) -> dict[str, str]:
    """Airflow settings for a fateops checkout: our dags/plugins, loopback only, small parallelism."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": os.environ.get("AIRFLOW__CORE__PARALLELISM", "4"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        # new DAG files are seen within 5 s; unchanged ones are re-parsed every 60 s, not every 5 s: a
        # re-parse of every DAG file every 5 s cost ≈20 % of a core (seen here), taken from the tasks on 2 cores
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
        # the scheduler's idle pause bounds how long a finished task's downstream waits to be queued
        # (no mini-scheduler in Airflow 3): 1 s → 0.5 s halves that on each step of the pipeline's chain
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        # a task's calls to the api-server: the 5 s default failed tasks before they started on a busy laptop
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT / "plugins"), os.environ.get("PYTHONPATH")])),
    }
