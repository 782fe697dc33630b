"""The federation: which parties take part, in which roles, and where each one's FATE runs.

A federation config (``include/configs/federation.*.yaml``) is the single description an operator
edits; every DAG reads it through :func:`load_federation`. It is validated *before* anything is
deployed or uploaded, and every error names the field, the bad value and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fateops.config_files import FieldProblem, Loc, config_error, read_config
from fateops.exceptions import ConfigError
from fateops.paths import CONFIGS_DIR

Role = Literal["guest", "host", "arbiter"]
BackendName = Literal["local", "kubernetes"]
ChaosPolicy = Literal["allowed", "forbidden"]
PodSecurityLevel = Literal["privileged", "baseline", "restricted"]
OnFinishAction = Literal["delete_pod", "delete_succeeded_pod", "keep_pod"]

DEFAULT_FEDERATION_FILE = CONFIGS_DIR / "federation.local.yaml"
# Which config "the default" is, for a whole environment: the test suite sets federation.single.yaml (one
# shared engine, fast) while `make demo` and a plain checkout use the two-site federation.local.yaml.
FEDERATION_ENV = "FATEOPS_FEDERATION"


def default_federation_name() -> str:
    """``$FATEOPS_FEDERATION`` or ``federation.local.yaml`` (relative to include/configs/, or absolute)."""
    return os.environ.get(FEDERATION_ENV) or DEFAULT_FEDERATION_FILE.name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KubernetesPlacement(_Strict):
    """Where a party's (or the exchange's) FATE cluster lives on Kubernetes."""

    connection: str = Field(min_length=1, description="Airflow kubernetes connection id of the party's cluster")
    namespace: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    release: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=53)
    storage_class: str | None = None
    ingress_class: str | None = None
    ingress_domain: str | None = Field(default=None, description="notebook/fateboard hosts are <party>.<app>.<domain>")
    pod_security: PodSecurityLevel = Field(
        default="restricted", description="Pod Security Admission level enforced on the namespace (1.23+)")
    pod_security_policy: bool = Field(
        default=False, description="also install a PodSecurityPolicy (Tanzu Kubernetes <= 1.24 enforce PSP)")
    values: dict[str, Any] = Field(default_factory=dict, description="extra Helm values merged last")


class OpsPod(_Strict):
    """The pod that runs a ``fateops`` step in a party's namespace (KubernetesPodOperator)."""

    image: str = Field(min_length=1, description="the ops image (docker/ops), e.g. <registry>/fateops-ops:0.1.0")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    service_account: str | None = None
    resources: dict[Literal["requests", "limits"], dict[str, str | int | float]] = Field(
        default_factory=lambda: {"requests": {"cpu": "100m", "memory": "256Mi"},
                                 "limits": {"cpu": "1", "memory": "1Gi"}})
    active_deadline_seconds: int = Field(default=900, ge=10, description="Kubernetes kills the pod after this")
    startup_timeout_seconds: int = Field(default=300, ge=5, description="fail if the pod is not running by then")
    poll_interval_seconds: float = Field(default=2.0, gt=0, le=60)
    on_finish_action: OnFinishAction = "delete_succeeded_pod"
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


class Party(_Strict):
    """One organisation of the federation."""

    party_id: int = Field(gt=0, description="FATE party id, unique in the federation")
    name: str = Field(default="", description="human name, e.g. the bank")
    roles: tuple[Role, ...] = Field(min_length=1)
    backend: BackendName = "local"
    connection: str | None = Field(default=None, description="Airflow fateflow connection id")
    kubernetes: KubernetesPlacement | None = None
    chaos: ChaosPolicy = "forbidden"

    @field_validator("roles")
    @classmethod
    def _roles_unique(cls, roles: tuple[Role, ...]) -> tuple[Role, ...]:
        if len(set(roles)) != len(roles):
            raise ValueError("a role is listed twice")
        return roles

    @model_validator(mode="after")
    def _placement_matches_backend(self) -> Party:
        if self.backend == "kubernetes" and self.kubernetes is None:
            raise ValueError("backend is 'kubernetes' but no 'kubernetes:' block (connection, namespace) is given")
        return self

    @property
    def release_name(self) -> str:
        """Helm release of this party's FATE cluster (KubeFATE names it ``fate-<party_id>``)."""
        if self.kubernetes and self.kubernetes.release:
            return self.kubernetes.release
        return f"fate-{self.party_id}"

    @property
    def label(self) -> str:
        return f"{self.party_id}" + (f" ({self.name})" if self.name else "")


class Exchange(_Strict):
    """The Exchange: Nginx + traffic-server that routes between the parties' clusters."""

    kubernetes: KubernetesPlacement
    replicas: int = Field(default=2, ge=1)
    domain: str = Field(default="fate.org", description="parties are routed as <party_id>.<domain> (SNI)")


class LocalSites(_Strict):
    """Local parties each run their own site (FATE Flow + RabbitMQ) and federate through a local Exchange.

    Without this block every local party shares one embedded engine (fast, but nothing crosses a party
    boundary). Ports: see ``fateops.engine.sites`` (``FATEOPS_SITES_*_PORT`` / ``FATEOPS_EXCHANGE_PORT``
    override them, e.g. for tests).
    """

    exchange_port: int | None = Field(default=None, ge=1, le=65535,
                                      description="the local Exchange (traffic-server) port; default 9370")


