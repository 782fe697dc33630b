"""A site's own RabbitMQ node (Debian's ``rabbitmq-server``): FATE's federation broker in multi-site mode.

Each party's FATE talks only to its own broker; FATE's ``replication`` mode federates the job's queues
from the other party's broker (named in ``rabbitmq_route_table.yaml``). A node is private to its site:
its own node name, AMQP/management/distribution ports on 127.0.0.1, its own mnesia, logs, plugins and
feature flags under the site folder. Debian's wrapper drops root to user ``rabbitmq``, so as root that
folder is given to it. Erlang's port mapper (epmd, 4369) is shared by every node on the machine and
outlives them: it is not ours to stop.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from fateops.engine.install import file_lock
from fateops.exceptions import EngineError
from fateops.supervise import chown_tree, drop_user, read_pid, spawn, stop_pid_file, unreachable_parent, wait_daemon

log = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
PLUGINS = "[rabbitmq_management,rabbitmq_federation,rabbitmq_federation_management]."
# The broker's built-in account: RabbitMQ only lets it in from loopback, and every listener here is loopback.
# FATE creates (and removes) its own per-job users and vhosts through the management API with it.
USER = "guest"
PASSWORD = "guest"  # RabbitMQ's documented loopback-only default, not a secret


def rabbitmq_conf(*, host: str, amqp: int, management: int, loopback_only_guest: bool = False) -> str:
    """A site broker's ``rabbitmq.conf``: AMQP and the management API (FATE's federation needs both) on
    ``host``. A local site binds 127.0.0.1 and lets ``guest`` in (nothing else can reach it); a compose
    broker listens on its network and keeps ``guest`` loopback-only (its user comes from the environment)."""
    return (f"listeners.tcp.default = {host}:{amqp}\n"
            f"management.tcp.port = {management}\n"
            f"management.tcp.ip = {host}\n"
            + ("loopback_users.guest = true\n" if loopback_only_guest else "loopback_users = none\n"))


class BrokerError(EngineError):
    """A site's RabbitMQ node could not be started, reached or stopped."""

    default_fix = "read the node's logs in <site>/rabbitmq/log and out.log"


@dataclass(frozen=True)
class BrokerPorts:
    """Where a node listens: AMQP, management HTTP, Erlang distribution."""

    amqp: int
    management: int
    dist: int


class RabbitNode:
    """One private RabbitMQ node: layout, start, health, stop — by node name and pid file."""

    def __init__(self, root: Path, *, name: str, ports: BrokerPorts, host: str = "127.0.0.1") -> None:
        self.root = root
        self.name = name
        self.ports = ports
        self.host = host

    @property
    def node(self) -> str:
        return f"{self.name}@localhost"

    @property
    def pid_file(self) -> Path:
        """The spawned wrapper's pid (our handle on the process group)."""
        return self.root / "rabbitmq-server.pid"

    @property
    def beam_pid_file(self) -> Path:
        return self.root / "beam.pid"

    @property
    def out_log(self) -> Path:
        return self.root / "out.log"

    @property
    def management_url(self) -> str:
        return f"http://{self.host}:{self.ports.management}"

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    # -- layout ------------------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        r = self.root
        env = {key: os.environ[key] for key in ("LANG", "LC_ALL", "TZ") if key in os.environ}
        env.update(
            PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", HOME=str(r),
            RABBITMQ_NODENAME=self.node, RABBITMQ_NODE_IP_ADDRESS=self.host,
            RABBITMQ_NODE_PORT=str(self.ports.amqp), RABBITMQ_DIST_PORT=str(self.ports.dist),
            RABBITMQ_MNESIA_BASE=str(r / "mnesia"), RABBITMQ_LOG_BASE=str(r / "log"),
            RABBITMQ_CONFIG_FILE=str(r / "rabbitmq"), RABBITMQ_ENABLED_PLUGINS_FILE=str(r / "enabled_plugins"),
            RABBITMQ_FEATURE_FLAGS_FILE=str(r / "feature_flags"), RABBITMQ_PLUGINS_EXPAND_DIR=str(r / "plugins-expand"),
            RABBITMQ_PID_FILE=str(self.beam_pid_file),
        )
        return env

    def layout(self) -> None:
        closed = unreachable_parent(self.root)
        if closed is not None:
            raise BrokerError(f"{closed} is closed to other users: RabbitMQ, which runs as user 'rabbitmq', "
                              f"cannot reach {self.root}",
                              fix="put the state dir under a folder others can traverse (FATEOPS_STATE_DIR)")
        for sub in ("mnesia", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "enabled_plugins").write_text(PLUGINS + "\n")
        (self.root / "rabbitmq.conf").write_text(rabbitmq_conf(host=self.host, amqp=self.ports.amqp,
                                                                management=self.ports.management))
        chown_tree([self.root], drop_user("rabbitmq"))

    # -- health ------------------------------------------------------------------------------------
    def probe(self) -> str:
        """'' when the management API answers as our node, else what is wrong."""
        try:
            response = httpx.get(f"{self.management_url}/api/overview", auth=(USER, PASSWORD),
                                 timeout=httpx.Timeout(5.0, connect=2.0))
        except httpx.HTTPError as err:
            return f"{self.management_url} does not answer ({err.__class__.__name__})"
        if response.status_code != 200:
            return f"{self.management_url} answered {response.status_code}"
        node = response.json().get("node")
        if node != self.node:
            return f"port {self.ports.management} is another node's ({node}), not {self.node}"
        return ""

    def wait_healthy(self, timeout_s: float = START_TIMEOUT_S) -> int:
        return wait_daemon(f"RabbitMQ node {self.node}", self.pid, self.probe, timeout_s=timeout_s,
                           log_file=self.out_log, error=BrokerError, poll_s=1.0,
                           fix=f"read {self.out_log} and {self.root}/log; are ports {self.ports} free?")

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, timeout_s: float = START_TIMEOUT_S) -> int:
        """Start unless running; returns the wrapper's pid once the management API answers."""
        with file_lock(self.root.with_suffix(".lock"), timeout_s=timeout_s + 60):
            if self.pid() is not None:
                return self.wait_healthy(timeout_s)
            self.layout()
            server = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
            if not Path(server).exists():
                raise BrokerError("rabbitmq-server is not installed",
                                  fix="`apt-get install rabbitmq-server` (or `make sysdeps`)")
            pid = spawn([server], pid_file=self.pid_file, log_file=self.out_log, env=self._env(), cwd=self.root)
            log.info("RabbitMQ node %s starting (pid %s), AMQP %s", self.node, pid, self.ports.amqp)
            try:
                return self.wait_healthy(timeout_s)
            except BrokerError:
                self.stop()
                raise

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """``rabbitmqctl stop`` (clean shutdown), then the wrapper's process group; True if it ran."""
        if self.pid() is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
        try:
            subprocess.run([ctl, "-n", self.node, "stop", str(self.beam_pid_file)], env=self._env(),
                           capture_output=True, timeout=timeout_s, check=False, cwd=self.root)
        except subprocess.TimeoutExpired:
            log.warning("rabbitmqctl stop of %s timed out; killing its process group", self.node)
        stop_pid_file(self.pid_file, grace_s=10.0)
        stop_pid_file(self.beam_pid_file, grace_s=5.0)  # su may have put the VM outside our group
        log.info("RabbitMQ node %s stopped", self.node)
        return True
