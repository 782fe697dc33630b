"""The drill catalogue: the seed's failure tables as data (``include/configs/drills.yaml``).

Each drill is one row of the seed's "Failure Scenarios" chapter — table 4 (component failures),
table 5 (single-party failures), host/VM failures and disk failure — with what to inject on each
backend that can run it, when to inject, the outcome the seed promises and the recovery SLO. The
runner never hard-codes a scenario: an operator edits the YAML to tune deadlines or add a drill, and a
mistake is reported before anything is touched, naming the drill row, the field and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fateops.config_files import Loc, config_error, read_config
from fateops.exceptions import ConfigError
from fateops.k8s.chart_contract import EXCHANGE_COMPONENTS, PARTY_COMPONENTS, STATEFUL_COMPONENTS
from fateops.paths import CONFIGS_DIR

__all__ = [
    "ACTIONS",
    "DEFAULT_CATALOGUE_FILE",
    "NEEDS_JOB",
    "Backend",
    "Catalogue",
    "Drill",
    "FaultKey",
    "FaultSpec",
    "Outcome",
    "fault_key",
    "load_catalogue",
    "parse_catalogue",
]

DEFAULT_CATALOGUE_FILE = CONFIGS_DIR / "drills.yaml"

Backend = Literal["local", "kubernetes", "vsphere"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)
#: The keys of a drill's ``faults``: a backend, or ``local_sites`` — the local backend when the federation runs
#: a site per party (``local_sites:``), where a fault can hit one party's own site, its broker or the Exchange.
FaultKey = Literal["local", "local_sites", "kubernetes", "vsphere"]
Outcome = Literal["continues_to_success", "fails_on_all_parties", "times_out", "fails_then_resumes_with_rerun",
                  "no_impact"]
Table = Literal["4", "5", "host-vm", "disk"]
JobKind = Literal["toy", "homo_lr", "none"]
InjectWhen = Literal["before_submit", "job_running", "task_running", "immediately"]
Preserved = Literal["job_history", "tables", "models", "pvc_binding"]
Action = Literal[
    # local: the embedded standalone engine (or, with local_sites:, the party's own site)
    "kill_engine", "pause_engine", "kill_task", "remove_table",
    # local_sites: the local Exchange (traffic-server) and the party's own RabbitMQ node
    "cut_exchange_route", "restart_exchange", "restart_broker",
    # kubernetes: a party's (or the exchange's) pods, deployments and network
    "delete_pods", "scale_to_zero", "network_cut", "delete_pvc_pod",
    # any backend with a FATE Flow: a job error at one party (its table is missing)
    "missing_table",
    # vsphere: the VMs and hosts under the clusters
    "power_off_vm", "host_failure", "maintenance_mode",
]

_ENGINE_ACTIONS = frozenset({"kill_engine", "pause_engine", "kill_task", "remove_table", "missing_table"})
#: Which actions each fault key can run (the injector registry implements exactly these). A site is an engine
#: of its own, so every engine action also runs under ``local_sites`` (it hits the drilled party's site only).
ACTIONS: dict[FaultKey, frozenset[str]] = {
    "local": _ENGINE_ACTIONS,
    "local_sites": _ENGINE_ACTIONS | {"cut_exchange_route", "restart_exchange", "restart_broker"},
    "kubernetes": frozenset({"delete_pods", "scale_to_zero", "network_cut", "delete_pvc_pod", "missing_table"}),
    "vsphere": frozenset({"power_off_vm", "host_failure", "maintenance_mode"}),
}
_NEEDS_COMPONENT = frozenset({"delete_pods", "scale_to_zero", "delete_pvc_pod"})
NEEDS_JOB = frozenset({"kill_task", "missing_table", "remove_table"})
_DEFAULT_TASK = {"toy": "toy_example_0", "homo_lr": "homo_lr_0"}


def fault_key(backend: str, *, sites: bool) -> str:
    """The ``faults`` key a drill looks up first: ``local_sites`` for local with a site per party."""
    return "local_sites" if backend == "local" and sites else backend


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FaultSpec(_Strict):
    """What to break on one backend. ``duration_s`` lifts the fault after that long; ``None`` holds it
    until the job's wait has ended (or leaves it to the platform, for self-healing faults)."""

    action: Action
    component: str | None = Field(default=None, description="chart component whose pods/deployment are hit")
    chart: Literal["fate-party", "fate-exchange"] = "fate-party"
    duration_s: float | None = Field(default=None, gt=0, le=3600)
    pods: int | None = Field(default=None, ge=1, description="delete_pods: how many pods (default: all)")

    def check(self, backend: FaultKey) -> None:
        """Backend/action/parameter consistency (raises ValueError with the field to fix)."""
        if self.action not in ACTIONS[backend]:
            raise ValueError(f"action {self.action!r} cannot run on {backend}; "
                             f"{backend} runs: {', '.join(sorted(ACTIONS[backend]))}")
        if self.action in _NEEDS_COMPONENT and not self.component:
            raise ValueError(f"{self.action} needs 'component' (the chart component whose pods are hit)")
        if self.component is not None:
            known = EXCHANGE_COMPONENTS if self.chart == "fate-exchange" else PARTY_COMPONENTS
            if self.action == "delete_pvc_pod":
                known = STATEFUL_COMPONENTS
            if self.component not in known:
                raise ValueError(f"component {self.component!r} is not one of {', '.join(known)} ({self.chart})")
        if self.action == "pause_engine" and self.duration_s is None and backend not in ("local", "local_sites"):
            raise ValueError("pause_engine needs duration_s")


