"""vSphere through pyvmomi: a session with timeouts, VM/host actions with deadlines, HA events, sizing.

Used by the host/VM chaos drills (power a worker VM off, fail a host, maintenance mode, wait for HA's
restart events) and by sizing read-outs. No Airflow here: the DAG turns a Connection into
:class:`VSphereSettings`.
"""

from __future__ import annotations

from fateops.vsphere.actions import (
    HA_RESTART_EVENTS,
    VmEvent,
    enter_maintenance,
    exit_maintenance,
    power_off,
    power_on,
    power_state,
    query_events,
    wait_for_event,
    wait_task,
)
from fateops.vsphere.session import VSphereSession, VSphereSettings
from fateops.vsphere.sizing import ClusterSizing, HostSizing, VmSizing, read_sizing, summarize

__all__ = [
    "HA_RESTART_EVENTS",
    "ClusterSizing",
    "HostSizing",
    "VSphereSession",
    "VSphereSettings",
    "VmEvent",
    "VmSizing",
    "enter_maintenance",
    "exit_maintenance",
    "power_off",
    "power_on",
    "power_state",
    "query_events",
    "read_sizing",
    "summarize",
    "wait_for_event",
    "wait_task",
]
