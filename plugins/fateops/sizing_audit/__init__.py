"""The sizing audit: every party's target, and the vSphere under it, against ``include/configs/sizing.yaml``.

Why an audit beside the bootstrap preflight: the preflight runs once, before a deployment, and only
warns; clusters drift (nodes replaced by a smaller class, a host left in maintenance), so this runs on
a schedule and leaves a report an operator can act on — one row per thing checked, with what was
measured, what the guideline asks and the fix — and a verdict under a ``fail_on`` policy.

Severities: ``blocker`` — FATE cannot run as it stands (no schedulable node, a pod that fits no node,
a named storage/ingress class missing, an unreachable cluster or vCenter, too little memory or disk
for the local engine); ``warning`` — below the guideline, fine for a test bed (the preflight's
warnings); ``ok`` — checked and within it.

* :mod:`.kubernetes` — (a) a Kubernetes party: rendered release and schedulable nodes;
* :mod:`.local` — (b) a local party: the machine of the embedded engine;
* :mod:`.vsphere` — (c) hosts, VMs and uplinks read through pyvmomi;
* :mod:`.report` — :class:`AuditReport`: JSON + Markdown and the verdict.

No Airflow here: the DAG ``fate_sizing_audit`` passes parties, backends and sessions in.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from fateops.exceptions import ConfigError
from fateops.k8s.sizing import GI, SizingRules
from fateops.sizing_audit.findings import (
    FAIL_ON,
    SEVERITIES,
    FailOn,
    Finding,
    Severity,
    SizingAuditFailed,
    failing,
    party_scope,
)
from fateops.sizing_audit.kubernetes import audit_kubernetes, audit_release
from fateops.sizing_audit.local import MachineFacts, audit_local, read_machine
from fateops.sizing_audit.report import AuditReport
from fateops.sizing_audit.vsphere import VSphereGuide, audit_vcenter, audit_vsphere, load_vsphere_guide, read_uplinks

if TYPE_CHECKING:
    from fateops.backends.base import Backend
    from fateops.federation import Federation, Party

__all__ = [
    "FAIL_ON",
    "SEVERITIES",
    "AuditReport",
    "FailOn",
    "Finding",
    "MachineFacts",
    "Severity",
    "SizingAuditFailed",
    "VSphereGuide",
    "audit_kubernetes",
    "audit_local",
    "audit_party",
    "audit_release",
    "audit_vcenter",
    "audit_vsphere",
    "dataset_bytes_of",
    "failing",
    "load_vsphere_guide",
    "party_scope",
    "read_machine",
    "read_uplinks",
]


def dataset_bytes_of(gib: float | None) -> Decimal | None:
    """The ``dataset_gb`` Param (GiB; 0 or empty = not given) in bytes."""
    return Decimal(str(gib)) * GI if gib else None


def audit_party(party: Party, federation: Federation, backend: Backend, rules: SizingRules, *,
                dataset_bytes: Decimal | None = None, facts: MachineFacts | None = None) -> list[Finding]:
    """Audit one party where its backend runs it: the engine's machine (local) or its cluster (kubernetes).

    A local party's disk is measured under the engine's home (``facts`` replaces the measurement in
    tests); the engine need not be running.
    """
    from fateops.backends.kubernetes import KubernetesBackend
    from fateops.backends.local import LocalBackend

    if isinstance(backend, LocalBackend):
        machine = facts or read_machine(backend.engine.config.home_dir)
        return audit_local(party_scope(party), machine, rules.local, dataset_bytes=dataset_bytes)
    if isinstance(backend, KubernetesBackend):
        return audit_kubernetes(party, federation, backend, rules, dataset_bytes=dataset_bytes)
    raise ConfigError("has no sizing audit", field=f"parties[{party.party_id}].backend", value=party.backend)
