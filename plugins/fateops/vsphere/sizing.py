"""Read-outs of what the vSphere cluster has: hosts (cores, memory, state) and VMs (vCPU, memory, disks).

The seed's sizing guidance ("Sizing Guidelines") is checked against numbers, not guesses: these frozen
records are what a later sizing audit compares with the recommendations, and what a drill reports as
its target's shape. Reading is side-effect free (property reads only).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from fateops.vsphere.session import VSphereSession

__all__ = ["ClusterSizing", "HostSizing", "VmSizing", "read_sizing", "summarize"]

_GIB = 1024**3


@dataclass(frozen=True)
class HostSizing:
    """One ESXi host's capacity and state."""

    name: str
    cluster: str | None
    cpu_cores: int
    cpu_threads: int
    cpu_mhz: int
    memory_gib: float
    connection_state: str
    in_maintenance: bool
    vms: tuple[str, ...]

    @classmethod
    def from_vim(cls, host: Any) -> HostSizing:
        hw = host.summary.hardware
        parent = host.parent
        cluster = parent.name if parent is not None and type(parent).__name__.endswith("ClusterComputeResource") \
            else None
        return cls(name=host.name, cluster=cluster, cpu_cores=int(hw.numCpuCores or 0),
                   cpu_threads=int(hw.numCpuThreads or 0), cpu_mhz=int(hw.cpuMhz or 0),
                   memory_gib=round((hw.memorySize or 0) / _GIB, 2),
                   connection_state=str(host.runtime.connectionState),
                   in_maintenance=bool(host.runtime.inMaintenanceMode),
                   vms=tuple(sorted(vm.name for vm in host.vm)))


@dataclass(frozen=True)
class VmSizing:
    """One VM's configured size and where it runs."""

    name: str
    host: str | None
    num_cpu: int
    memory_gib: float
    disk_gib: float
    power_state: str

    @classmethod
    def from_vim(cls, vm: Any) -> VmSizing:
        config = vm.summary.config
        storage = vm.summary.storage
        committed = (storage.committed or 0) + (storage.uncommitted or 0) if storage is not None else 0
        host = vm.runtime.host
        return cls(name=vm.name, host=host.name if host is not None else None, num_cpu=int(config.numCpu or 0),
                   memory_gib=round((config.memorySizeMB or 0) / 1024, 2), disk_gib=round(committed / _GIB, 2),
                   power_state=str(vm.runtime.powerState))


@dataclass(frozen=True)
class ClusterSizing:
    """Totals over hosts that can run VMs (connected, not in maintenance) and over powered-on VMs."""

    hosts: tuple[HostSizing, ...]
    vms: tuple[VmSizing, ...]
    usable_hosts: int
    usable_cores: int
    usable_memory_gib: float
    allocated_vcpu: int
    allocated_memory_gib: float

    @property
    def vcpu_per_core(self) -> float:
        """CPU over-commit of powered-on VMs on usable hosts (0 when no host is usable)."""
        return round(self.allocated_vcpu / self.usable_cores, 2) if self.usable_cores else 0.0

    @property
    def memory_ratio(self) -> float:
        return round(self.allocated_memory_gib / self.usable_memory_gib, 2) if self.usable_memory_gib else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(vcpu_per_core=self.vcpu_per_core, memory_ratio=self.memory_ratio)
        return data


def summarize(hosts: Iterable[HostSizing], vms: Iterable[VmSizing]) -> ClusterSizing:
    """Aggregate host and VM read-outs (pure: unit-testable without a vCenter)."""
    host_list = tuple(sorted(hosts, key=lambda h: h.name))
    vm_list = tuple(sorted(vms, key=lambda v: v.name))
    usable = [h for h in host_list if h.connection_state == "connected" and not h.in_maintenance]
    running = [v for v in vm_list if v.power_state == "poweredOn"]
    return ClusterSizing(
        hosts=host_list, vms=vm_list, usable_hosts=len(usable),
        usable_cores=sum(h.cpu_cores for h in usable),
        usable_memory_gib=round(sum(h.memory_gib for h in usable), 2),
        allocated_vcpu=sum(v.num_cpu for v in running),
        allocated_memory_gib=round(sum(v.memory_gib for v in running), 2),
    )


def read_sizing(session: VSphereSession) -> ClusterSizing:
    """Read every host and VM of the inventory."""
    from pyVmomi import vim

    hosts = [HostSizing.from_vim(h) for h in session.objects(vim.HostSystem)]
    vms = [VmSizing.from_vim(v) for v in session.objects(vim.VirtualMachine)]
    return summarize(hosts, vms)
