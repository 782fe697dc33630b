"""One Backend interface, two implementations: every DAG has the same shape on a laptop and on Tanzu.

A DAG step asks a party's backend to do something (preflight, provision, wait until ready, tell where
its FATE Flow answers); the local backend does it with the embedded engine, the Kubernetes backend with
Helm releases and pods in the party's namespace.
"""

from __future__ import annotations

from fateops.backends.base import Backend, PartyReport
from fateops.federation import Party


def backend_for(party: Party) -> Backend:
    """The backend that runs ``party`` (imports the Kubernetes one only when a party needs it)."""
    if party.backend == "local":
        from fateops.backends.local import LocalBackend

        return LocalBackend()
    from fateops.backends.kubernetes import KubernetesBackend

    return KubernetesBackend()


__all__ = ["Backend", "PartyReport", "backend_for"]
