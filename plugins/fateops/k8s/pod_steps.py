"""Pod steps: a ``fateops`` command run in a party's namespace, described as plain data.

The Airflow layer turns a :class:`PodStep` into a KubernetesPodOperator; keeping the description
here (no Airflow) lets the CLI, tests and the DAG agree on namespace, image, command and limits.
The pod is Pod-Security-"restricted" compatible (non-root uid of the ops image, no privilege
escalation, all capabilities dropped, RuntimeDefault seccomp) so it runs in the party's namespace
under the labels :mod:`fateops.k8s.namespaces` sets.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from fateops.federation import Federation, Party
from fateops.k8s import desired

OPS_UID = 10001  # the ops image's user (docker/ops/Dockerfile)


@dataclass(frozen=True)
class PodStep:
    """Everything needed to run one ``fateops`` command as a pod in a party's cluster."""

    name: str
    namespace: str
    kubernetes_conn_id: str
    image: str
    command: tuple[str, ...]
    args: tuple[str, ...]
    image_pull_policy: str = "IfNotPresent"
    service_account: str | None = None
    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    active_deadline_seconds: int = 900
    startup_timeout_seconds: int = 300
    poll_interval_seconds: float = 2.0
    on_finish_action: str = "delete_succeeded_pod"
    run_as_user: int = OPS_UID

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["command"], data["args"] = list(self.command), list(self.args)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PodStep:
        return cls(**{**data, "command": tuple(data["command"]), "args": tuple(data["args"])})


def _dns_label(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:40] or "step"


def toy_submit_step(federation: Federation, guest: Party, host: Party, *, timeout_s: int) -> PodStep | None:
    """The pod that submits the toy example from ``guest``'s namespace (None for a non-Kubernetes guest)."""
    if guest.backend != "kubernetes" or guest.kubernetes is None:
        return None
    ops = federation.ops
    assert ops is not None  # the federation model requires an ops block for a kubernetes guest
    where = guest.kubernetes
    return PodStep(
        name=_dns_label(f"toy-{guest.party_id}-{host.party_id}"),
        namespace=where.namespace,
        kubernetes_conn_id=where.connection,
        image=ops.image,
        command=("fateops",),
        args=("fate", "submit-toy", "--guest", str(guest.party_id), "--host", str(host.party_id),
              "--timeout", str(timeout_s), "--fateflow-url", desired.fateflow_url(guest)),
        image_pull_policy=ops.image_pull_policy,
        service_account=ops.service_account,
        resources={kind: {name: str(q) for name, q in amounts.items()} for kind, amounts in ops.resources.items()},
        annotations=dict(ops.annotations),
        labels={**ops.labels, "app.kubernetes.io/managed-by": "fateops", "fate.fedai.org/party-id": str(guest.party_id),
                "fateops.io/step": "submit-toy"},
        active_deadline_seconds=ops.active_deadline_seconds,
        startup_timeout_seconds=ops.startup_timeout_seconds,
        poll_interval_seconds=ops.poll_interval_seconds,
        on_finish_action=ops.on_finish_action,
    )
