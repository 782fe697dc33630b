"""Faults under the clusters: a worker VM powered off, a host failing, a host in maintenance mode.

Recovery of a VM is the platform's job (vSphere HA restarts crashed VMs, Tanzu Kubernetes Grid powers
back on a worker that was shut down): the drill powers off and *waits*, reading the VM's power state
and the events HA leaves (``QueryEvents``) — fateops powers a VM on itself only as the final heal, after
the recovery deadline, and the drill then fails its SLO. When the worker's Kubernetes node is known,
"relaunched" means that node is Ready again with every pod on it Ready (the seed's < 3 min).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fateops.chaos.injectors.base import DrillContext, Injector, JobRef
from fateops.exceptions import DrillError, FateopsError
from fateops.vsphere import actions

__all__ = ["HostFailure", "MaintenanceMode", "PowerOffVm"]

EVIDENCE_EVENTS = ("VmPoweredOffEvent", "DasHostFailedEvent", *actions.HA_RESTART_EVENTS)
EVENT_WAIT_S = 15.0


class _VSphereTarget(Injector):
    backend = "vsphere"

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.since: dt.datetime | None = None

    @property
    def session(self) -> Any:
        return self.ctx.require("a vCenter session", self.ctx.vsphere,
                                "set the vSphere connection (DAG Param vsphere_conn_id / FATEOPS_VSPHERE_URL)")

    def _server_now(self) -> dt.datetime:
        """vCenter's clock (events are stamped with it; ours may be skewed)."""
        return self.session.connect().CurrentTime()

    def _events(self, entity: Any) -> list[dict[str, Any]]:
        if self.since is None:
            return []
        try:
            found = actions.query_events(self.session, type_ids=EVIDENCE_EVENTS, entity=entity,
                                         since=self.since - dt.timedelta(seconds=1))
        except FateopsError as err:
            return [{"kind": "QueryEventsFailed", "message": err.message}]
        return [e.as_dict() for e in found]

    def _went_off(self, vms: list[Any]) -> bool:
        """Each VM has a ``VmPoweredOffEvent`` since the injection."""
        if self.since is None or not vms:
            return False
        try:
            off = actions.query_events(self.session, type_ids=["VmPoweredOffEvent"],
                                       since=self.since - dt.timedelta(seconds=1))
        except FateopsError:
            return False
        return {vm.name for vm in vms} <= {e.vm for e in off}

    def relaunched(self) -> bool | None:
        """The worker's node is Ready and every pod on it is Ready (None without a node/cluster)."""
        node_name, api = self.ctx.node_name, self.ctx.kube
        if not node_name or api is None:
            return None
        from kubernetes import client

        from fateops.chaos.injectors.kubernetes import REQUEST_TIMEOUT_S, pod_ready

        core = client.CoreV1Api(api)
        try:
            node = core.read_node(node_name, _request_timeout=REQUEST_TIMEOUT_S)
            pods = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node_name}",
                                                    _request_timeout=REQUEST_TIMEOUT_S).items
        except Exception:
            return False
        ready = any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))
        return ready and all(pod_ready(p) for p in pods if not p.metadata.deletion_timestamp)


class PowerOffVm(_VSphereTarget):
    """A worker VM goes down hard (PowerOff, what a crash looks like); HA/TKG must bring it back."""

    action = "power_off_vm"
    self_healing = True

    def describe(self) -> str:
        return (f"power off VM {self.ctx.vm_name or '<vm_name>'} in vCenter; recovery: vSphere HA / TKG power it "
                f"back on (events read with QueryEvents); final heal: power it on if it is still off")

    def _vm(self) -> Any:
        return self.session.vm(self.ctx.require("vm_name", self.ctx.vm_name, "pass the worker VM's name"))

    def preflight(self) -> None:
        vm = self._vm()
        if actions.power_state(vm) != "poweredOn":
            raise DrillError(f"VM {vm.name} is {actions.power_state(vm)} before the drill",
                             fix="power it on and let its node become Ready first")

    def inject(self, job: JobRef | None) -> None:
        vm = self._vm()
        self.since = self._server_now()
        actions.power_off(vm)
        self.note(f"VM {vm.name} powered off (was on host {vm.runtime.host.name if vm.runtime.host else '?'})")

    def detected(self) -> bool:
        """Off now — or vCenter logged it going off (HA may already have restarted it: still a crash)."""
        vm = self._vm()
        return actions.power_state(vm) == "poweredOff" or self._went_off([vm])

    def recovered(self) -> bool:
        return actions.power_state(self._vm()) == "poweredOn"

    def events(self) -> list[dict[str, Any]]:
        """The VM's events since the injection — after waiting (bounded) for the restart event itself, which
        vCenter may log a moment after the power state flipped."""
        vm = self._vm()
        if self.since is not None and actions.power_state(vm) == "poweredOn":
            found = actions.wait_for_event(self.session, actions.HA_RESTART_EVENTS, entity=vm,
                                           since=self.since - dt.timedelta(seconds=1), timeout_s=EVENT_WAIT_S)
            if found is None:
                self.note(f"no restart event for VM {vm.name} within {EVENT_WAIT_S:.0f}s of QueryEvents")
        return self._events(vm)

    def lift(self) -> None:
        if actions.power_on(self._vm()):
            self.note(f"VM {self.ctx.vm_name} powered on by fateops (the platform did not)")

    def record(self) -> dict[str, Any]:
        return {"vm_name": self.ctx.vm_name}

    def restore(self, record: dict[str, Any]) -> None:
        self.ctx.vm_name = self.ctx.vm_name or record.get("vm_name")


