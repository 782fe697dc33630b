"""One Backend interface, two implementations: every DAG has the same shape on a laptop and on Tanzu.

A DAG step asks a party's backend to do something (preflight, provision, wait until ready, tell where
its FATE Flow answers); the local backend does it with the embedded engine, the Kubernetes backend with
Helm releases and pods in the party's namespace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fateops.backends.base import Backend, PartyReport
from fateops.federation import Federation, Party

if TYPE_CHECKING:
    from fateops.k8s.access import AccessResolver


def backend_for(party: Party, federation: Federation | None = None,
                resolver: AccessResolver | None = None) -> Backend:
    """The backend that runs ``party`` (imports the Kubernetes one only when a party needs it).

    Kubernetes parties need the federation (exchange placement, CA) to provision, and a resolver that
    turns a connection id into cluster access (Airflow's Connections in tasks, env in the CLI).
    """
    if party.backend == "local":
        from fateops.backends.local import LocalBackend

        return LocalBackend(federation=federation)
    from fateops.backends.kubernetes import KubernetesBackend

    return KubernetesBackend(federation, resolver=resolver)


__all__ = ["Backend", "PartyReport", "backend_for"]
