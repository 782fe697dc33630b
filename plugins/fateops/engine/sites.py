"""Local multi-site mode: every local party runs its own site, and a local Exchange routes between them.

A *site* is what a party runs on its own machine: a FATE Flow 2.2 server (its own home — conf, sqlite
DB, standalone storage, logs — and its own pid file) and its own RabbitMQ node; all in
``<state_dir>/sites/<party_id>/``. One engine venv serves every site (homes follow ``$FATEOPS_FATE_HOME``,
see :mod:`fateops.engine.home`). The *Exchange* is a private traffic-server in ``<state_dir>/exchange``
whose route table (party id → that party's FATE Flow) comes from the federation config.

Ports are derived from the party's *slot*, each from a base that an environment variable overrides (tests
use spare ranges). Slots are handed out in party-id order the first time and recorded in
``<state_dir>/sites/slots.json``: a party keeps its slot — and its ports — when parties are added later,
whatever their ids (:func:`assign_slots`)::

    FATE Flow HTTP  FATEOPS_SITES_HTTP_PORT  (9381) + i      RabbitMQ AMQP        FATEOPS_SITES_AMQP_PORT  (5672) + i
    FATE Flow gRPC  FATEOPS_SITES_GRPC_PORT  (9361) + i      RabbitMQ management  FATEOPS_SITES_MGMT_PORT (15672) + i
    Exchange        FATEOPS_EXCHANGE_PORT (9370, or the config's local_sites.exchange_port)
    Erlang distribution FATEOPS_SITES_DIST_PORT (25672) + i
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fateops.engine.broker import BrokerPorts, RabbitNode
from fateops.engine.home import EngineConfig, Federated, write_broker_routes
from fateops.engine.install import EngineInstall, install_engine
from fateops.engine.process import EngineStatus, LocalEngine
from fateops.exceptions import ConfigError
from fateops.federation import Federation, Party
from fateops.files import write_atomic
from fateops.paths import state_dir
from fateops.trafficserver import Destination, ExchangeError, RouteTable, TrafficServer
from fateops.trafficserver.routes import NO_ROUTE_MARK

HOST = "127.0.0.1"
PORT_BASES: dict[str, tuple[str, int]] = {
    "http": ("FATEOPS_SITES_HTTP_PORT", 9381),
    "grpc": ("FATEOPS_SITES_GRPC_PORT", 9361),
    "amqp": ("FATEOPS_SITES_AMQP_PORT", 5672),
    "management": ("FATEOPS_SITES_MGMT_PORT", 15672),
    "dist": ("FATEOPS_SITES_DIST_PORT", 25672),
}
EXCHANGE_PORT_ENV = "FATEOPS_EXCHANGE_PORT"
DEFAULT_EXCHANGE_PORT = 9370


def _base(kind: str) -> int:
    var, default = PORT_BASES[kind]
    return int(os.environ.get(var, default))


@dataclass(frozen=True)
class SitePorts:
    """Every port of one site."""

    http: int
    grpc: int
    amqp: int
    management: int
    dist: int

    @classmethod
    def for_index(cls, index: int) -> SitePorts:
        return cls(**{kind: _base(kind) + index for kind in PORT_BASES})

    @property
    def broker(self) -> BrokerPorts:
        return BrokerPorts(self.amqp, self.management, self.dist)


def assign_slots(party_ids: Iterable[int], recorded: Mapping[int, int], *,
                 site_exists: Iterable[int] = ()) -> dict[int, int]:
    """Every party's slot (its ports' offset): a recorded party keeps its slot; a new one (in id order) takes
    the lowest free slot. Why: slots by sort order moved running sites' ports when a party with a lower id
    joined, breaking the Exchange routes and Airflow connections that point at them.

    A recorded party that left the federation keeps its slot reserved while its site folder exists (its
    site may still run on those ports); with the folder gone, the slot is free again. Returns the new
    record: the federation's parties and the reserved ones.
    """
    wanted = sorted(set(party_ids))
    reserved = set(wanted) | set(site_exists)
    keep = {pid: slot for pid, slot in recorded.items() if pid in reserved}
    taken = set(keep.values())
    for pid in wanted:
        if pid not in keep:
            slot = next(i for i in range(len(taken) + 1) if i not in taken)
            keep[pid] = slot
            taken.add(slot)
    return dict(sorted(keep.items()))


def uses_sites(federation: Federation) -> bool:
    """True when the config asks for one site per local party (``local_sites:``)."""
    return federation.local_sites is not None and any(p.backend == "local" for p in federation.parties)


def exchange_port(federation: Federation) -> int:
    if os.environ.get(EXCHANGE_PORT_ENV):
        return int(os.environ[EXCHANGE_PORT_ENV])
    configured = federation.local_sites.exchange_port if federation.local_sites else None
    return configured or DEFAULT_EXCHANGE_PORT


@dataclass(frozen=True)
class Site:
    """One party's site: its FATE Flow engine and its broker."""

    party_id: int
    ports: SitePorts
    root: Path
    engine: LocalEngine
    broker: RabbitNode

    @property
    def url(self) -> str:
        return self.engine.config.base_url

    def start(self, timeout_s: float = 300.0) -> EngineStatus:
        """Broker first (FATE Flow reaches it when a job starts), then FATE Flow; idempotent."""
        self.broker.start(timeout_s=timeout_s)
        return self.engine.start(timeout_s=timeout_s)

    def stop(self) -> dict[str, bool]:
        return {"fateflow": self.engine.stop(), "rabbitmq": self.broker.stop()}

    def status(self) -> dict[str, Any]:
        engine = self.engine.status()
        return {"party_id": self.party_id, "url": self.url, "fateflow": engine.as_dict(),
                "rabbitmq": {"node": self.broker.node, "pid": self.broker.pid(), "amqp_port": self.ports.amqp,
                             "management_port": self.ports.management,
                             "problem": self.broker.probe() if self.broker.pid() else "not running"},
                "home": str(self.engine.config.home_dir)}


