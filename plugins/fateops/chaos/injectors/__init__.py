"""Fault injectors per backend, and the registry the runner builds them from.

Heavy clients (kubernetes, pyVmomi) are imported inside the injectors' methods, so importing this
registry (as the DAG file does at parse time) costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fateops.chaos.injectors.base import DrillContext, Injector, JobRef
from fateops.chaos.injectors.exchange_local import CutExchangeRoute
from fateops.chaos.injectors.kubernetes import DeletePods, DeletePvcPod, NetworkCut, ScaleToZero
from fateops.chaos.injectors.local import KillEngine, KillTask, MissingTable, PauseEngine, RemoveTable
from fateops.chaos.injectors.restart_local import RestartBroker, RestartExchange
from fateops.chaos.injectors.vsphere import HostFailure, MaintenanceMode, PowerOffVm
from fateops.exceptions import DrillError

if TYPE_CHECKING:
    from fateops.chaos.catalogue import FaultSpec

__all__ = ["REGISTRY", "DrillContext", "Injector", "JobRef", "build_injector"]

REGISTRY: dict[str, type[Injector]] = {
    cls.action: cls
    for cls in (KillEngine, PauseEngine, KillTask, RemoveTable, MissingTable, DeletePods, ScaleToZero, NetworkCut,
                DeletePvcPod, PowerOffVm, HostFailure, MaintenanceMode, CutExchangeRoute, RestartExchange,
                RestartBroker)
}


def build_injector(spec: FaultSpec, ctx: DrillContext) -> Injector:
    """The injector for ``spec.action`` in ``ctx`` (the catalogue has already checked backend/action)."""
    try:
        cls = REGISTRY[spec.action]
    except KeyError:
        raise DrillError(f"no injector implements action {spec.action!r}",
                         fix=f"use one of: {', '.join(sorted(REGISTRY))}") from None
    return cls(spec, ctx)
