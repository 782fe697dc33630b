"""The local backend: the embedded engine, or — with ``local_sites:`` — a site per party behind an Exchange.

Single-engine mode (no ``local_sites:`` block): every local party is served by the one FATE standalone
engine of this checkout; fast, but nothing crosses a party boundary. Multi-site mode: provisioning a
party starts *its* site (its own FATE Flow and RabbitMQ, :mod:`fateops.engine.sites`) and makes sure the
local Exchange runs; ``fate_exchange_federate`` then writes the Exchange's routes and reloads it.
"""

from __future__ import annotations

import json

from fateops.backends.base import PartyReport
from fateops.engine import LocalEngine
from fateops.engine.install import find_python311
from fateops.engine.sites import LocalSites, Site, uses_sites
from fateops.federation import Federation, Party
from fateops.paths import data_dir, state_dir


class LocalBackend:
    """Local parties: one shared engine, or one site each (when the federation has ``local_sites:``)."""

    name = "local"

    def __init__(self, engine: LocalEngine | None = None, federation: Federation | None = None) -> None:
        self.federation = federation
        self.sites = LocalSites(federation) if federation is not None and uses_sites(federation) else None
        self.engine = engine or LocalEngine()

    def site(self, party: Party) -> Site | None:
        return self.sites.site(party) if self.sites is not None else None

    def engine_of(self, party: Party) -> LocalEngine:
        """The FATE Flow that serves ``party``: its own site's, or the shared engine."""
        site = self.site(party)
        return site.engine if site is not None else self.engine

    def preflight(self, party: Party) -> list[str]:
        """Python 3.11 must exist (raises with the fix); the machine vs sizing.yaml's ``local:`` floor is
        reported, not enforced — ``fate_sizing_audit`` is where a shortfall may fail a run."""
        from fateops.k8s.sizing import load_rules
        from fateops.sizing_audit import audit_local, party_scope, read_machine

        find_python311()
        home = self.engine_of(party).config.home_dir
        findings = audit_local(party_scope(party), read_machine(home), load_rules().local)
        return [f.line() for f in findings if f.severity != "ok"]

    def provision(self, party: Party) -> PartyReport:
        site = self.site(party)
        details: dict[str, object] = {}
        if site is not None and self.sites is not None:
            status = site.start()
            exchange_pid = self.sites.exchange.start()  # routes are fate_exchange_federate's job
            details.update(site=str(site.root), broker=site.broker.node, broker_amqp_port=site.ports.amqp,
                           exchange=self.sites.exchange.url, exchange_pid=exchange_pid)
        else:
            status = self.engine.start()
        party_dir = data_dir() / str(party.party_id)
        party_dir.mkdir(parents=True, exist_ok=True)
        record = state_dir() / "parties" / f"{party.party_id}.json"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({
            "party_id": party.party_id, "name": party.name, "roles": list(party.roles),
            "fateflow_url": status.url, "data_dir": str(party_dir),
        }, indent=1))
        details.update(data_dir=str(party_dir), registration=str(record), engine_pid=status.pid)
        return PartyReport(party.party_id, self.name, status.healthy, status.url, status.version, details)

    def wait_ready(self, party: Party, timeout_s: float) -> PartyReport:
        status = self.engine_of(party).wait_healthy(timeout_s)
        return PartyReport(party.party_id, self.name, status.healthy, status.url, status.version,
                           {"components": list(status.components)})
