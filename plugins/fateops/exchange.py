"""Federating the parties: the Exchange's route table and its reload (the seed's step 4).

Local parties all live in one standalone engine, which routes between them itself; Kubernetes parties
are joined through the Exchange release (``fateops.k8s.exchange``).
"""

from __future__ import annotations

from typing import Any

from fateops.federation import Federation


def configure_exchange(federation: Federation) -> dict[str, Any]:
    """Converge the Exchange on the current parties; returns what it did (for XCom and logs)."""
    k8s_parties = [p for p in federation.parties if p.backend == "kubernetes"]
    if not k8s_parties:
        print("all parties are served by the embedded engine: it routes between them, no exchange to configure")
        return {"mode": "embedded", "parties": [p.party_id for p in federation.parties], "changed": False}
    from fateops.k8s.exchange import federate_exchange

    return federate_exchange(federation)
