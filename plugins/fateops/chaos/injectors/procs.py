"""Find and signal the local engine's processes by pid tree — never by name.

FATE Flow's standalone server spawns one executor process per task and party (``fate_flow_executor.py
component entrypoint``), which spawns the component's worker. Each executor carries its task in the
``FATE_TASK_CONFIG`` environment variable (YAML with job_id, role, party_id, task_name, task_version),
so a drill can pick exactly *the guest's homo_lr_0 of job X* among the server's children. A pid is
remembered with its start time, so a later heal never signals a recycled pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ProcRef", "TaskProcess", "children", "descendants", "find_task_process", "kill_tree", "proc_ref"]

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcRef:
    """A process identity that survives pid reuse: (pid, start time in clock ticks since boot)."""

    pid: int
    start_ticks: int

    def alive(self) -> bool:
        """Still the same, non-zombie process."""
        stat = _stat(self.pid)
        return stat is not None and stat[2] != "Z" and int(stat[21]) == self.start_ticks

    def stopped(self) -> bool:
        """Still the same process, and stopped by a signal (SIGSTOP) right now."""
        stat = _stat(self.pid)
        return stat is not None and stat[2] == "T" and int(stat[21]) == self.start_ticks

    def signal(self, sig: signal.Signals) -> bool:
        """Send ``sig`` if this is still the same process; False when it is gone (or a new one)."""
        if not self.alive():
            return False
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def as_dict(self) -> dict[str, int]:
        return {"pid": self.pid, "start_ticks": self.start_ticks}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcRef:
        return cls(int(data["pid"]), int(data["start_ticks"]))


def _stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (index 0 = pid … as in proc(5) minus one)."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    head, _, rest = raw.rpartition(")")
    pid_part = head.split(" (", 1)[0]
    return [pid_part, head.split(" (", 1)[1] if " (" in head else "", *rest.split()]


def proc_ref(pid: int) -> ProcRef | None:
    stat = _stat(pid)
    return None if stat is None else ProcRef(pid, int(stat[21]))


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (a scan of /proc: no psutil needed)."""
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is not None and int(stat[3]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, parents before their children."""
    out: list[int] = []
    frontier = [pid]
    while frontier:
        kids = [k for p in frontier for k in children(p)]
        out.extend(kids)
        frontier = kids
    return out


@dataclass(frozen=True)
class TaskProcess:
    """One FATE task executor under the server, with the task it runs."""

    ref: ProcRef
    job_id: str
    role: str
    party_id: str
    task_name: str
    task_version: int
    cmdline: str


def _task_of(pid: int) -> TaskProcess | None:
    try:
        environ = (_PROC / str(pid) / "environ").read_bytes().split(b"\0")
        cmdline = (_PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    env = dict(item.decode(errors="replace").split("=", 1) for item in environ if b"=" in item)
    if "FATE_TASK_CONFIG" not in env:
        return None
    try:
        conf = yaml.safe_load(env["FATE_TASK_CONFIG"]) or {}
    except yaml.YAMLError:
        return None
    ref = proc_ref(pid)
    if ref is None or not isinstance(conf, dict):
        return None
    return TaskProcess(ref=ref, job_id=str(conf.get("job_id", "")), role=str(conf.get("role", "")),
                       party_id=str(conf.get("party_id", "")), task_name=str(conf.get("task_name", "")),
                       task_version=int(conf.get("task_version") or 0), cmdline=cmdline.strip())


def find_task_process(server_pid: int, *, job_id: str, role: str, party_id: str | int,
                      task_name: str) -> TaskProcess | None:
    """The executor of that task under the server (newest task_version if several), or None."""
    matches = [t for t in (_task_of(pid) for pid in descendants(server_pid)) if t is not None
               and (t.job_id, t.role, t.party_id, t.task_name) == (job_id, role, str(party_id), task_name)]
    return max(matches, key=lambda t: t.task_version) if matches else None


def kill_tree(ref: ProcRef, sig: signal.Signals = signal.SIGKILL) -> list[int]:
    """Signal a process and everything below it (children first, so none is re-parented unseen)."""
    if not ref.alive():
        return []
    victims = [r for r in (proc_ref(p) for p in descendants(ref.pid)) if r is not None]
    hit = [r.pid for r in reversed(victims) if r.signal(sig)]
    if ref.signal(sig):
        hit.append(ref.pid)
    for pid in hit:  # reap our own children (a test may have spawned the engine) so none stays a zombie
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
    return hit
