"""The embedded default: every local party is served by the one FATE standalone engine of this checkout."""

from __future__ import annotations

import json
import shutil

from fateops.backends.base import PartyReport
from fateops.engine import LocalEngine
from fateops.engine.install import find_python311
from fateops.federation import Party
from fateops.paths import data_dir, state_dir

MIN_FREE_DISK_GB = 5.0  # the engine venv alone is 1.4 GB; tables and models grow from there


class LocalBackend:
    """Local parties share one engine: provisioning starts it and registers the party beside it."""

    name = "local"

    def __init__(self, engine: LocalEngine | None = None) -> None:
        self.engine = engine or LocalEngine()

    def preflight(self, party: Party) -> list[str]:
        find_python311()  # raises EngineError with the fix when there is none
        warnings = []
        free_gb = shutil.disk_usage(state_dir().parent).free / 1e9
        if free_gb < MIN_FREE_DISK_GB:
            warnings.append(f"only {free_gb:.1f} GB free; the engine and its tables want ≥ {MIN_FREE_DISK_GB} GB")
        return warnings

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
