"""A private Apache Traffic Server (Debian's ``trafficserver``) run from a runroot under a state dir.

The system package's layout lives in ``/etc`` and ``/var``; ``traffic_layout init`` makes a runroot whose
``runroot.yaml`` we point at our own ``etc``/``run``/``log``/``cache`` folders, so any number of instances
(the demo, the tests, another checkout) run side by side. On top of Debian's ``records.config`` we set
only what an Exchange needs: one HTTP port bound to 127.0.0.1, no caching (route, never store), a
small cache span in our folder, and the user the server drops to — ``trafficserver`` when we are root
(so its folders are chowned to it), ourselves otherwise.

``traffic_manager`` is started detached with a pid file and stopped by that pid's process group; a
route change is written and applied with ``traffic_ctl config reload`` — the same process keeps
serving (no restart, no dropped connections).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from fateops.engine.install import file_lock
from fateops.exceptions import EngineError
from fateops.supervise import (
    chown_tree,
    drop_user,
    pid_alive,
    read_pid,
    spawn,
    stop_pid_file,
    unreachable_parent,
    wait_daemon,
)
from fateops.trafficserver.routes import NO_ROUTE_MARK, NO_ROUTE_STATUS, PARTY_HEADER, Destination, RouteTable

log = logging.getLogger(__name__)

SYSTEM_CONF = Path("/etc/trafficserver")
MODULES_DIR = Path("/usr/lib/trafficserver/modules")
START_TIMEOUT_S = 60.0
COMMAND_TIMEOUT_S = 30.0
CACHE_SPAN = "64M"
RULES_FILE = "fateops_routes.config"


class ExchangeError(EngineError):
    """The local Exchange (traffic-server) could not be set up, started, reloaded or reached."""

    default_fix = "read the Exchange's logs (traffic.out, diags.log) in its state folder"


def _binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise ExchangeError(f"{name} is not installed",
                            fix="`apt-get install trafficserver` (or `make sysdeps`: it is in system-packages.txt)")
    return found


def records_overrides(port: int, host: str, user: str) -> dict[str, str]:
    """The ``records.config`` settings we own (name → ``TYPE value``); everything else stays Debian's."""
    return {
        "proxy.config.http.server_ports": f"STRING {port}:ip-in={host}",
        "proxy.config.http.cache.http": "INT 0",
        "proxy.config.admin.user_id": f"STRING {user}",
        "proxy.config.reverse_proxy.enabled": "INT 1",
        "proxy.config.url_remap.remap_required": "INT 1",
        "proxy.config.http.insert_response_via_str": "INT 0",
        "proxy.config.log.logging_enabled": "INT 3",
        "proxy.config.log.max_secs_per_buffer": "INT 1",  # routed requests visible within a second
    }


# One binary access log of routed requests (read with traffic_logcat): which party each request was for,
# what it asked, the status and where the Exchange sent it.
LOGGING_YAML = """\
logging:
  formats:
    - name: exchange
      format: '%<cqtq> %<chi> %<cqhm> %<cqup> dest-party-id=%<{dest-party-id}cqh> %<pssc> %<nhi>:%<nhp> %<ttms>ms'
  logs:
    - filename: exchange
      format: exchange
      mode: binary
"""


def apply_records(text: str, overrides: dict[str, str]) -> str:
    """Drop the lines that set an overridden name, then append ours (one value per name, ours last)."""
    kept = [line for line in text.splitlines()
            if not (line.startswith("CONFIG ") and line.split()[1:2] and line.split()[1] in overrides)]
    kept.append("# fateops: the Exchange's own settings")
    kept += [f"CONFIG {name} {value}" for name, value in overrides.items()]
    return "\n".join(kept) + "\n"


@dataclass(frozen=True)
class Reload:
    """What applying a route table did (goes to XCom)."""

    changed: bool
    reloaded: bool
    pid: int | None
    routes: dict[str, str]

    def as_dict(self) -> dict[str, object]:
        return {"changed": self.changed, "reloaded": self.reloaded, "pid": self.pid, "routes": self.routes}


