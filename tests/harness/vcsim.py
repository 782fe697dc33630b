"""vcsim: a real vCenter SOAP API (govmomi's simulator) on 127.0.0.1, plus HA-event injection.

Debian ships govmomi 0.24.2's ``simulator`` library but no ``vcsim`` command, so we build our own
small launcher (``vcsim/main.go`` beside this file) in GOPATH mode, once, into
``~/.cache/fateops/vcsim/<hash of main.go>/vcsim``. The simulator has no HA (DAS) logic, so tests
inject what vSphere HA would have logged — ``DasHostFailedEvent``, ``VmRestartedOnAlternateHostEvent``
— with ``EventManager.PostEvent`` and read them back with ``QueryEvents`` like production code does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.harness._common import (
    HarnessError,
    apt_install,
    build_lock,
    harness_cache,
    install_atomically,
    log,
    run_logged,
    staging_dir,
)
from tests.harness.procs import Proc, spawn, wait_until

MAIN_GO = Path(__file__).resolve().parent / "vcsim" / "main.go"
GOCODE = Path("/usr/share/gocode")
_GOVMOMI_SIM = GOCODE / "src" / "github.com" / "vmware" / "govmomi" / "simulator"


def ensure_vcsim() -> Path:
    """Path of the built launcher; builds it (≈1 min cold) when ``main.go`` changed or never built."""
    digest = hashlib.sha256(MAIN_GO.read_bytes()).hexdigest()[:16]
    root = harness_cache("vcsim", digest)
    binary = root / "vcsim"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    with build_lock(f"vcsim-{digest}", timeout=1800):
        if binary.is_file():
            return binary
        _build(root, binary)
    return binary


def _build(root: Path, binary: Path) -> None:
    started = time.monotonic()
    build_log = root / "build.log"
    build_log.write_text("")
    if shutil.which("go") is None or not _GOVMOMI_SIM.is_dir():
        apt_install(["golang-go", "golang-github-vmware-govmomi-dev"], log_file=build_log)
    if shutil.which("go") is None or not _GOVMOMI_SIM.is_dir():
        raise HarnessError("Go or govmomi's simulator sources are missing",
                           fix="apt-get install golang-go golang-github-vmware-govmomi-dev")
    stage = staging_dir(root, "build")
    try:
        src = stage / "src" / "fateops-vcsim"
        src.mkdir(parents=True)
        shutil.copy2(MAIN_GO, src / "main.go")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(stage),
            "GO111MODULE": "off",
            "GOPATH": f"{stage}:{GOCODE}",
            "GOPROXY": "off",
            "GOFLAGS": "",
            "CGO_ENABLED": "0",
            "GOCACHE": str(harness_cache("go-build")),
        }
        log.info("building the vcsim launcher over Debian's govmomi (≈1 min cold); log: %s", build_log)
        run_logged(["go", "build", "-o", str(stage / "vcsim"), "."], cwd=src, env=env, log_file=build_log,
                   timeout=1800, what="go build (vcsim)")
        install_atomically(stage / "vcsim", binary)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    elapsed = time.monotonic() - started
    (root / "build-seconds.txt").write_text(f"{elapsed:.1f}\n")
    log.info("vcsim built in %.0f s: %s", elapsed, binary)


@dataclass
class VCSim:
    """A running simulator: address, per-run credentials and a pyvmomi connection on demand."""

    run_dir: Path
    user: str = "fateops@vsphere.local"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    host: str = "127.0.0.1"
    port: int = 0
    proc: Proc | None = None
    _si: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """SDK URL (without credentials)."""
        return f"https://{self.host}:{self.port}/sdk"

    def start(self, binary: Path | None = None, *, hosts_per_cluster: int = 3, vms_per_pool: int = 2) -> None:
        """Start the simulator on a kernel-chosen 127.0.0.1 port and wait until it answers."""
        binary = binary or ensure_vcsim()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        ready = self.run_dir / "vcsim.ready.json"
        ready.unlink(missing_ok=True)
        argv = [str(binary), "-listen", "127.0.0.1:0", "-username", self.user, "-ready-file", str(ready),
                "-host", str(hosts_per_cluster), "-vm", str(vms_per_pool)]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "VCSIM_PASSWORD": self.password,
               "TMPDIR": str(self.run_dir)}
        self.proc = spawn("vcsim", argv, log_path=self.run_dir / "vcsim.log", env=env)
        wait_until(ready.exists, timeout=60, what="vcsim ready file", proc=self.proc)
        info = json.loads(ready.read_text())
        self.host, self.port = info["host"], int(info["port"])

    def stop(self) -> None:
        """Disconnect and stop the simulator."""
        if self._si is not None:
            from pyVim.connect import Disconnect

            try:
                Disconnect(self._si)
            except Exception as exc:  # the server may already be gone
                log.debug("vcsim disconnect: %s", exc)
            self._si = None
        if self.proc is not None:
            self.proc.stop(grace=10)

    def connect(self) -> Any:
        """A pyvmomi ServiceInstance logged in with this run's credentials (cached)."""
        if self._si is None:
            from pyVim.connect import SmartConnect

            self._si = SmartConnect(host=self.host, port=self.port, user=self.user, pwd=self.password,
                                    disableSslCertValidation=True)
        return self._si

    def to_json(self) -> dict[str, Any]:
        """Plain values for ``env.json`` (the password is included: that file is mode 0600)."""
        return {"host": self.host, "port": self.port, "user": self.user, "password": self.password,
                "url": self.url, "procs": [self.proc.to_json()] if self.proc else []}

    def post_host_failed_event(self, host_name: str) -> None:
        """Log what vSphere HA logs when a host fails (``DasHostFailedEvent``)."""
        post_host_failed_event(self.connect(), host_name)

    def post_vm_restarted_event(self, vm_name: str) -> None:
        """Log what vSphere HA logs after restarting a VM elsewhere (``VmRestartedOnAlternateHostEvent``)."""
        post_vm_restarted_event(self.connect(), vm_name)


