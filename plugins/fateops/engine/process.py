"""Run the FATE Flow server of the local engine: start, health, stop — by pid, with deadlines.

The server runs detached in its own session (so an Airflow task that started it can exit) with a pid
file in the state dir; FATE task processes it spawns share its process group, so stopping signals the
whole group: SIGTERM, a grace period, then SIGKILL.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from fateops.engine.home import HOME_ENV, EngineConfig, prepare_home
from fateops.engine.install import EngineInstall, file_lock, install_engine
from fateops.exceptions import EngineError, FateopsError
from fateops.supervise import log_tail, read_pid, spawn, stop_pid_file

log = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0
STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class EngineStatus:
    """What `fateops engine status` prints and the bootstrap DAG reports."""

    installed: bool
    running: bool
    healthy: bool
    pid: int | None
    url: str
    home: str
    version: str | None = None
    components: tuple[str, ...] = ()
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["components"] = list(self.components)
        return data


# FATE logs its workers' whole environment ("RUN ENV"): pass on only what the engine needs, so nothing
# of the caller's (an Airflow worker's connections, tokens) can end up in FATE's logs.
_ENV_ALLOWLIST = ("HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PIP_FIND_LINKS", "OPENBLAS_CORETYPE",
                  "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")


def engine_environment(install: EngineInstall, home: Path) -> dict[str, str]:
    """The server's environment: a scrubbed copy of ours, the venv first on PATH, and its home."""
    env = {key: os.environ[key] for key in _ENV_ALLOWLIST if key in os.environ}
    env["PATH"] = f"{install.venv / 'bin'}{os.pathsep}/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    env["VIRTUAL_ENV"] = str(install.venv)
    env[HOME_ENV] = str(home)
    return env


class LocalEngine:
    """The embedded FATE 2.2 standalone engine of this checkout."""

    def __init__(self, config: EngineConfig | None = None, install: EngineInstall | None = None) -> None:
        self.config = config or EngineConfig.from_env()
        self.install = install or EngineInstall.default()

    # -- paths -------------------------------------------------------------------------------------
    @property
    def pid_file(self) -> Path:
        return self.config.home_dir.parent / "fate_flow.pid"

    @property
    def server_log(self) -> Path:
        return self.config.home_dir.parent / "server.log"

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    # -- health ------------------------------------------------------------------------------------
    def probe(self) -> tuple[str | None, tuple[str, ...], str]:
        """(version, components, problem): healthy means it answers *and* lists the fate components."""
        from fateops.fate.client import FateFlowClient
        from fateops.fate.retry import RetryPolicy

        try:
            with FateFlowClient(self.config.base_url, connect_timeout=2.0, read_timeout=10.0,
                                retry=RetryPolicy(max_attempts=1)) as client:
                version = client.health().version
                components = tuple(sorted(client.provider_components("fate").components))
        except FateopsError as err:
            return None, (), err.message
        if not components:
            return version, (), "the 'fate' provider lists no components (setuptools>=81 in the engine venv?)"
        return version, components, ""

    def status(self) -> EngineStatus:
        pid = self.pid()
        version, components, problem = self.probe() if pid else (None, (), "not running")
        return EngineStatus(
            installed=self.install.is_installed(), running=pid is not None, healthy=bool(components),
            pid=pid, url=self.config.base_url, home=str(self.config.home_dir), version=version,
            components=components, detail=problem,
        )

    def wait_healthy(self, timeout_s: float = START_TIMEOUT_S) -> EngineStatus:
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.status()
            if status.healthy:
                return status
            if not status.running:
                raise EngineError(f"the FATE Flow server exited during start-up: {self._log_tail()}",
                                  fix=f"read {self.server_log} and {self.config.home_dir}/logs")
            if time.monotonic() > deadline:
                raise EngineError(f"FATE Flow not healthy after {timeout_s:.0f}s ({status.detail})",
                                  fix=f"read {self.server_log}; is port {self.config.port} taken by another server?")
            time.sleep(0.5)

    def _log_tail(self, lines: int = 15) -> str:
        return log_tail(self.server_log, lines)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, timeout_s: float = START_TIMEOUT_S) -> EngineStatus:
        """Install if needed, then start unless already running; returns once healthy.

        Parties are provisioned by mapped tasks running side by side: a lock makes sure only one of
        them spawns the server and the others wait for it.
        """
        with file_lock(self.pid_file.with_suffix(".lock"), timeout_s=timeout_s + 1800):
            if self.pid() is not None:
                log.info("FATE engine already running (pid %s)", self.pid())
                return self.wait_healthy(timeout_s)
            return self._spawn_and_wait(timeout_s)

    def _spawn_and_wait(self, timeout_s: float) -> EngineStatus:
        install_engine(self.install)
        home = prepare_home(self.install, self.config)
        env = engine_environment(self.install, home)
        pid = spawn([str(self.install.python), str(self.install.server_script)], pid_file=self.pid_file,
                    log_file=self.server_log, env=env, cwd=home)
        log.info("FATE engine starting (pid %s) at %s, home %s", pid, self.config.base_url, home)
        try:
            status = self.wait_healthy(timeout_s)
        except EngineError:
            self.stop()
            raise
        log.info("FATE engine %s healthy with %d components", status.version, len(status.components))
        return status

    def stop(self, grace_s: float = STOP_GRACE_S) -> bool:
        """Stop the server and the FATE task processes in its group; True if something was stopped."""
        stopped = stop_pid_file(self.pid_file, grace_s=grace_s)
        if stopped:
            log.info("FATE engine stopped")
        return stopped
