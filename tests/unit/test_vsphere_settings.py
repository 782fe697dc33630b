"""vSphere settings, sizing arithmetic and event records — the parts that need no vCenter."""

from __future__ import annotations

import datetime as dt

import pytest

from fateops.exceptions import ConfigError
from fateops.vsphere.actions import VmEvent
from fateops.vsphere.session import VSphereSettings
from fateops.vsphere.sizing import HostSizing, VmSizing, summarize


def test_settings_from_a_url_keep_the_password_out_of_reprs() -> None:
    s = VSphereSettings.from_url("https://ops@vcenter.lab:8443", "s3cret-pw", verify_tls=False, timeout_s=12)
    assert (s.host, s.port, s.user, s.verify_tls, s.timeout_s) == ("vcenter.lab", 8443, "ops", False, 12)
    assert "s3cret-pw" not in repr(s)
    assert VSphereSettings.from_url("ops@vc", "pw").port == 443


@pytest.mark.parametrize(("url", "field"), [
    ("https://vcenter.lab", "vsphere.user"),
    ("https://ops:pw@vcenter.lab", "vsphere.url"),
    ("http://ops@vcenter.lab", "vsphere.url"),
])
def test_bad_urls_name_the_field(url: str, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        VSphereSettings.from_url(url, "pw")
    assert err.value.field == field


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FATEOPS_VSPHERE_URL", raising=False)
    with pytest.raises(ConfigError, match="FATEOPS_VSPHERE_URL"):
        VSphereSettings.from_env()
    monkeypatch.setenv("FATEOPS_VSPHERE_URL", "https://ops@127.0.0.1:9443")
    monkeypatch.setenv("FATEOPS_VSPHERE_PASSWORD", "pw")
    monkeypatch.setenv("FATEOPS_VSPHERE_INSECURE", "1")
    s = VSphereSettings.from_env()
    assert (s.host, s.port, s.verify_tls) == ("127.0.0.1", 9443, False)
    with pytest.raises(ConfigError, match="timeout_s"):
        VSphereSettings(host="h", user="u", password="p", timeout_s=0)


def _host(name: str, cores: int, mem: float, *, state: str = "connected", maint: bool = False) -> HostSizing:
    return HostSizing(name=name, cluster="C0", cpu_cores=cores, cpu_threads=cores * 2, cpu_mhz=2300, memory_gib=mem,
                      connection_state=state, in_maintenance=maint, vms=())


def _vm(name: str, cpu: int, mem: float, power: str = "poweredOn") -> VmSizing:
    return VmSizing(name=name, host="h1", num_cpu=cpu, memory_gib=mem, disk_gib=100, power_state=power)


def test_summary_counts_only_usable_hosts_and_running_vms() -> None:
    summary = summarize(
        [_host("h1", 32, 512), _host("h2", 32, 512), _host("h3", 32, 512, maint=True),
         _host("h4", 32, 512, state="notResponding")],
        [_vm("w1", 16, 64), _vm("w2", 16, 64), _vm("w3", 16, 64, power="poweredOff")])
    assert (summary.usable_hosts, summary.usable_cores, summary.usable_memory_gib) == (2, 64, 1024)
    assert (summary.allocated_vcpu, summary.allocated_memory_gib) == (32, 128)
    assert summary.vcpu_per_core == 0.5 and summary.memory_ratio == 0.12
    assert [h.name for h in summary.hosts] == ["h1", "h2", "h3", "h4"]
    data = summary.as_dict()
    assert data["vcpu_per_core"] == 0.5 and len(data["vms"]) == 3
    assert summarize([], []).vcpu_per_core == 0.0


def test_vm_events_become_plain_records() -> None:
    from pyVmomi import vim

    when = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    vm = vim.event.VmEventArgument(name="tkc-worker-1")
    host = vim.event.HostEventArgument(name="esxi-02")
    event = vim.event.VmRestartedOnAlternateHostEvent(vm=vm, host=host, sourceHost=host, key=1, chainId=1,
                                                      createdTime=when, userName="",
                                                      fullFormattedMessage="vSphere HA restarted tkc-worker-1")
    record = VmEvent.from_vim(event)
    assert (record.kind, record.vm, record.host) == ("VmRestartedOnAlternateHostEvent", "tkc-worker-1", "esxi-02")
    assert record.as_dict()["created"] == "2026-01-01T12:00:00+00:00"
    failed = VmEvent.from_vim(vim.event.DasHostFailedEvent(failedHost=host, key=2, chainId=2, createdTime=when,
                                                           userName="", fullFormattedMessage="host failed"))
    assert (failed.kind, failed.host, failed.vm) == ("DasHostFailedEvent", "esxi-02", None)