class Drill(_Strict):
    """One failure scenario with its expected outcome and recovery SLO."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    title: str = Field(min_length=5)
    table: Table
    seed: str = Field(min_length=5, description="what the seed's table says happens")
    target: str = Field(min_length=2, description="what is hit, in the operator's words")
    job: JobKind = "toy"
    inject_when: InjectWhen = "task_running"
    inject_task: str | None = None
    expected: Outcome
    recovery_slo_s: float = Field(gt=0, le=3600)
    relaunch_slo_s: float | None = Field(default=None, gt=0, le=3600,
                                         description="pods Ready again after their VM came back")
    recovery_deadline_s: float | None = Field(default=None, gt=0, le=7200)
    wait_deadline_s: int = Field(default=300, ge=10, le=72 * 3600)
    job_timeout_s: int = Field(default=900, ge=60, le=72 * 3600)
    resubmit: bool = False
    preserved: tuple[Preserved, ...] = ("job_history", "tables", "models")
    faults: dict[FaultKey, FaultSpec] = Field(min_length=1)
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Drill:
        for backend, fault in self.faults.items():
            try:
                fault.check(backend)
            except ValueError as err:
                raise ValueError(f"faults.{backend}: {err}") from None
            if fault.action in NEEDS_JOB and self.job == "none":
                raise ValueError(f"faults.{backend}: {fault.action} needs a job (job: toy or homo_lr)")
        if self.inject_when == "task_running" and self.job == "none":
            raise ValueError("inject_when task_running needs a job; use 'immediately' for job: none")
        if self.expected == "fails_then_resumes_with_rerun" and self.job == "none":
            raise ValueError("fails_then_resumes_with_rerun needs a job to rerun")
        if self.recovery_deadline_s is not None and self.recovery_deadline_s < self.recovery_slo_s:
            raise ValueError("recovery_deadline_s must be >= recovery_slo_s (the SLO must be measurable)")
        return self

    # -- derived -----------------------------------------------------------------------------------
    @property
    def backends(self) -> tuple[Backend, ...]:
        return tuple(b for b in BACKENDS if b in self.faults or (b == "local" and "local_sites" in self.faults))

    def runs_on(self, backend: str, *, sites: bool = False) -> bool:
        """This drill has a fault for ``backend`` in this federation shape (see :meth:`fault`)."""
        key = fault_key(backend, sites=sites)
        return key in self.faults or (key == "local_sites" and "local" in self.faults)

    def fault_actions(self) -> set[str]:
        """Every action this drill takes on any backend."""
        return {f.action for f in self.faults.values()}

    @property
    def task_to_hit(self) -> str | None:
        """The task whose running state triggers the injection (and that kill_task kills)."""
        return self.inject_task or _DEFAULT_TASK.get(self.job)

    @property
    def recovery_deadline(self) -> float:
        """How long to keep measuring recovery: past the SLO, so a slow recovery is *measured* (and
        fails the SLO) rather than cut off at it."""
        return self.recovery_deadline_s or max(2 * self.recovery_slo_s, self.recovery_slo_s + 30)

    def fault(self, backend: str, *, sites: bool = False) -> FaultSpec:
        """The fault to inject on ``backend``; ``sites`` = the federation runs a site per local party.

        Local with sites: the ``local_sites`` fault when the drill has one (the Exchange, a broker, one
        party's own site), else the ``local`` fault — aimed at the drilled party's own site. Local without
        sites (one shared engine): only the ``local`` fault; a sites-only drill is not offered there.
        """
        key = fault_key(backend, sites=sites)
        if key in self.faults:
            return self.faults[key]
        if key == "local_sites" and "local" in self.faults:
            return self.faults["local"]
        if backend == "local" and not sites and "local_sites" in self.faults:
            raise ConfigError(f"drill {self.id} needs a site per party (local_sites:): one shared engine has no "
                              "Exchange, broker or second FATE Flow to break", field="backend", value=backend,
                              fix="run it with a federation that has `local_sites:` (federation.local.yaml)")
        raise ConfigError(f"drill {self.id} cannot run on {backend}", field="backend", value=backend,
                          fix=f"it runs on: {', '.join(self.backends)}")


class Catalogue(_Strict):
    """Every drill, by id; the runner and the DAG select from it."""

    version: Literal[1] = 1
    drills: tuple[Drill, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        seen: set[str] = set()
        for drill in self.drills:
            if drill.id in seen:
                raise ValueError(f"drill id {drill.id!r} appears twice")
            seen.add(drill.id)
        return self

    def get(self, drill_id: str) -> Drill:
        for drill in self.drills:
            if drill.id == drill_id:
                return drill
        raise ConfigError("unknown drill", field="drills", value=drill_id,
                          fix=f"use one of: {', '.join(d.id for d in self.drills)}")

    def for_backend(self, backend: str, *, sites: bool = False) -> list[Drill]:
        """The drills with a fault for ``backend`` in this federation shape (``sites``: a site per party)."""
        return [d for d in self.drills if d.runs_on(backend, sites=sites)]

    def select(self, backend: str, ids: Iterable[str] = (), *, sites: bool = False) -> list[Drill]:
        """The drills to run: ``ids`` in catalogue order (all that apply to ``backend`` when empty)."""
        if backend not in BACKENDS:
            raise ConfigError("unknown backend", field="backend", value=backend, fix=f"use one of {BACKENDS}")
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return self.for_backend(backend, sites=sites)
        chosen = [self.get(i) for i in wanted]
        for drill in chosen:
            drill.fault(backend, sites=sites)
        order = {d.id: n for n, d in enumerate(self.drills)}
        return sorted(chosen, key=lambda d: order[d.id])


def _drill_field(data: Any) -> Callable[[tuple[Any, ...]], str]:
    """Name a failing drill by its id as well as its position (``drills[3] (id t4-spark-worker).fault``)."""
    def name(loc: tuple[Any, ...]) -> str:
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "drills" and isinstance(loc[1], int):
            try:
                drill_id = data["drills"][loc[1]].get("id", "?")
            except (KeyError, IndexError, TypeError, AttributeError):
                drill_id = "?"
            where = f"drills[{loc[1]}] (id {drill_id})" + ("." + ".".join(str(p) for p in loc[2:]) if loc[2:] else "")
        return where
    return name


def parse_catalogue(data: Any, *, source: str = "<drills>", bool_words: Mapping[Loc, str] | None = None
                    ) -> Catalogue:
    """Validate a catalogue mapping (from YAML or a test)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the drill catalogue must be a mapping with 'drills:'", field="<root>")
    try:
        return Catalogue.model_validate(data)
    except ValidationError as err:
        raise config_error(err, source=source, name_field=_drill_field(data), model=Catalogue,
                           bool_words=bool_words,
                           fix="see include/configs/README.md (drill catalogue) for every field of a drill") from None


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read and validate ``drills.yaml`` (default: ``include/configs/drills.yaml``)."""
    doc = read_config(path, default=DEFAULT_CATALOGUE_FILE, what="drill catalogue",
                      must_contain="`drills:`, a list of drills (see include/configs/drills.yaml)")
    return parse_catalogue(doc.data, source=str(doc.path), bool_words=doc.bool_words)
