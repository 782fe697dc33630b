"""The party's route removed at the local Exchange: a network cut between the sites, done the operator's way.

Multi-site mode only (``local_sites:``): the party's entry is dropped from the Exchange's route table and
traffic-server reloads (same process); every FATE Flow command for that party then gets the Exchange's
"No Exchange route" 404 while the party's own site keeps running. Healing writes the full table back and
reloads again. Nothing is recorded that ``lift`` needs: the full table is always re-derived from the
federation config, so a crashed drill is healed by the same call.
"""

from __future__ import annotations

from typing import Any

from fateops.chaos.injectors.base import DrillContext, Injector, JobRef, require_local_sites
from fateops.exceptions import DrillError

__all__ = ["CutExchangeRoute"]


class CutExchangeRoute(Injector):
    """Remove the party's route at the local Exchange; heal: restore the federation's routes."""

    action = "cut_exchange_route"
    backend = "local"

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.sites = require_local_sites(ctx, self.action, "there is no local Exchange in single-engine mode",
                                         fix="use federation.local.yaml, or pause_engine")
        self.party_id = ctx.party.party_id

    def describe(self) -> str:
        held = f"for {self.spec.duration_s:.0f}s" if self.spec.duration_s else "until the job's wait has ended"
        return (f"remove party {self.party_id}'s route at the Exchange {self.sites.exchange.url} and "
                f"`traffic_ctl config reload` {held}; heal: the federation's routes back, reload again")

    def preflight(self) -> None:
        if self.sites.exchange.pid() is None:
            raise DrillError(f"the Exchange at {self.sites.exchange.url} is not running",
                             fix="run fate_exchange_federate (or `fateops exchange federate`) first")
        self.sites.verify_routes()  # never break what is already broken

    def inject(self, job: JobRef | None) -> None:
        cut = self.sites.exchange.apply(self.sites.route_table().without(self.party_id))
        self.note(f"route of party {self.party_id} removed; Exchange reloaded (pid {cut.pid})")

    def detected(self) -> bool:
        return not self.sites.exchange.routed_by_us(self.party_id)

    def recovered(self) -> bool:
        return self.sites.exchange.routed_by_us(self.party_id)

    def lift(self) -> None:
        back = self.sites.exchange.apply(self.sites.route_table())
        if back.changed:
            self.note(f"routes restored {back.routes}; Exchange reloaded (pid {back.pid})")
