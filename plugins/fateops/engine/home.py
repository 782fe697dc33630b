"""The engine's home: conf, sqlite job DB, tables, models and logs, in this checkout's state dir.

FATE Flow reads its directories from constants in ``fate_flow/settings.py`` *inside site-packages*
(``fate_flow init`` rewrites that file with one fixed home). The venv is shared through the cache by every
checkout (the demo on 9380 and the tests on 9480 may run at once), so instead we rewrite those constants,
once per venv, to read the home from ``$FATEOPS_FATE_HOME``: the server gets it from us and FATE's task
processes inherit it, so one venv serves any number of homes side by side.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from fateops.engine.install import EngineInstall
from fateops.exceptions import ConfigError
from fateops.files import write_atomic
from fateops.paths import state_dir

_SETTINGS = {
    "LOG_DIR": "logs",
    "DATA_DIR": "data",
    "MODEL_DIR": "model",
    "JOB_DIR": "jobs",
    "UPLOAD_DATA_HOME": "upload",
    "SQLITE_FILE_NAME": "fate_flow_sqlite.db",
    "DEFAULT_SERVER_CONF_PATH": "conf",
}


@dataclass(frozen=True)
class Federated:
    """A site's place in a multi-site federation (FATE's multi-party mode), written into its service_conf.

    ``party_id`` is who this FATE Flow is; inter-party commands go to the Exchange as plain HTTP
    (``proxy_name: nginx`` + ``dest-party-id`` header); FATE's data moves through this site's own
    RabbitMQ (``mode: replication``), which federates queues from the broker of each other party listed
    in ``broker_routes`` (→ ``conf/rabbitmq_route_table.yaml``).
    """

    party_id: int
    exchange_host: str
    exchange_port: int
    broker_host: str
    broker_port: int
    broker_management_port: int
    broker_routes: tuple[tuple[int, str, int], ...]  # (party id, broker host, AMQP port)
    broker_user: str = "guest"
    broker_password: str = "guest"  # loopback-only default (see engine.broker)

    def apply(self, conf: dict[str, object]) -> None:
        """Switch a standalone ``service_conf`` to this site's multi-party settings (in place)."""
        conf["party_id"] = str(self.party_id)
        fateflow = conf["fateflow"]
        engines = conf["default_engines"]
        federation = conf.setdefault("federation", {})
        assert isinstance(fateflow, dict) and isinstance(engines, dict) and isinstance(federation, dict)
        fateflow["proxy_name"] = "nginx"
        engines.update(computing="standalone", federation="rabbitmq", storage="standalone")
        federation["nginx"] = {"host": self.exchange_host, "http_port": self.exchange_port,
                               "grpc_port": self.exchange_port, "protocol": "http"}
        federation["rabbitmq"] = {"host": self.broker_host, "port": self.broker_port,
                                  "mng_port": self.broker_management_port, "user": self.broker_user,
                                  "password": self.broker_password, "mode": "replication"}

    def route_table(self) -> dict[str, dict[str, object]]:
        return {str(pid): {"host": host, "port": port} for pid, host, port in self.broker_routes}

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Federated | None:
        """A site described by ``FATEOPS_SITE_*`` variables (a container of ``docker-compose``'s sites), or
        None without ``FATEOPS_SITE_PARTY_ID``: ``PARTY_ID``; ``EXCHANGE`` host:port; ``BROKER``
        host:amqp:management; ``BROKER_ROUTES`` ``<party>=<host>:<port>,…``; ``BROKER_USER``/``_PASSWORD``."""
        if not env.get("FATEOPS_SITE_PARTY_ID"):
            return None
        try:
            exchange_host, exchange_port = env["FATEOPS_SITE_EXCHANGE"].rsplit(":", 1)
            broker_host, amqp, management = env["FATEOPS_SITE_BROKER"].rsplit(":", 2)
            routes = []
            for item in env["FATEOPS_SITE_BROKER_ROUTES"].split(","):
                party, address = item.split("=", 1)
                host, port = address.rsplit(":", 1)
                routes.append((int(party), host, int(port)))
            return cls(party_id=int(env["FATEOPS_SITE_PARTY_ID"]), exchange_host=exchange_host,
                       exchange_port=int(exchange_port), broker_host=broker_host, broker_port=int(amqp),
                       broker_management_port=int(management), broker_routes=tuple(routes),
                       broker_user=env.get("FATEOPS_SITE_BROKER_USER", cls.broker_user),
                       broker_password=env.get("FATEOPS_SITE_BROKER_PASSWORD", cls.broker_password))
        except (KeyError, ValueError) as err:
            raise ConfigError(f"the FATEOPS_SITE_* variables do not describe a site: {err!r}",
                              field="FATEOPS_SITE_*", value=err,
                              fix="re-render them with `fateops compose render`") from None