class LocalSites:
    """The local topology of a federation: a site per local party and the Exchange in front of them."""

    def __init__(self, federation: Federation, *, root: Path | None = None,
                 install: EngineInstall | None = None) -> None:
        if not uses_sites(federation):
            raise ConfigError("this federation has no 'local_sites:' block: its local parties share one engine",
                              field="local_sites", fix="add `local_sites: {}` to run a site per party")
        self.federation = federation
        self.root = root or state_dir()
        self.install = install or EngineInstall.default()
        self.parties = sorted((p for p in federation.parties if p.backend == "local"), key=lambda p: p.party_id)
        slots = self._slots()
        self.ports = {p.party_id: SitePorts.for_index(slots[p.party_id]) for p in self.parties}
        self.exchange = TrafficServer(self.root / "exchange", port=exchange_port(federation), host=HOST)

    @property
    def slots_file(self) -> Path:
        return self.root / "sites" / "slots.json"

    def _recorded_slots(self) -> dict[int, int]:
        try:
            return {int(k): int(v) for k, v in json.loads(self.slots_file.read_text()).items()}
        except FileNotFoundError:
            return {}
        except (ValueError, AttributeError) as err:
            raise ConfigError(f"{self.slots_file} is not a JSON object of party id → slot: {err}",
                              field="slots.json", fix="delete it with every site stopped: slots are "
                              "handed out again in party-id order") from None

    def _write_slots(self, slots: Mapping[int, int]) -> None:
        # atomic: mapped bootstrap tasks may write the same record at once
        write_atomic(self.slots_file, (json.dumps({str(k): v for k, v in slots.items()}, indent=1) + "\n").encode())

    def _site_folders(self) -> list[int]:
        folders = self.root / "sites"
        return sorted(int(d.name) for d in folders.iterdir() if d.is_dir() and d.name.isdigit()) \
            if folders.is_dir() else []

    def _slots(self) -> dict[int, int]:
        """The recorded slots, extended by this federation's new parties (written back when they changed)."""
        recorded = self._recorded_slots()
        slots = assign_slots((p.party_id for p in self.parties), recorded, site_exists=self._site_folders())
        if slots != recorded:
            self._write_slots(slots)
        return slots

    # -- lookups -----------------------------------------------------------------------------------
    def site(self, party: Party | int | str) -> Site:
        party_id = party.party_id if isinstance(party, Party) else int(party)
        if party_id not in self.ports:
            known = ", ".join(str(pid) for pid in self.ports)
            raise ConfigError("is not a local party of this federation", field="party_id", value=party_id,
                              fix=f"use one of: {known}")
        return self._site(party_id, self.ports[party_id])

    def _site(self, party_id: int, ports: SitePorts) -> Site:
        root = self.root / "sites" / str(party_id)
        federated = Federated(
            party_id=party_id, exchange_host=HOST, exchange_port=self.exchange.port, broker_host=HOST,
            broker_port=ports.amqp, broker_management_port=ports.management,
            broker_routes=tuple((pid, HOST, p.amqp) for pid, p in sorted(self.ports.items())))
        config = EngineConfig(host=HOST, port=ports.http, grpc_port=ports.grpc, home=root / "engine" / "home",
                              federated=federated)
        broker = RabbitNode(root / "rabbitmq", name=f"fateops_{party_id}_{ports.amqp}", ports=ports.broker,
                            host=HOST)
        return Site(party_id, ports, root, LocalEngine(config, self.install), broker)

    def sites(self) -> list[Site]:
        return [self.site(p) for p in self.parties]

    def urls(self) -> dict[int, str]:
        """Each local party's own FATE Flow."""
        return {site.party_id: site.url for site in self.sites()}

    def route_table(self) -> RouteTable:
        """The Exchange's routes: every local party → its own FATE Flow."""
        return RouteTable.of({pid: Destination(HOST, ports.http) for pid, ports in self.ports.items()})

    def verify_routes(self, *, timeout_s: float = 10.0) -> dict[str, str]:
        """Ask each party's FATE Flow *through the Exchange* who it is; raise unless every party reaches its own.

        ``/v2/server/fateflow`` answers with the serving instance's host and HTTP port, so a route that
        points at the wrong site is caught, not only a missing one.
        """
        reached: dict[str, str] = {}
        for pid, ports in sorted(self.ports.items()):
            where = f"the Exchange route for party {pid} ({self.exchange.url}, dest-party-id {pid})"
            try:
                response = self.exchange.route_request(pid, "/v2/server/fateflow", timeout_s=timeout_s)
            except httpx.HTTPError as err:
                raise ExchangeError(f"{where} did not answer: {err}") from None
            if NO_ROUTE_MARK in response.headers:
                raise ExchangeError(f"{where} is missing: the Exchange has no route for that party",
                                    fix="run fate_exchange_federate (or `fateops exchange federate`)")
            instances = (response.json().get("data") or {}).values() if response.status_code == 200 else []
            ports_seen = sorted(int(i.get("http_port", 0)) for i in instances)
            if ports.http not in ports_seen:
                raise ExchangeError(f"{where} reached FATE Flow on port(s) {ports_seen or response.status_code}, "
                                    f"not party {pid}'s own FATE Flow on {ports.http}",
                                    fix=f"is party {pid}'s site running? `fateops engine status --party {pid}`")
            reached[str(pid)] = f"{HOST}:{ports.http}"
        return reached

    def sync_broker_routes(self) -> dict[str, bool]:
        """Rewrite every prepared site's broker route table from the federation; party → changed?

        A site not prepared yet gets its table when it starts; running sites pick the new table up at
        their next job (see :func:`fateops.engine.home.write_broker_routes`).
        """
        changed: dict[str, bool] = {}
        for site in self.sites():
            conf_dir = site.engine.config.home_dir / "conf"
            federated = site.engine.config.federated
            if conf_dir.is_dir() and federated is not None:
                changed[str(site.party_id)] = write_broker_routes(conf_dir, federated)
        return changed

    # -- lifecycle ---------------------------------------------------------------------------------
    def start_all(self, timeout_s: float = 300.0) -> dict[int, EngineStatus]:
        """Every site side by side (brokers and servers start in parallel), then the Exchange."""
        install_engine(self.install)  # once, before the sites race for its lock
        with ThreadPoolExecutor(max_workers=max(1, len(self.parties))) as pool:
            futures = {s.party_id: pool.submit(s.start, timeout_s) for s in self.sites()}
            statuses = {pid: f.result() for pid, f in futures.items()}
        self.exchange.start(self.route_table())
        return statuses

    def departed(self) -> list[int]:
        """Parties whose site folder is still here but who are no longer local parties of the federation."""
        return [pid for pid in self._site_folders() if pid not in self.ports]

    def purge(self, party_id: int) -> dict[str, Any]:
        """Stop a departed party's site and delete it — its FATE Flow home (tables, models, logs) and broker
        — then free its slot for a future party. Idempotent: purging what is gone reports nothing removed.

        Only a party that has left the config: a member's site is what the Exchange routes to, so removing
        it from ``parties:`` (and re-running the federate DAG, which drops its route) comes first.
        """
        if party_id in self.ports:
            raise ConfigError(f"party {party_id} is still a local party of this federation: purging would delete "
                              "a member's data", field="party_id", value=party_id,
                              fix=f"remove party {party_id} from `parties:` in the federation config and run "
                                  "fate_exchange_federate first (its route goes), then purge")
        recorded = self._recorded_slots()
        folder = self.root / "sites" / str(party_id)
        report: dict[str, Any] = {"party_id": party_id, "stopped": {}, "deleted": None, "slot_freed": None}
        if folder.is_dir():
            # Stopping goes by the site's pid files; without a recorded slot its node name is a guess
            # that rabbitmqctl refuses quickly, and the pid file still stops the node.
            slot = recorded.get(party_id, 0)
            report["stopped"] = self._site(party_id, SitePorts.for_index(slot)).stop()
            shutil.rmtree(folder)
            report["deleted"] = str(folder)
        if party_id in recorded:
            report["slot_freed"] = recorded.pop(party_id)
            self._write_slots(recorded)
        return report

    def stop_all(self) -> dict[str, Any]:
        stopped: dict[str, Any] = {str(s.party_id): s.stop() for s in self.sites()}
        stopped["exchange"] = self.exchange.stop()
        return stopped
