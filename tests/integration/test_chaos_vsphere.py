"""Host/VM drills against vcsim — a real vCenter SOAP API (govmomi's simulator) driven through pyvmomi.

vcsim has no vSphere HA, so the test plays HA the way the harness documents it: a thread watches the
VM (or host), posts the events HA would log (``DasHostFailedEvent``, ``VmRestartedOnAlternateHostEvent``)
and powers the VMs back on. The drill itself only powers off and observes; it must detect the VM down,
measure the recovery, collect the events with QueryEvents — and report a recovery slower than the
SLO (or none at all) as a failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fateops.chaos.catalogue import Catalogue, load_catalogue, parse_catalogue
from fateops.chaos.ledger import Ledger
from fateops.chaos.plan import Targets, drill_context, run_drills
from fateops.chaos.result import DrillResult
from fateops.federation import load_federation
from fateops.vsphere import actions, read_sizing
from fateops.vsphere.session import VSphereSession, VSphereSettings
from tests.harness.vcsim import VCSim

pytestmark = [pytest.mark.harness, pytest.mark.timeout(900)]

VM, HOST = "DC0_C0_RP0_VM0", "DC0_C0_H1"  # vcsim's inventory: VM0 runs on cluster host H1


@pytest.fixture
def session(vcsim: VCSim) -> Iterator[VSphereSession]:
    settings = VSphereSettings(host=vcsim.host, port=vcsim.port, user=vcsim.user, password=vcsim.password,
                               verify_tls=False, timeout_s=20)
    from pyVmomi import vim

    with VSphereSession(settings) as s:
        for vm in s.objects(vim.VirtualMachine):  # every test starts from a healthy cluster
            actions.power_on(vm)
        yield s
        assert Ledger().entries(backend="vsphere") == []


class PlayHA(threading.Thread):
    """Plays vSphere HA: once every watched VM is off, wait ``delay`` seconds, log HA's events, power on."""

    def __init__(self, vcsim: VCSim, vms: list[str], *, delay: float = 0.0, host_failed: str | None = None) -> None:
        super().__init__(daemon=True)
        self.vcsim, self.vms, self.delay, self.host_failed = vcsim, vms, delay, host_failed
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            from tests.harness.vcsim import find_by_name

            si = self.vcsim.connect()
            from pyVmomi import vim

            objs = [find_by_name(si, vim.VirtualMachine, name) for name in self.vms]
            deadline = time.monotonic() + 120
            while any(o.runtime.powerState != "poweredOff" for o in objs):
                assert time.monotonic() < deadline, "the drill never powered the VMs off"
                time.sleep(0.2)
            if self.host_failed:
                self.vcsim.post_host_failed_event(self.host_failed)
            time.sleep(self.delay)
            for o in objs:
                o.PowerOnVM_Task()
            for name in self.vms:
                self.vcsim.post_vm_restarted_event(name)
        except BaseException as err:
            self.error = err


def _run(session: VSphereSession, catalogue: Catalogue, drill_id: str, targets: Targets,
         ha: Callable[[], PlayHA | None] = lambda: None, *, run_id: str) -> DrillResult:
    federation = load_federation()
    helper = ha()
    if helper:
        helper.start()
    with drill_context("vsphere", federation, federation.party(9999), vsphere=session, targets=targets,
                       run_id=run_id) as ctx:
        card = run_drills(ctx, [catalogue.get(drill_id)], use_fate=False, log_to=print)
    if helper:
        helper.join(timeout=60)
        assert helper.error is None, helper.error
    card.write()
    return card.results[0]


def _fast(drill_id: str, **changes: Any) -> Catalogue:
    """The shipped drill with test-sized SLO/deadline (so a miss is seen in seconds, not minutes)."""
    data = load_catalogue().get(drill_id).model_dump(mode="json")
    data.update(changes)
    return parse_catalogue({"version": 1, "drills": [data]})


def test_vm_power_off_is_detected_and_the_ha_restart_is_measured(vcsim: VCSim, session: VSphereSession) -> None:
    result = _run(session, load_catalogue(), "vm-crash-ha", Targets(vm_name=VM), lambda: PlayHA(vcsim, [VM]),
                  run_id="pytest-vsphere-ha-restart")
    assert result.status == "passed", result.reasons
    assert result.time_to_detect_s is not None and result.time_to_recover_s is not None
    kinds = [e["kind"] for e in result.events]
    assert "VmPoweredOffEvent" in kinds and "VmRestartedOnAlternateHostEvent" in kinds
    assert kinds.index("VmPoweredOffEvent") < kinds.index("VmRestartedOnAlternateHostEvent")
    assert result.relaunch_measured is False  # no node named: the pods' relaunch is not claimed
    assert actions.power_state(session.vm(VM)) == "poweredOn"


