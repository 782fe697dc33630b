"""What every fault injector promises the runner, and the context it works in.

An injector is built from a catalogue :class:`~fateops.chaos.catalogue.FaultSpec` and a
:class:`DrillContext` (which party, which clients). The runner calls, in order: :meth:`~Injector.describe`
(dry-run), :meth:`~Injector.preflight` (target exists and is healthy — we never break what is already
broken), :meth:`~Injector.inject`, then polls :meth:`~Injector.detected` and :meth:`~Injector.recovered`,
and always :meth:`~Injector.lift` at the end. ``lift`` is idempotent: the cleanup task may call it again
from the ledger record (:meth:`~Injector.record` / :meth:`~Injector.from_record`) after a crash.
"""

from __future__ import annotations

import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from fateops.exceptions import DrillError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from fateops.chaos.catalogue import Backend, FaultSpec
    from fateops.engine import LocalEngine
    from fateops.engine.sites import LocalSites
    from fateops.fate.auth import FateFlowAuth
    from fateops.fate.client import FateFlowClient
    from fateops.fate.jobs import TableRef
    from fateops.fate.sitewatch import SitesJobClient
    from fateops.federation import Federation, Party
    from fateops.vsphere.session import VSphereSession

__all__ = ["DrillContext", "Injector", "JobRef"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRef:
    """The job a fault is aimed at: which task of which party."""

    job_id: str
    role: str
    party_id: str
    task_name: str | None = None


@dataclass
class DrillContext:
    """Everything injectors may touch for one drill run; fields a backend does not use stay None."""

    backend: Backend
    federation: Federation
    party: Party
    fateflow_url: str = ""
    fate_auth: FateFlowAuth | None = field(default=None, repr=False)
    engine: LocalEngine | None = None
    kube: ApiClient | None = field(default=None, repr=False)
    exchange_kube: ApiClient | None = field(default=None, repr=False)
    vsphere: VSphereSession | None = None
    vm_name: str | None = None
    host_name: str | None = None
    node_name: str | None = None
    table: TableRef | None = None
    dataset: str | None = None  # local CSV behind ``table`` (re-uploaded by a heal)
    run_id: str = "manual"
    probe_timeout_s: float = 2.0
    #: Multi-site mode (``local_sites:``): every party's own FATE Flow. Jobs are then submitted at the
    #: initiator's site and watched at every site; empty = one FATE Flow serves every party.
    site_urls: dict[int, str] = field(default_factory=dict)

    @property
    def sites(self) -> bool:
        return bool(self.site_urls)

    @property
    def initiator_url(self) -> str:
        """Where drill jobs are submitted: the initiator's own site, or the one shared FATE Flow."""
        return self.site_urls.get(self.federation.guest.party_id, self.fateflow_url) if self.sites \
            else self.fateflow_url

    def fate_client(self, *, read_timeout: float | None = None, attempts: int = 2, url: str = "") -> FateFlowClient:
        """A client with short timeouts: a probe must answer "unreachable" fast, not after minutes.

        ``url`` defaults to the drilled party's FATE Flow (its own site in multi-site mode).
        """
        from fateops.fate.client import FateFlowClient
        from fateops.fate.retry import RetryPolicy

        url = url or self.fateflow_url
        if not url:
            raise DrillError("no FATE Flow URL in the drill context", fix="pass the party's fateflow connection")
        return FateFlowClient(url, connect_timeout=self.probe_timeout_s,
                              read_timeout=read_timeout or self.probe_timeout_s, auth=self.fate_auth,
                              retry=RetryPolicy(max_attempts=attempts, base_delay=0.5, max_delay=1.0))

    def initiator_client(self, *, read_timeout: float | None = None) -> FateFlowClient:
        """The client drill jobs are submitted (and rerun) through."""
        return self.fate_client(read_timeout=read_timeout, url=self.initiator_url)

    @contextlib.contextmanager
    def job_client(self, *, read_timeout: float | None = None) -> Iterator[FateFlowClient | SitesJobClient]:
        """What a job's wait reads: every party's own site merged (:mod:`fateops.fate.sitewatch`) in multi-site
        mode — so a verdict sees every party and names a disagreement — else the one FATE Flow."""
        from fateops.fate.sitewatch import SitesJobClient

        with contextlib.ExitStack() as stack:
            if not self.sites:
                yield stack.enter_context(self.fate_client(read_timeout=read_timeout))
                return
            yield SitesJobClient({pid: stack.enter_context(self.fate_client(read_timeout=read_timeout, url=url))
                                  for pid, url in sorted(self.site_urls.items())})

    def fate_healthy(self) -> bool:
        """FATE Flow answers its health call right now (one try: the probe *is* the question)."""
        from fateops.exceptions import FateopsError

        try:
            with self.fate_client(attempts=1) as client:
                client.health()
            return True
        except FateopsError:
            return False

    def require(self, what: str, value: Any, fix: str) -> Any:
        if value is None or value == "":
            raise DrillError(f"this drill needs {what}, which the drill context does not have", fix=fix)
        return value


class Injector(ABC):
    """One kind of fault on one backend."""

    action: ClassVar[str]
    backend: ClassVar[str]
    #: The platform repairs it (controller-manager, HA, FATE's own detector): recovery is measured from
    #: the injection and the runner does not lift it before the recovery deadline.
    self_healing: ClassVar[bool] = False
    #: Applied to the job itself before submission (the fault *is* the job's input).
    before_submit: ClassVar[bool] = False

    def __init__(self, spec: FaultSpec, ctx: DrillContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.job: JobRef | None = None
        self.evidence: list[str] = []

    def note(self, line: str) -> None:
        log.info("%s: %s", self.action, line)
        self.evidence.append(line)

    @abstractmethod
    def describe(self) -> str:
        """One line for a dry run: what would be broken, where, and how it is healed."""

    def preflight(self) -> None:  # noqa: B027 — optional hook
        """Refuse (DrillError) when the target is missing or not healthy before the drill."""

    @abstractmethod
    def inject(self, job: JobRef | None) -> None:
        """Break it (record what was done with :meth:`note`)."""

    @abstractmethod
    def detected(self) -> bool:
        """The fault is visible from outside (the probe a monitor would use)."""

    @abstractmethod
    def recovered(self) -> bool:
        """The target serves again."""

    @abstractmethod
    def lift(self) -> None:
        """Undo the fault if it is still there; safe to call any number of times."""

    def attach(self, job: JobRef) -> None:
        """Tell a before-submit fault which job it ended up in (its probes read that job)."""
        self.job = job

    def relaunched(self) -> bool | None:
        """Pods Ready again on a restarted VM (None: not measurable in this context)."""
        return None

    def preserved(self) -> dict[str, tuple[bool, str]]:
        """Extra preserved-state checks this fault knows about (e.g. a PVC still bound to its volume)."""
        return {}

    def events(self) -> list[dict[str, Any]]:
        """Platform events gathered as evidence (vCenter events, pod replacements)."""
        return []

    def adjust_tables(self, tables: dict[str, TableRef]) -> dict[str, TableRef]:
        """before_submit faults may point a party at another table (``{party_id: table}``)."""
        return tables

    def record(self) -> dict[str, Any]:
        """Plain values the cleanup needs to lift this fault later (no secrets)."""
        return {}

    @classmethod
    def from_record(cls, spec: FaultSpec, ctx: DrillContext, record: dict[str, Any]) -> Injector:
        """Rebuild from a ledger record for a heal-only run."""
        injector = cls(spec, ctx)
        injector.restore(record)
        return injector

    def restore(self, record: dict[str, Any]) -> None:  # noqa: B027 — optional hook
        """Load what :meth:`record` saved."""


def require_local_sites(ctx: DrillContext, action: str, missing: str, fix: str) -> LocalSites:
    """The federation's sites for an action that exists only with a site per party (``local_sites:``)."""
    from fateops.engine.sites import LocalSites, uses_sites

    if not uses_sites(ctx.federation):
        raise DrillError(f"{action} needs a site per party (local_sites:) — {missing}", fix=fix)
    return LocalSites(ctx.federation)
