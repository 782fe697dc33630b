"""VM and host actions with deadlines: power off/on, maintenance mode, and the events HA leaves behind.

Each action starts a vCenter task and polls it to the end with an absolute deadline (pyvmomi's own
``WaitForTask`` blocks inside ``WaitForUpdates`` and cannot be bounded reliably). Actions are
idempotent where the drills need it: powering on a VM that runs, or leaving maintenance mode on a
host that is not in it, is a no-op — so a heal can run twice.

Events: vSphere HA records what it did (``DasHostFailedEvent``, ``VmRestartedOnAlternateHostEvent``,
``VmDasBeingResetEvent``…); :func:`wait_for_event` polls ``EventManager.QueryEvents`` for them with a
deadline — the drills' evidence that the platform, not fateops, brought a VM back.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fateops.exceptions import VSphereError
from fateops.vsphere.session import VSphereSession

__all__ = [
    "HA_RESTART_EVENTS",
    "PowerState",
    "VmEvent",
    "enter_maintenance",
    "exit_maintenance",
    "power_off",
    "power_on",
    "power_state",
    "query_events",
    "wait_for",
    "wait_for_event",
    "wait_task",
]

log = logging.getLogger(__name__)

PowerState = str  # "poweredOn" | "poweredOff" | "suspended"
#: Events that say a VM was brought back after a failure (HA restart elsewhere, HA reset, plain power-on).
HA_RESTART_EVENTS = ("VmRestartedOnAlternateHostEvent", "VmDasBeingResetEvent", "VmPoweredOnEvent")
POLL_S = 0.5
MAX_EVENTS = 1000  # the most QueryEvents returns in one page


def wait_task(task: Any, *, timeout_s: float, what: str) -> Any:
    """Poll a vCenter task until it succeeds (returns its result) or fails/passes the deadline."""
    from pyVmomi import vim

    deadline = time.monotonic() + timeout_s
    while True:
        info = task.info
        if info.state == vim.TaskInfo.State.success:
            return info.result
        if info.state == vim.TaskInfo.State.error:
            cause = getattr(info.error, "msg", None) or type(info.error).__name__
            raise VSphereError(f"{what} failed in vCenter: {cause}",
                               fix="read the task in the vSphere client (Monitor → Tasks) for the full fault")
        if time.monotonic() >= deadline:
            raise VSphereError(f"{what} still {info.state} after {timeout_s:.0f}s",
                               fix="check vCenter's task list; the host may be overloaded or disconnected")
        time.sleep(POLL_S)


def power_state(vm: Any) -> PowerState:
    return str(vm.runtime.powerState)


def power_off(vm: Any, *, timeout_s: float = 120) -> bool:
    """Hard power-off (what a crash looks like to the guest); False if it was already off."""
    if power_state(vm) == "poweredOff":
        return False
    wait_task(vm.PowerOffVM_Task(), timeout_s=timeout_s, what=f"power off VM {vm.name}")
    log.warning("VM %s powered off", vm.name)
    return True


def power_on(vm: Any, *, timeout_s: float = 300) -> bool:
    """Power on; False (no-op) if it already runs — safe to call twice."""
    if power_state(vm) == "poweredOn":
        return False
    wait_task(vm.PowerOnVM_Task(), timeout_s=timeout_s, what=f"power on VM {vm.name}")
    log.info("VM %s powered on", vm.name)
    return True


def enter_maintenance(host: Any, *, timeout_s: float = 600, evacuate: bool = True) -> bool:
    """Put a host into maintenance mode (DRS evacuates its powered-on VMs); False if it already was."""
    if host.runtime.inMaintenanceMode:
        return False
    wait_task(host.EnterMaintenanceMode_Task(timeout=int(timeout_s), evacuatePoweredOffVms=evacuate),
              timeout_s=timeout_s + 30, what=f"enter maintenance mode on {host.name}")
    log.warning("host %s is in maintenance mode", host.name)
    return True


def exit_maintenance(host: Any, *, timeout_s: float = 600) -> bool:
    """Leave maintenance mode; False (no-op) if the host was not in it — safe to call twice."""
    if not host.runtime.inMaintenanceMode:
        return False
    wait_task(host.ExitMaintenanceMode_Task(timeout=int(timeout_s)), timeout_s=timeout_s + 30,
              what=f"exit maintenance mode on {host.name}")
    log.info("host %s left maintenance mode", host.name)
    return True


@dataclass(frozen=True)
class VmEvent:
    """One vCenter event, reduced to plain values for a scorecard's evidence."""

    kind: str
    created: dt.datetime
    message: str
    vm: str | None = None
    host: str | None = None

    @classmethod
    def from_vim(cls, event: Any) -> VmEvent:
        kind = type(event).__name__.rsplit(".", 1)[-1]
        vm = getattr(getattr(event, "vm", None), "name", None)
        host = getattr(getattr(event, "host", None), "name", None)
        failed = getattr(getattr(event, "failedHost", None), "name", None)
        return cls(kind=kind, created=event.createdTime, message=str(event.fullFormattedMessage or ""),
                   vm=vm, host=failed or host)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "created": self.created.isoformat(), "message": self.message, "vm": self.vm,
                "host": self.host}


def query_events(session: VSphereSession, *, type_ids: Iterable[str] = (), entity: Any = None,
                 since: dt.datetime | None = None) -> list[VmEvent]:
    """``EventManager.QueryEvents`` filtered by event type, entity (and its children) and start time."""
    from pyVmomi import vim

    spec = vim.event.EventFilterSpec(maxCount=MAX_EVENTS)  # servers default to a small latest page
    kinds = list(type_ids)
    if kinds:
        spec.eventTypeId = kinds
    if entity is not None:
        spec.entity = vim.event.EventFilterSpec.ByEntity(entity=entity, recursion="all")
    if since is not None:
        spec.time = vim.event.EventFilterSpec.ByTime(beginTime=since)
    try:
        raw = session.content.eventManager.QueryEvents(spec) or []
    except vim.fault.InvalidArgument as err:
        raise VSphereError(f"vCenter rejected the event query: {err.msg}",
                           fix=f"check the event type ids {kinds}") from None
    events = [VmEvent.from_vim(e) for e in raw]
    if since is not None:  # some servers ignore ByTime: filter again on our side
        events = [e for e in events if e.created >= since]
    return sorted(events, key=lambda e: e.created)


def wait_for_event(session: VSphereSession, type_ids: Iterable[str], *, since: dt.datetime, timeout_s: float,
                   entity: Any = None, poll_s: float = 1.0) -> VmEvent | None:
    """The first matching event logged after ``since``, or ``None`` once ``timeout_s`` has passed."""
    kinds = list(type_ids)
    deadline = time.monotonic() + timeout_s
    while True:
        found = query_events(session, type_ids=kinds, entity=entity, since=since)
        if found:
            return found[0]
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll_s)


def wait_for(check: Callable[[], bool], *, timeout_s: float, poll_s: float = POLL_S) -> bool:
    """Poll ``check`` until true (returns True) or the deadline passes (returns False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