class HostFailure(_VSphereTarget):
    """An ESXi host fails: every VM running on it goes down; HA must restart them (on other hosts)."""

    action = "host_failure"
    self_healing = True

    def __init__(self, spec: Any, ctx: DrillContext) -> None:
        super().__init__(spec, ctx)
        self.vm_names: list[str] = []

    def describe(self) -> str:
        return (f"fail host {self.ctx.host_name or '<host_name>'}: power off every VM running on it; recovery: "
                f"vSphere HA restarts them (DasHostFailedEvent, VmRestartedOnAlternateHostEvent); final heal: "
                f"power on any VM still off")

    def _host(self) -> Any:
        return self.session.host(self.ctx.require("host_name", self.ctx.host_name, "pass the ESXi host's name"))

    def preflight(self) -> None:
        host = self._host()
        if host.runtime.inMaintenanceMode or str(host.runtime.connectionState) != "connected":
            raise DrillError(f"host {host.name} is not a healthy, connected host before the drill")
        if not any(actions.power_state(vm) == "poweredOn" for vm in host.vm):
            raise DrillError(f"host {host.name} runs no powered-on VM: failing it would show nothing",
                             fix="pick the host that runs the party's worker VM")

    def inject(self, job: JobRef | None) -> None:
        host = self._host()
        self.since = self._server_now()
        running = [vm for vm in host.vm if actions.power_state(vm) == "poweredOn"]
        for vm in running:
            actions.power_off(vm)
        self.vm_names = sorted(vm.name for vm in running)
        self.note(f"host {host.name} failed: VMs {', '.join(self.vm_names)} powered off")

    def _vms(self) -> list[Any]:
        return [self.session.vm(name) for name in self.vm_names]

    def detected(self) -> bool:
        vms = self._vms()
        return all(actions.power_state(vm) != "poweredOn" for vm in vms) or self._went_off(vms)

    def recovered(self) -> bool:
        return all(actions.power_state(vm) == "poweredOn" for vm in self._vms())

    def events(self) -> list[dict[str, Any]]:
        """HA's events about this host or its VMs (queried inventory-wide: HA logs a host failure on the
        cluster, and an entity filter would miss it on some vCenters)."""
        mine = set(self.vm_names)
        return [e for e in self._events(None) if e.get("vm") in mine or e.get("host") == self.ctx.host_name
                or e.get("kind") == "QueryEventsFailed"]

    def lift(self) -> None:
        for vm in self._vms():
            if actions.power_on(vm):
                self.note(f"VM {vm.name} powered on by fateops (HA did not)")

    def record(self) -> dict[str, Any]:
        return {"vm_names": self.vm_names, "host_name": self.ctx.host_name}

    def restore(self, record: dict[str, Any]) -> None:
        self.vm_names = list(record.get("vm_names") or [])
        self.ctx.host_name = self.ctx.host_name or record.get("host_name")


class MaintenanceMode(_VSphereTarget):
    """A planned evacuation: the host enters maintenance mode for a while, then leaves it."""

    action = "maintenance_mode"

    def describe(self) -> str:
        held = f"for {self.spec.duration_s:.0f}s" if self.spec.duration_s else "until the job's wait has ended"
        return (f"put host {self.ctx.host_name or '<host_name>'} into maintenance mode {held} (DRS evacuates "
                f"its VMs); heal: exit maintenance mode")

    def _host(self) -> Any:
        return self.session.host(self.ctx.require("host_name", self.ctx.host_name, "pass the ESXi host's name"))

    def preflight(self) -> None:
        host = self._host()
        if host.runtime.inMaintenanceMode:
            raise DrillError(f"host {host.name} is already in maintenance mode",
                             fix="exit it first, or heal a previous drill (`fateops chaos heal`)")

    def inject(self, job: JobRef | None) -> None:
        host = self._host()
        self.since = self._server_now()
        actions.enter_maintenance(host)
        self.note(f"host {host.name} entered maintenance mode")

    def detected(self) -> bool:
        return bool(self._host().runtime.inMaintenanceMode)

    def recovered(self) -> bool:
        host = self._host()
        return not host.runtime.inMaintenanceMode and str(host.runtime.connectionState) == "connected"

    def events(self) -> list[dict[str, Any]]:
        return self._events(self._host())

    def lift(self) -> None:
        if actions.exit_maintenance(self._host()):
            self.note(f"host {self.ctx.host_name} left maintenance mode")

    def record(self) -> dict[str, Any]:
        return {"host_name": self.ctx.host_name}

    def restore(self, record: dict[str, Any]) -> None:
        self.ctx.host_name = self.ctx.host_name or record.get("host_name")