def find_by_name(si: Any, vim_type: Any, name: str) -> Any:
    """The managed object of ``vim_type`` called ``name`` (raises if absent)."""
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim_type], True)
    try:
        for obj in view.view:
            if obj.name == name:
                return obj
    finally:
        view.Destroy()
    raise HarnessError(f"no {vim_type.__name__} named {name!r} in vcsim",
                       fix="list the inventory (e.g. DC0_C0_H0, DC0_C0_RP0_VM0) and use one of those names")


def _datacenter_of(entity: Any) -> Any:
    from pyVmomi import vim

    node = entity
    while node is not None and not isinstance(node, vim.Datacenter):
        node = node.parent
    return node


def _cluster_args(host: Any) -> dict[str, Any]:
    from pyVmomi import vim

    args: dict[str, Any] = {}
    dc = _datacenter_of(host)
    if dc is not None:
        args["datacenter"] = vim.event.DatacenterEventArgument(name=dc.name, datacenter=dc)
    if isinstance(host.parent, vim.ComputeResource):
        args["computeResource"] = vim.event.ComputeResourceEventArgument(name=host.parent.name,
                                                                         computeResource=host.parent)
    return args


def post_host_failed_event(si: Any, host_name: str) -> None:
    """Post a ``DasHostFailedEvent`` for ``host_name`` (the cluster's HA agent would)."""
    from pyVmomi import vim

    host = find_by_name(si, vim.HostSystem, host_name)
    arg = vim.event.HostEventArgument(name=host.name, host=host)
    event = vim.event.DasHostFailedEvent(
        failedHost=arg, host=arg, key=0, chainId=0, createdTime=dt.datetime.now(dt.UTC),
        userName="", fullFormattedMessage=f"A possible host failure has been detected by HA on {host.name}",
        **_cluster_args(host))
    si.content.eventManager.PostEvent(eventToPost=event)
    log.info("posted DasHostFailedEvent for %s", host_name)


def post_vm_restarted_event(si: Any, vm_name: str) -> None:
    """Post a ``VmRestartedOnAlternateHostEvent`` for ``vm_name`` on its current host."""
    from pyVmomi import vim

    vm = find_by_name(si, vim.VirtualMachine, vm_name)
    host = vm.runtime.host
    host_arg = vim.event.HostEventArgument(name=host.name, host=host)
    event = vim.event.VmRestartedOnAlternateHostEvent(
        vm=vim.event.VmEventArgument(name=vm.name, vm=vm), host=host_arg, sourceHost=host_arg, key=0, chainId=0,
        createdTime=dt.datetime.now(dt.UTC), userName="",
        fullFormattedMessage=f"vSphere HA restarted virtual machine {vm.name} on host {host.name}",
        **_cluster_args(host))
    si.content.eventManager.PostEvent(eventToPost=event)
    log.info("posted VmRestartedOnAlternateHostEvent for %s", vm_name)


def query_events(si: Any, *, type_ids: list[str] | None = None, entity: Any = None) -> list[Any]:
    """Events from ``EventManager.QueryEvents``, optionally filtered by type id and entity."""
    from pyVmomi import vim

    spec = vim.event.EventFilterSpec()
    if type_ids:
        spec.eventTypeId = type_ids
    if entity is not None:
        spec.entity = vim.event.EventFilterSpec.ByEntity(entity=entity, recursion="self")
    return list(si.content.eventManager.QueryEvents(spec))
