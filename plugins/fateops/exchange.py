"""Federating the parties: the Exchange's route table and its reload (the seed's step 4).

* Kubernetes parties are joined through the Exchange release (:mod:`fateops.k8s.exchange`).
* Local parties with ``local_sites:`` each run their own site; the local Exchange (a private
  traffic-server) gets the route table generated from the federation — party id → that party's FATE
  Flow — applied with ``traffic_ctl config reload`` (same process, no restart), then every route is
  checked by asking each party's FATE Flow *through the Exchange* who it is.
* Local parties without it share one embedded engine, which routes between them itself.
"""

from __future__ import annotations

import time
from typing import Any

from fateops.federation import Federation


def federate_local_sites(federation: Federation, *, log: Any = print) -> dict[str, Any]:
    """Write + reload the local Exchange's routes (start it if needed), then verify each party's route."""
    from fateops.engine.sites import LocalSites

    started = time.monotonic()
    sites = LocalSites(federation)
    table = sites.route_table()
    was_running = sites.exchange.pid() is not None
    if was_running:
        reload = sites.exchange.apply(table)
        pid = sites.exchange.pid()
        log(f"Exchange {sites.exchange.url} (pid {pid}): routes {'reloaded' if reload.reloaded else 'unchanged'} "
            f"— {table.as_dict()}")
        changed = reload.changed
    else:
        pid = sites.exchange.start(table)
        log(f"Exchange {sites.exchange.url} started (pid {pid}) with routes {table.as_dict()}")
        changed = True
    verified = sites.verify_routes()
    for party, where in verified.items():
        log(f"party {party}: a request through the Exchange reached its own FATE Flow at {where}")
    brokers = sites.sync_broker_routes()
    for party, rewritten in brokers.items():
        log(f"party {party}: broker route table {'rewritten (read by its next job)' if rewritten else 'unchanged'}")
    departed = sites.departed()
    for party_id in departed:  # routes to it are gone; its site and data stay until someone decides
        log(f"party {party_id} left the federation config: no route reaches it now, but its site folder (and any "
            f"running FATE Flow) remains — `fateops engine purge --party {party_id}` deletes it and frees its ports")
    return {"mode": "local-sites", "exchange": {"url": sites.exchange.url, "pid": pid, "started": not was_running},
            "route_table": table.as_dict(), "verified": verified, "broker_routes_changed": brokers,
            "changed": changed or any(brokers.values()), "departed": departed,
            "seconds": round(time.monotonic() - started, 1)}


def configure_exchange(federation: Federation) -> dict[str, Any]:
    """Converge the Exchange on the current parties; returns what it did (for XCom and logs)."""
    from fateops.engine.sites import uses_sites

    k8s_parties = [p for p in federation.parties if p.backend == "kubernetes"]
    if k8s_parties:
        from fateops.k8s.exchange import federate_exchange

        return federate_exchange(federation)
    if uses_sites(federation):
        return federate_local_sites(federation)
    print("all parties are served by the embedded engine: it routes between them, no exchange to configure")
    return {"mode": "embedded", "parties": [p.party_id for p in federation.parties], "changed": False}