@dataclass(frozen=True)
class EngineConfig:
    """Where the engine listens and how much of the machine its tasks may use."""

    host: str = "127.0.0.1"
    port: int = 9380
    grpc_port: int = 9360
    cores: int = 8  # FATE's scheduling budget, not real CPUs: a job asks for 4 (job_default_config.yaml)
    home: Path | None = None
    federated: Federated | None = None  # None: the embedded single engine (FATE's standalone federation)

    @classmethod
    def from_env(cls) -> EngineConfig:
        """Settings from ``FATEOPS_ENGINE_{HOST,PORT,GRPC_PORT,CORES,HOME}`` (tests use spare ports)."""
        env = os.environ
        return cls(
            host=env.get("FATEOPS_ENGINE_HOST", cls.host),
            port=int(env.get("FATEOPS_ENGINE_PORT", cls.port)),
            grpc_port=int(env.get("FATEOPS_ENGINE_GRPC_PORT", cls.grpc_port)),
            cores=int(env.get("FATEOPS_ENGINE_CORES", cls.cores)),
            home=Path(env["FATEOPS_ENGINE_HOME"]) if env.get("FATEOPS_ENGINE_HOME") else None,
            federated=Federated.from_env(env),
        )

    @property
    def home_dir(self) -> Path:
        return self.home or state_dir() / "engine" / "home"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


HOME_ENV = "FATEOPS_FATE_HOME"
_HOME_HELPER = f"""
import os as _fateops_os  # fateops: directories follow ${HOME_ENV} (see fateops.engine.home)


def _fateops_home(relative):
    home = _fateops_os.environ.get("{HOME_ENV}", "")
    return _fateops_os.path.join(home, relative) if home else ""  # "" = FATE's built-in default
"""


def make_settings_home_aware(install: EngineInstall) -> None:
    """Rewrite FATE Flow's directory constants to follow ``$FATEOPS_FATE_HOME`` (idempotent)."""
    settings = install.site_packages / "fate_flow" / "settings.py"
    text = original = settings.read_text()
    if "_fateops_home" not in text:
        text = _HOME_HELPER + text
    for constant, relative in _SETTINGS.items():
        text = re.sub(rf"^{constant}\s*=.*$", f'{constant} = _fateops_home("{relative}")', text,
                      flags=re.MULTILINE)
    if text != original:
        # Replace, never write in place: uv hard-links installed files from its cache, so an in-place
        # write would edit that settings.py in every venv (and in the cache) at once.
        write_atomic(settings, text.encode())


def _write_service_conf(conf_dir: Path, config: EngineConfig) -> None:
    path = conf_dir / "service_conf.yaml"
    conf = yaml.safe_load(path.read_text())
    conf["fateflow"].update(host=config.host, http_port=config.port, grpc_port=config.grpc_port)
    conf["computing"]["standalone"]["cores"] = config.cores
    if config.federated is not None:
        config.federated.apply(conf)
        write_broker_routes(conf_dir, config.federated)
    path.write_text(yaml.safe_dump(conf, sort_keys=False))


def write_broker_routes(conf_dir: Path, federated: Federated) -> bool:
    """Write ``rabbitmq_route_table.yaml`` (party id → its broker); True when the content changed.

    FATE Flow 2.2 reads this file afresh for every task it configures (``fate_flow/controller/parser.py``,
    ``FederationEngine.RABBITMQ``), so rewriting it under a running site reaches the next job — adding
    a party needs no restart of the other sites.
    """
    path = conf_dir / "rabbitmq_route_table.yaml"
    text = yaml.safe_dump(federated.route_table(), sort_keys=False)
    if path.exists() and path.read_text() == text:
        return False
    write_atomic(path, text.encode())  # a job starting now reads the old or the new table, never half of one
    return True


def prepare_home(install: EngineInstall, config: EngineConfig) -> Path:
    """Create (or re-point to) the home; safe to call before every start."""
    home = config.home_dir
    for relative in _SETTINGS.values():
        if "." not in relative:
            (home / relative).mkdir(parents=True, exist_ok=True)
    conf_dir = home / "conf"
    if not (conf_dir / "service_conf.yaml").exists():
        shutil.copytree(install.site_packages / "fate_flow" / "conf", conf_dir, dirs_exist_ok=True)
    _write_service_conf(conf_dir, config)
    make_settings_home_aware(install)
    return home