def test_a_restart_slower_than_the_slo_fails_the_drill(vcsim: VCSim, session: VSphereSession) -> None:
    catalogue = _fast("vm-crash-ha", recovery_slo_s=2, recovery_deadline_s=60)
    result = _run(session, catalogue, "vm-crash-ha", Targets(vm_name=VM), lambda: PlayHA(vcsim, [VM], delay=4),
                  run_id="pytest-vsphere-slow-restart")
    assert result.status == "failed"
    assert result.time_to_recover_s is not None and result.slo_met is False
    assert any("over the 2s SLO" in r for r in result.reasons)


def test_no_restart_at_all_fails_and_the_final_heal_powers_the_vm_on(session: VSphereSession) -> None:
    catalogue = _fast("vm-worker-power-off", recovery_slo_s=3, recovery_deadline_s=5)
    result = _run(session, catalogue, "vm-worker-power-off", Targets(vm_name=VM), run_id="pytest-vsphere-no-restart")
    assert result.status == "failed" and result.time_to_recover_s is None
    assert any("no recovery within the recovery deadline" in r for r in result.reasons)
    assert any("powered on by fateops (the platform did not)" in line for line in result.evidence)
    assert actions.power_state(session.vm(VM)) == "poweredOn"


def test_a_failed_host_has_its_vms_restarted_by_ha(vcsim: VCSim, session: VSphereSession) -> None:
    on_host = [vm.name for vm in session.host(HOST).vm if actions.power_state(vm) == "poweredOn"]
    assert on_host
    result = _run(session, load_catalogue(), "host-failure-ha", Targets(host_name=HOST),
                  lambda: PlayHA(vcsim, on_host, host_failed=HOST), run_id="pytest-vsphere-host-failure")
    assert result.status == "passed", result.reasons
    kinds = {e["kind"] for e in result.events}
    assert {"DasHostFailedEvent", "VmRestartedOnAlternateHostEvent"} <= kinds
    assert all(actions.power_state(session.vm(name)) == "poweredOn" for name in on_host)


def test_maintenance_mode_is_entered_and_left(session: VSphereSession) -> None:
    catalogue = _fast("host-maintenance", faults={"vsphere": {"action": "maintenance_mode", "duration_s": 2}})
    result = _run(session, catalogue, "host-maintenance", Targets(host_name=HOST), run_id="pytest-vsphere-maintenance")
    assert result.status == "passed", result.reasons
    assert any("entered maintenance mode" in line for line in result.evidence)
    assert any("left maintenance mode" in line for line in result.evidence)
    assert not session.host(HOST).runtime.inMaintenanceMode


def test_sizing_read_out_of_the_simulated_inventory(session: VSphereSession) -> None:
    sizing = read_sizing(session)
    assert {h.name for h in sizing.hosts} >= {"DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"}
    assert sizing.usable_hosts == len(sizing.hosts) and sizing.usable_cores > 0
    assert {v.name for v in sizing.vms} >= {VM}
    assert next(v for v in sizing.vms if v.name == VM).host == HOST
    assert sizing.allocated_vcpu == sum(v.num_cpu for v in sizing.vms if v.power_state == "poweredOn")


def test_waiting_for_an_event_ends_at_its_deadline(vcsim: VCSim, session: VSphereSession) -> None:
    since = session.connect().CurrentTime()
    assert actions.wait_for_event(session, ["DasHostFailedEvent"], since=since, timeout_s=1, poll_s=0.2) is None
    vcsim.post_host_failed_event("DC0_C0_H2")
    found = actions.wait_for_event(session, ["DasHostFailedEvent"], since=since, timeout_s=10, poll_s=0.2)
    assert found is not None and (found.kind, found.host) == ("DasHostFailedEvent", "DC0_C0_H2")


def test_a_missing_vm_is_named_with_the_ones_that_exist(session: VSphereSession) -> None:
    result = _run(session, load_catalogue(), "vm-crash-ha", Targets(vm_name="tkc-worker-404"),
                  run_id="pytest-vsphere-missing-vm")
    assert result.status == "error"
    assert "no VirtualMachine named 'tkc-worker-404'" in result.reasons[0] and VM in result.reasons[0]


def test_with_the_workers_node_the_pods_relaunch_is_timed_too(vcsim: VCSim, session: VSphereSession,
                                                              kube_cluster: Any) -> None:
    """vcsim's VM plays the TKG worker that is Kubernetes node worker-0 of the harness cluster: after the VM is
    back, the drill waits for that node and every pod on it to be Ready (the seed's "< 3 min")."""
    federation = load_federation()
    helper = PlayHA(vcsim, [VM])
    helper.start()
    api = kube_cluster.client()
    try:
        with drill_context("vsphere", federation, federation.party(9999), vsphere=session,
                           targets=Targets(vm_name=VM, node_name="worker-0"), run_id="pytest-relaunch") as ctx:
            ctx.kube = api  # the party's cluster (the local federation names none)
            card = run_drills(ctx, [load_catalogue().get("vm-crash-ha")], use_fate=False, log_to=print)
    finally:
        api.close()
    helper.join(timeout=60)
    result = card.results[0]
    assert result.status == "passed", result.reasons
    assert result.relaunch_measured is True and result.time_to_relaunch_s is not None
    assert {"injected", "detected", "recovered", "relaunched"} <= set(result.timeline)
