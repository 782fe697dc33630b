"""(c) vSphere: hosts and VMs as :func:`fateops.vsphere.sizing.read_sizing` reads them, plus the hosts'
uplink speeds, against ``vm_classes`` (in numbers: ``vm_class_sizes``) and ``network_gbit``.

Only what the vSphere API shows is checked, and each finding's note says what it could not see: the
VM class a VM was made from (its size is compared instead, the role guessed from the name), the
separate image volume of TKG nodes, which NIC carries the workload network.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fateops.exceptions import ConfigError, VSphereError
from fateops.k8s import sizing
from fateops.sizing_audit.findings import Finding, finding

if TYPE_CHECKING:
    from fateops.vsphere.session import VSphereSession
    from fateops.vsphere.sizing import ClusterSizing, HostSizing, VmSizing

__all__ = ["VSphereGuide", "VmClass", "audit_vcenter", "audit_vsphere", "load_vsphere_guide", "read_uplinks"]


@dataclass(frozen=True)
class VmClass:
    name: str
    cpu: int
    memory_gib: float


@dataclass(frozen=True)
class VSphereGuide:
    """``vm_classes`` in numbers, ``network_gbit`` and ``image_disk`` (GiB)."""

    control_plane: VmClass
    workers: VmClass
    network_gbit: float
    image_disk_gib: float


def load_vsphere_guide(path: Path | None = None) -> VSphereGuide:
    """The vSphere part of sizing.yaml (the Kubernetes part is :func:`fateops.k8s.sizing.load_rules`')."""
    from fateops.config_files import read_config_yaml

    _, data = read_config_yaml(path, default=sizing.SIZING_FILE, what="sizing rules")
    data = data or {}
    sizes, classes = data.get("vm_class_sizes") or {}, data.get("vm_classes") or {}

    def vm_class(role: str) -> VmClass:
        name = str(classes.get(role, ""))
        size = sizes.get(name.removeprefix("best-effort-").removeprefix("guaranteed-"))
        if not size:
            raise ConfigError("names a VM class that vm_class_sizes does not list", field=f"vm_classes.{role}",
                              value=name, fix=f"use one of {sorted(sizes)} (prefixed best-effort- or guaranteed-)")
        memory = sizing.quantity(size.get("memory"), f"vm_class_sizes.{name}.memory") / sizing.GI
        return VmClass(name, int(size.get("cpu", 0)), float(memory))

    return VSphereGuide(control_plane=vm_class("control_plane"), workers=vm_class("workers"),
                        network_gbit=float(data.get("network_gbit", 0)),
                        image_disk_gib=float(sizing.quantity(data.get("image_disk", "0"), "image_disk") / sizing.GI))


def read_uplinks(session: VSphereSession) -> dict[str, tuple[int, ...]]:
    """Per host, the link speeds (Mb/s) of its physical NICs that have a link (property reads only)."""
    from pyVmomi import vim

    out: dict[str, tuple[int, ...]] = {}
    for host in session.objects(vim.HostSystem):
        network = host.config.network if host.config else None
        out[host.name] = tuple(int(p.linkSpeed.speedMb) for p in (network.pnic if network else [])
                               if p.linkSpeed is not None)
    return out


def _host_findings(scope: str, h: HostSizing, speeds: Sequence[int], guide: VSphereGuide) -> list[Finding]:
    w, subject = guide.workers, f"host {h.name}"
    usable = h.connection_state == "connected" and not h.in_maintenance
    out = [finding(scope, subject, "host usable", None if usable else "warning",
                   h.connection_state + (", in maintenance" if h.in_maintenance else ""),
                   "connected, not in maintenance",
                   "reconnect the host or end maintenance: HA cannot restart VMs on it"),
           finding(scope, subject, "holds a worker VM",
                   None if h.cpu_cores >= w.cpu and h.memory_gib >= w.memory_gib else "warning",
                   f"{h.cpu_cores} cores/{h.memory_gib:g} GiB", f"≥ {w.cpu} cores/{w.memory_gib:g} GiB ({w.name})",
                   f"hosts must fit one {w.name} worker VM: larger hosts, or a smaller class (below the guideline)")]
    if not speeds:
        out.append(Finding(scope, subject, "uplink speed", "warning", "no linked physical NIC reported",
                           f"≥ {guide.network_gbit:g} GbE", "check the host's uplinks by hand",
                           "could not be checked through the vSphere API"))
        return out
    gbit = max(speeds) / 1000
    out.append(finding(scope, subject, "uplink speed", "warning" if gbit < guide.network_gbit else None,
                       f"{gbit:g} Gb/s (fastest of {len(speeds)} linked NIC(s))", f"≥ {guide.network_gbit:g} GbE",
                       "connect the hosts at 10 GbE or faster",
                       "which NIC carries the workload network is not read: the fastest linked one is compared"))
    return out


def _vm_finding(scope: str, vm: VmSizing, guide: VSphereGuide) -> Finding:
    control = "control-plane" in vm.name
    cls = guide.control_plane if control else guide.workers
    small = vm.num_cpu < cls.cpu or vm.memory_gib < cls.memory_gib
    note = (f"role ({'control plane' if control else 'worker'}) guessed from the name; the VM class is not "
            "readable through the vSphere API"
            + ("" if control else f", nor the separate {guide.image_disk_gib:g} GiB image volume"))
    return finding(scope, f"VM {vm.name}", "VM size vs class", "warning" if small else None,
                   f"{vm.num_cpu} vCPU/{vm.memory_gib:g} GiB ({vm.power_state})",
                   f"≥ {cls.cpu} vCPU/{cls.memory_gib:g} GiB ({cls.name} or larger)",
                   f"recreate the node pool with VM class {cls.name} or larger", note)


def _cluster_findings(scope: str, s: ClusterSizing) -> list[Finding]:
    usable = [h for h in s.hosts if h.connection_state == "connected" and not h.in_maintenance]
    if not usable:
        return [Finding(scope, "cluster", "usable hosts", "blocker", f"0 of {len(s.hosts)}", "at least one",
                        "reconnect hosts or end maintenance mode: no VM can run")]
    spare = round(s.usable_memory_gib - max(h.memory_gib for h in usable), 2)
    return [
        finding(scope, "cluster", "usable hosts", None, f"{s.usable_hosts} of {len(s.hosts)} ({s.usable_cores} "
                f"cores, {s.usable_memory_gib:g} GiB; {s.vcpu_per_core:g} vCPU per core)", "at least one", ""),
        finding(scope, "cluster", "HA headroom (N+1)", "warning" if s.allocated_memory_gib > spare else None,
                f"{s.allocated_memory_gib:g} GiB on powered-on VMs", f"≤ {spare:g} GiB (usable hosts but the largest)",
                "add a host or shrink VMs: HA cannot restart a failed host's VMs elsewhere",
                "the restart time itself is what fate_chaos_drill measures (vm-crash-ha, host-failure-ha)"),
    ]


def audit_vsphere(scope: str, cluster: ClusterSizing, uplinks: Mapping[str, Sequence[int]], guide: VSphereGuide,
                  *, vm_pattern: str = "*") -> list[Finding]:
    """Cluster headroom, every host, and the VMs whose names match ``vm_pattern`` (pure: unit-testable)."""
    out = _cluster_findings(scope, cluster)
    for h in cluster.hosts:
        out += _host_findings(scope, h, uplinks.get(h.name, ()), guide)
    out += [_vm_finding(scope, vm, guide) for vm in cluster.vms if fnmatch.fnmatchcase(vm.name, vm_pattern)]
    return out


def audit_vcenter(session: VSphereSession, guide: VSphereGuide, *, vm_pattern: str = "*") -> list[Finding]:
    """Log in, read the inventory, log out, audit it; a vCenter that cannot be reached is a blocker finding."""
    from fateops.vsphere.sizing import read_sizing

    scope = f"vSphere {session.settings.host}"
    try:
        with session:
            cluster, uplinks = read_sizing(session), read_uplinks(session)
    except VSphereError as err:
        return [Finding(scope, "vCenter", "reachable", "blocker", err.message, "login succeeds", err.fix)]
    return audit_vsphere(scope, cluster, uplinks, guide, vm_pattern=vm_pattern)
