"""(b) A local party: the machine that runs the embedded FATE engine, against ``local:`` in sizing.yaml.

The engine need not be running, nor installed: only the machine is measured. What is measured is a
plain :class:`MachineFacts`, so tests inject any machine they like.
"""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from fateops.k8s import sizing
from fateops.k8s.sizing import LocalGuide
from fateops.sizing_audit.findings import Finding, finding

__all__ = ["MachineFacts", "audit_local", "read_machine"]

_CGROUP_MEMORY = Path("/sys/fs/cgroup/memory.max")


@dataclass(frozen=True)
class MachineFacts:
    """CPUs this process may use, memory in bytes, and free bytes on the disk under ``disk_path``."""

    hostname: str
    cpu_cores: int
    memory_bytes: int
    disk_path: str
    free_disk_bytes: int


def read_machine(path: Path) -> MachineFacts:
    """This machine. CPUs are the ones this process may run on and a cgroup memory limit counts (a
    container sees the host's totals otherwise); the disk is measured at ``path``'s nearest existing
    directory (the engine's home does not exist before the first bootstrap)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit = _CGROUP_MEMORY.read_text().strip() if _CGROUP_MEMORY.is_file() else ""
    if limit.isdigit():
        memory = min(memory, int(limit))
    existing = next(p for p in (path, *path.parents) if p.exists())
    return MachineFacts(hostname=socket.gethostname(), cpu_cores=cores, memory_bytes=memory, disk_path=str(path),
                        free_disk_bytes=shutil.disk_usage(existing).free)


def audit_local(scope: str, facts: MachineFacts, guide: LocalGuide | None, *,
                dataset_bytes: Decimal | None = None) -> list[Finding]:
    """Short memory or disk blocks (tasks get OOM-killed, writes fail); fewer CPUs, or room for less than
    N× the dataset, warn. The reasons for each number are comments in sizing.yaml."""
    if guide is None:
        return [Finding(scope, facts.hostname, "local guideline", "warning", "sizing.yaml has no local: section",
                        "cpu, memory, free_disk, dataset_multiple", "add the local: section (see the shipped file)")]
    machine, disk, free = f"machine {facts.hostname}", f"disk {facts.disk_path}", Decimal(facts.free_disk_bytes)
    fmt = sizing.fmt_mem
    out = [finding(scope, machine, "CPU cores", "warning" if facts.cpu_cores < guide.cpu else None,
                   str(facts.cpu_cores), f"≥ {sizing.fmt_cpu(guide.cpu)}",
                   "run the engine on a machine (or container) with more cores: jobs will be slow"),
           finding(scope, machine, "memory", "blocker" if facts.memory_bytes < guide.memory else None,
                   fmt(Decimal(facts.memory_bytes)), f"≥ {fmt(guide.memory)}",
                   "give the machine (or its container) more memory: FATE's task processes get OOM-killed"),
           finding(scope, disk, "free disk", "blocker" if free < guide.free_disk else None,
                   f"{fmt(free)} free", f"≥ {fmt(guide.free_disk)}",
                   "free space there or point FATEOPS_STATE_DIR at a larger disk")]
    if dataset_bytes is None:
        out[-1] = out[-1].with_note("no dataset size given: the dataset rule was not checked")
        return out
    need = guide.dataset_multiple * dataset_bytes
    out.append(finding(scope, disk, "room for the dataset", "warning" if free < need else None,
                       f"{fmt(free)} free", f"≥ {guide.dataset_multiple.normalize():f}× the {fmt(dataset_bytes)} "
                       f"dataset = {fmt(need)}", "free space or move FATEOPS_STATE_DIR before uploading"))
    return out