class TrafficServer:
    """One private traffic-server: layout, start, health, route table + reload, stop, access log."""

    def __init__(self, root: Path, *, port: int, host: str = "127.0.0.1") -> None:
        self.root = root
        self.port = port
        self.host = host

    # -- paths -------------------------------------------------------------------------------------
    @property
    def runroot(self) -> Path:
        return self.root / "rr"

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def rules_file(self) -> Path:
        return self.etc / RULES_FILE

    @property
    def table_file(self) -> Path:
        return self.etc / "fateops_routes.json"

    @property
    def pid_file(self) -> Path:
        return self.root / "traffic_manager.pid"

    @property
    def manager_log(self) -> Path:
        return self.root / "traffic_manager.out"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @staticmethod
    def server_user() -> str:
        """Root must drop privileges (ATS insists); anyone else runs it as themselves."""
        return drop_user("trafficserver")

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    # -- layout ------------------------------------------------------------------------------------
    def layout(self) -> None:
        """Create the runroot and our config (idempotent; records overrides re-applied every time)."""
        self._check_reachable()
        for folder in (self.etc, self.run_dir, self.log_dir, self.cache):
            folder.mkdir(parents=True, exist_ok=True)
        if not (self.runroot / "runroot.yaml").exists():
            self._ctl_run([_binary("traffic_layout"), "init", "--path", str(self.runroot)], check=False)
        if not (self.etc / "records.config").exists():
            shutil.copytree(SYSTEM_CONF, self.etc, dirs_exist_ok=True)
        (self.runroot / "runroot.yaml").write_text(self._runroot_yaml())
        records = self.etc / "records.config"
        records.write_text(apply_records(records.read_text(), records_overrides(self.port, self.host,
                                                                                 self.server_user())))
        (self.etc / "storage.config").write_text(f"{self.cache} {CACHE_SPAN}\n")
        (self.etc / "logging.yaml").write_text(LOGGING_YAML)
        if not self.rules_file.exists():
            self._write_routes(RouteTable())
        self._chown()

    def _check_reachable(self) -> None:
        """As root, traffic-server runs as ``trafficserver``: every folder above ours must let it through."""
        closed = unreachable_parent(self.root)
        if closed is not None:
            raise ExchangeError(f"{closed} is closed to other users: traffic-server, which runs as user "
                                f"{self.server_user()!r}, cannot reach {self.root}",
                                fix="put the state dir under a folder others can traverse (FATEOPS_STATE_DIR), "
                                    "or `chmod o+x` that folder")

    def _runroot_yaml(self) -> str:
        rr = self.runroot
        dirs = {"prefix": rr, "exec_prefix": rr, "bindir": rr / "bin", "sbindir": rr / "sbin",
                "sysconfdir": self.etc, "datadir": self.cache, "includedir": rr / "include",
                "libdir": rr / "lib" / "trafficserver", "libexecdir": MODULES_DIR, "localstatedir": self.run_dir,
                "runtimedir": self.run_dir, "logdir": self.log_dir, "cachedir": self.cache}
        return "".join(f"{key}: {value}\n" for key, value in dirs.items())

    def _chown(self) -> None:
        chown_tree((self.etc, self.run_dir, self.log_dir, self.cache), self.server_user())

    def _write_routes(self, table: RouteTable) -> bool:
        """Write rules + remap (+ the table as JSON); True when the routes changed."""
        changed = False
        data = {str(pid): {"host": dest.host, "port": dest.port} for pid, dest in table.routes}
        for path, text in ((self.rules_file, table.header_rewrite()),
                           (self.etc / "remap.config", table.remap_config(self.rules_file)),
                           (self.table_file, json.dumps(data, indent=1) + "\n")):
            if not path.exists() or path.read_text() != text:
                fresh = path.with_suffix(path.suffix + ".fateops-tmp")
                fresh.write_text(text)
                os.replace(fresh, path)
                changed = True
        return changed

    # -- health ------------------------------------------------------------------------------------
    def probe(self) -> str:
        """'' when traffic-server answers with our routing in place, else what is wrong.

        A request without ``dest-party-id`` must meet the catch-all rule (404, our reason): that proves
        the port is ours, the remap plugin loaded and the rules parsed.
        """
        try:
            response = httpx.get(self.url + "/", timeout=httpx.Timeout(5.0, connect=2.0))
        except httpx.HTTPError as err:
            return f"{self.url} does not answer ({err.__class__.__name__})"
        if response.status_code != NO_ROUTE_STATUS or "ATS" not in response.headers.get("server", ""):
            return (f"{self.url} answered {response.status_code} ({response.headers.get('server', 'no server header')})"
                    " instead of traffic-server's no-route 404: is another server on that port?")
        return ""

    def healthy(self) -> bool:
        return self.pid() is not None and not self.probe()

    def wait_healthy(self, timeout_s: float = START_TIMEOUT_S) -> int:
        return wait_daemon("the Exchange (traffic_manager)", self.pid, self.probe, timeout_s=timeout_s,
                           log_file=self.manager_log, error=ExchangeError,
                           fix=f"read {self.manager_log} and {self.log_dir}/diags.log; is port {self.port} taken?")

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, table: RouteTable | None = None, timeout_s: float = START_TIMEOUT_S) -> int:
        """Start unless running (then only apply ``table``); returns traffic_manager's pid once healthy.

        Every party's provisioning task makes sure the Exchange runs, side by side: a lock lets one spawn it.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with file_lock(self.root / "start.lock", timeout_s=timeout_s + 60):
            if self.pid() is not None:
                if table is not None:
                    self.apply(table)
                return self.wait_healthy(timeout_s)
            return self._spawn(table, timeout_s)

    def _spawn(self, table: RouteTable | None, timeout_s: float) -> int:
        self.layout()
        if table is not None:
            self._write_routes(table)
            self._chown()
        pid = spawn([_binary("traffic_manager"), f"--run-root={self.runroot}"], pid_file=self.pid_file,
                    log_file=self.manager_log, env=self._env())
        log.info("Exchange (traffic-server) starting, pid %s, on %s", pid, self.url)
        try:
            return self.wait_healthy(timeout_s)
        except ExchangeError:
            self.stop()
            raise

    def stop(self, grace_s: float = 10.0) -> bool:
        """Stop traffic_manager and the traffic_server it runs (one process group); True if it ran."""
        stopped = stop_pid_file(self.pid_file, grace_s=grace_s)
        if stopped:
            log.info("Exchange (traffic-server) stopped")
        return stopped

    def apply(self, table: RouteTable, *, timeout_s: float = COMMAND_TIMEOUT_S) -> Reload:
        """Write ``table``; if the bytes changed and the server runs, ``traffic_ctl config reload`` it."""
        before = self.current_table()
        changed = self._write_routes(table)
        self._chown()
        pid = self.pid()
        reloaded = False
        if changed and pid is not None:
            self.reload(timeout_s=timeout_s)
            self.wait_routes(before, table, timeout_s=timeout_s)
            reloaded = True
        return Reload(changed=changed, reloaded=reloaded, pid=pid, routes=table.as_dict())

    def current_table(self) -> RouteTable:
        """The table last written (empty before the first)."""
        try:
            data = json.loads(self.table_file.read_text())
        except (FileNotFoundError, ValueError):
            return RouteTable()
        return RouteTable.of((int(k), Destination(v["host"], int(v["port"]))) for k, v in data.items())

    def routed_by_us(self, party_id: int) -> bool:
        """False when the Exchange itself answers 'no route' for ``party_id`` (the backend may still be down)."""
        try:
            response = self.route_request(party_id, timeout_s=5.0)
        except httpx.HTTPError:
            return True  # the request got past our rules to a backend that did not answer
        return NO_ROUTE_MARK not in response.headers

    def wait_routes(self, before: RouteTable, after: RouteTable, *, timeout_s: float = COMMAND_TIMEOUT_S) -> None:
        """Block until the reload took effect: added parties are routed, removed ones get our no-route 404.

        ``config reload`` returns before traffic-server has re-read anything; checking the parties whose
        route changed makes the reload's effect, not its request, what a caller waits for.
        """
        expect = {pid: True for pid in set(after.party_ids) - set(before.party_ids)}
        expect |= {pid: False for pid in set(before.party_ids) - set(after.party_ids)}
        deadline = time.monotonic() + timeout_s
        while expect:
            expect = {pid: routed for pid, routed in expect.items() if self.routed_by_us(pid) != routed}
            if not expect:
                return
            if time.monotonic() > deadline:
                raise ExchangeError(f"traffic_ctl config reload did not take effect in {timeout_s:.0f}s "
                                    f"for parties {sorted(expect)}", fix=f"read {self.log_dir}/diags.log")
            time.sleep(0.3)

    def reload(self, *, timeout_s: float = COMMAND_TIMEOUT_S) -> None:
        """``traffic_ctl config reload``: the running server re-reads remap + rules (same pid)."""
        self._ctl_run([_binary("traffic_ctl"), f"--run-root={self.runroot}", "config", "reload"],
                      timeout_s=timeout_s)

    def _env(self) -> dict[str, str]:
        keep = ("HOME", "LANG", "LC_ALL", "TZ")
        env = {key: os.environ[key] for key in keep if key in os.environ}
        env["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        return env

    def _ctl_run(self, cmd: list[str], *, check: bool = True, timeout_s: float = COMMAND_TIMEOUT_S) -> str:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False,
                                  env=self._env())
        except subprocess.TimeoutExpired:
            raise ExchangeError(f"{' '.join(cmd)} did not finish in {timeout_s:.0f}s") from None
        if check and proc.returncode != 0:
            raise ExchangeError(f"{' '.join(cmd)} failed (exit {proc.returncode}): "
                                f"{(proc.stderr or proc.stdout).strip()[-500:]}")
        return proc.stdout

    # -- routing checks and the access log --------------------------------------------------------
    def route_request(self, party_id: int, path: str = "/", *, timeout_s: float = 10.0) -> httpx.Response:
        """A request through the Exchange as FATE Flow sends one to ``party_id``."""
        return httpx.get(self.url + path, headers={PARTY_HEADER: str(party_id), "service": "fateflow"},
                         timeout=httpx.Timeout(timeout_s, connect=2.0))

    def access_log(self, *, tail: int = 200) -> list[str]:
        """The routed requests (``traffic_logcat`` of the binary squid log), newest last."""
        blog = self.log_dir / "exchange.blog"
        if not blog.exists():
            return []
        out = self._ctl_run([_binary("traffic_logcat"), str(blog)], check=False)
        return out.splitlines()[-tail:]

    def is_running_same(self, pid: int) -> bool:
        """True when ``pid`` is still our traffic_manager (a reload must not have restarted it)."""
        return self.pid() == pid and pid_alive(pid)
