"""The embedded default: every local party is served by the one FATE standalone engine of this checkout."""

from __future__ import annotations

import json

from fateops.backends.base import PartyReport
from fateops.engine import LocalEngine
from fateops.engine.install import find_python311
from fateops.federation import Party
from fateops.paths import data_dir, state_dir


class LocalBackend:
    """Local parties share one engine: provisioning starts it and registers the party beside it."""

    name = "local"

    def __init__(self, engine: LocalEngine | None = None) -> None:
        self.engine = engine or LocalEngine()

    def preflight(self, party: Party) -> list[str]:
        """Python 3.11 must exist (raises with the fix); the machine vs sizing.yaml's ``local:`` floor is
        reported, not enforced — ``fate_sizing_audit`` is where a shortfall may fail a run."""
        from fateops.k8s.sizing import load_rules
        from fateops.sizing_audit import audit_local, party_scope, read_machine

        find_python311()
        findings = audit_local(party_scope(party), read_machine(self.engine.config.home_dir), load_rules().local)
        return [f.line() for f in findings if f.severity != "ok"]

    def provision(self, party: Party) -> PartyReport:
        status = self.engine.start()
        party_dir = data_dir() / str(party.party_id)
        party_dir.mkdir(parents=True, exist_ok=True)
        record = state_dir() / "parties" / f"{party.party_id}.json"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({
            "party_id": party.party_id, "name": party.name, "roles": list(party.roles),
            "fateflow_url": status.url, "data_dir": str(party_dir),
        }, indent=1))
        return PartyReport(party.party_id, self.name, status.healthy, status.url, status.version,
                           {"data_dir": str(party_dir), "registration": str(record), "engine_pid": status.pid})

    def wait_ready(self, party: Party, timeout_s: float) -> PartyReport:
        status = self.engine.wait_healthy(timeout_s)
        return PartyReport(party.party_id, self.name, status.healthy, status.url, status.version,
                           {"components": list(status.components)})