class Federation(_Strict):
    """A validated federation: parties, their roles and backends, the exchange and the initiator."""

    name: str = Field(min_length=1)
    parties: tuple[Party, ...] = Field(min_length=2)
    initiator: int | None = Field(default=None, description="party id that submits jobs; default: first guest")
    exchange: Exchange | None = None
    ops: OpsPod | None = Field(default=None, description="pod steps on kubernetes parties (image, resources)")
    local_sites: LocalSites | None = Field(
        default=None, description="local parties run one site each behind a local Exchange (else one shared engine)")

    @model_validator(mode="after")
    def _consistent(self) -> Federation:
        seen: set[int] = set()
        for index, party in enumerate(self.parties):
            if party.party_id in seen:
                raise FieldProblem(f"duplicate party_id {party.party_id}: each party needs its own id",
                                   field=f"parties.{index}.party_id", value=party.party_id)
            seen.add(party.party_id)
        if not any("guest" in p.roles for p in self.parties):
            raise FieldProblem("no party has the 'guest' role: give one party (the initiator) roles [guest]",
                               field="parties")
        if not any("host" in p.roles for p in self.parties):
            raise FieldProblem("no party has the 'host' role: give at least one party roles [host]", field="parties")
        if self.initiator is not None and self.initiator not in seen:
            raise FieldProblem(f"initiator {self.initiator} is not one of the parties", field="initiator",
                               value=self.initiator)
        if self.initiator is not None and "guest" not in self.party(self.initiator).roles:
            raise FieldProblem(f"initiator {self.initiator} does not have the 'guest' role: the initiator submits "
                               "jobs as their guest — name a guest party or add 'guest' to its roles",
                               field="initiator", value=self.initiator)
        if self.exchange is None and any(p.backend == "kubernetes" for p in self.parties):
            raise FieldProblem("kubernetes parties need an 'exchange:' block (where the Exchange is deployed)",
                               field="exchange")
        if self.ops is None and any(p.backend == "kubernetes" for p in self.with_role("guest")):
            raise FieldProblem("a kubernetes guest needs an 'ops:' block (the image its pod steps run)", field="ops")
        return self

    # -- lookups -----------------------------------------------------------------------------------
    def party(self, party_id: int | str) -> Party:
        known = ", ".join(str(p.party_id) for p in self.parties)
        try:
            wanted = int(party_id)
        except (TypeError, ValueError):
            raise ConfigError(f"a party id is a number (federation {self.name!r})", field="party_id",
                              value=party_id, fix=f"use one of: {known}") from None
        for p in self.parties:
            if p.party_id == wanted:
                return p
        raise ConfigError(f"unknown party in federation {self.name!r}", field="party_id", value=party_id,
                          fix=f"use one of: {known}")

    def with_role(self, role: Role) -> list[Party]:
        return [p for p in self.parties if role in p.roles]

    @property
    def guest(self) -> Party:
        return self.party(self.initiator) if self.initiator else self.with_role("guest")[0]

    @property
    def hosts(self) -> list[Party]:
        return self.with_role("host")

    @property
    def arbiter(self) -> Party:
        """The arbiter of homo jobs; FATE lets the guest play it when nobody is named."""
        arbiters = self.with_role("arbiter")
        return arbiters[0] if arbiters else self.guest

    @property
    def backends(self) -> set[str]:
        return {p.backend for p in self.parties}

    def guest_host_pairs(self) -> Iterator[tuple[Party, Party]]:
        for guest in self.with_role("guest"):
            for host in self.hosts:
                if host.party_id != guest.party_id:
                    yield guest, host

    def connections(self) -> set[str]:
        """Every Airflow connection id the config refers to (checked before deploying)."""
        ids = {p.connection for p in self.parties if p.connection}
        ids |= {p.kubernetes.connection for p in self.parties if p.kubernetes}
        if self.exchange:
            ids.add(self.exchange.kubernetes.connection)
        return ids


FEDERATION_CONTENTS = ("`name:` and `parties:` (two or more, each with `party_id` and `roles`; one guest, one "
                       "host) — start from include/configs/federation.local.yaml")


def parse_federation(data: Any, *, source: str = "<federation>", bool_words: Mapping[Loc, str] | None = None
                     ) -> Federation:
    """Validate a federation mapping (e.g. from YAML or a DAG Param)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a federation config must be a mapping (key: value lines), not a "
                          f"{type(data).__name__}", field="<root>", fix=f"write {FEDERATION_CONTENTS}")
    try:
        return Federation.model_validate(data)
    except ValidationError as err:
        raise config_error(err, source=source, model=Federation, bool_words=bool_words,
                           fix="see include/configs/README.md for every field of a federation config") from None


def load_federation(path: str | Path | None = None) -> Federation:
    """Read and validate a federation YAML file (default: the embedded local one)."""
    doc = read_config(path, default=CONFIGS_DIR / default_federation_name(), what="federation config",
                      must_contain=FEDERATION_CONTENTS)
    return parse_federation(doc.data, source=str(doc.path), bool_words=doc.bool_words)
