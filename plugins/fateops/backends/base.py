"""The Backend protocol: what a DAG step may ask of a party, whatever runs it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol

from fateops.federation import Party


@dataclass(frozen=True)
class PartyReport:
    """What provisioning/readiness found out about one party (goes to XCom as a dict)."""

    party_id: int
    backend: str
    ready: bool
    fateflow_url: str | None = None
    version: str | None = None
    details: dict[str, object] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["warnings"] = list(self.warnings)
        return data


class Backend(Protocol):
    """Runs a party's FATE; implementations must make every method idempotent."""

    name: str

    def preflight(self, party: Party) -> list[str]:
        """Check the party's target can host FATE; return warnings, raise on blockers."""
        ...

    def provision(self, party: Party) -> PartyReport:
        """Create or converge the party's FATE (a no-op when it already matches)."""
        ...

    def wait_ready(self, party: Party, timeout_s: float) -> PartyReport:
        """Block until the party's FATE Flow serves jobs, or raise after ``timeout_s``."""
        ...
