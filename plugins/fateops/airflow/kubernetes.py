"""Airflow glue for Kubernetes parties: connections → cluster access, backend choice, up-front checks.

A federation config names one Airflow ``kubernetes`` connection per cluster (``k8s_party_30000``,
``k8s_exchange`` ...). :func:`kube_access` reads such a connection through the cncf provider's
``KubernetesHook`` — the same fields KubernetesPodOperator uses (``kube_config_path``,
``kube_config``, ``in_cluster``, ``cluster_context``) — and hands the domain code a plain
:class:`~fateops.k8s.access.KubeAccess`. The domain code then builds its own isolated clients (the
hook's ``get_conn()`` loads kubeconfigs into the client library's process-wide default, which two
clusters in one task would overwrite for each other).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import task

if TYPE_CHECKING:
    from fateops.backends.base import Backend
    from fateops.federation import Federation, Party
    from fateops.k8s.access import KubeAccess


def kube_access(conn_id: str) -> KubeAccess:
    """The cluster behind Airflow connection ``conn_id`` (a ``kubernetes`` connection)."""
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    from fateops.exceptions import ConfigError
    from fateops.k8s.access import access_from_extra

    conn = airflow_connection(conn_id)
    if conn.conn_type not in ("kubernetes", None, ""):
        raise ConfigError(f"connection {conn_id!r} has type {conn.conn_type!r}", field=f"connection {conn_id}",
                          fix="create it as a 'kubernetes' connection (extra kube_config_path / kube_config / "
                              "in_cluster)")
    hook = KubernetesHook(conn_id=conn_id)
    return access_from_extra(conn_id, dict(hook.conn_extras))


def airflow_connection(conn_id: str) -> Any:
    """The named connection, or a ConfigError naming it and how to create it (Airflow's own error does not)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from fateops.exceptions import ConfigError

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise ConfigError("unknown Airflow connection", field="connection", value=conn_id,
                          fix=f"create connection {conn_id!r} in Admin → Connections or as "
                              f"AIRFLOW_CONN_{conn_id.upper()}") from None


def check_connections(federation: Federation) -> dict[str, str]:
    """Every connection the config names exists (and each kubernetes one yields a usable kubeconfig);
    raises :class:`~fateops.exceptions.ConfigError` naming the party and field otherwise."""
    from fateops.exceptions import ConfigError

    where: dict[str, tuple[str, str]] = {}  # conn id -> (config field, kind)
    for p in federation.parties:
        if p.connection:
            where.setdefault(p.connection, (f"parties[{p.party_id}].connection", "fateflow"))
        if p.kubernetes:
            where[p.kubernetes.connection] = (f"parties[{p.party_id}].kubernetes.connection", "kubernetes")
    if federation.exchange:
        where[federation.exchange.kubernetes.connection] = ("exchange.kubernetes.connection", "kubernetes")
    found: dict[str, str] = {}
    for conn_id, (field, kind) in sorted(where.items()):
        try:
            if kind == "kubernetes":
                kube_access(conn_id)
            else:
                airflow_connection(conn_id)
        except ConfigError as err:
            raise ConfigError(f"connection {conn_id!r}: {err.message}", field=field, fix=err.fix) from None
        found[conn_id] = kind
    return found


@task(task_id="validate_federation", retries=0)
def validate_federation(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The config parses *and* every connection it names exists — before anything is deployed."""
    from fateops.airflow.tasks import federation_from

    assert params is not None
    federation = federation_from(params["federation"])
    connections = check_connections(federation)
    print(f"federation {federation.name!r}: " + ", ".join(
        f"{p.label} {'/'.join(p.roles)} on {p.backend}" for p in federation.parties))
    if connections:
        print("connections: " + ", ".join(f"{c} ({k})" for c, k in sorted(connections.items())))
    return [{"party_id": p.party_id, "roles": list(p.roles), "backend": p.backend} for p in federation.parties]


def party_and_backend(config: str, party_id: int | str) -> tuple[Party, Backend]:
    """The party and its backend; Kubernetes parties get the federation and Airflow-resolved clusters."""
    from fateops.airflow.tasks import federation_from
    from fateops.backends import backend_for

    federation = federation_from(config)
    party = federation.party(party_id)
    return party, backend_for(party, federation, resolver=kube_access)


def configure_exchange(config: str, timeout_s: float) -> dict[str, Any]:
    """The exchange step of ``fate_exchange_federate`` for either backend."""
    from fateops.airflow.tasks import federation_from
    from fateops.exchange import configure_exchange as configure_local

    federation = federation_from(config)
    if not any(p.backend == "kubernetes" for p in federation.parties):
        return configure_local(federation)
    from fateops.k8s.exchange import federate_exchange

    return federate_exchange(federation, resolver=kube_access, timeout_s=timeout_s)


def toy_plans(config: str, job_timeout_s: int) -> list[dict[str, Any]]:
    """One submit plan per guest/host pair: the job schema, the FATE Flow connection the sensor polls,
    and — for a Kubernetes guest — the pod that submits it from the guest's namespace."""
    from fateops.airflow.tasks import fateflow_conn_id, federation_from
    from fateops.fate.jobs import toy_example_job
    from fateops.k8s.pod_steps import toy_submit_step

    federation = federation_from(config)
    plans = []
    for guest, host in federation.guest_host_pairs():
        schema = toy_example_job(guest=guest.party_id, host=host.party_id, timeout=job_timeout_s)
        step = toy_submit_step(federation, guest, host, timeout_s=job_timeout_s)
        plans.append({"dag_schema": schema, "fateflow_conn_id": fateflow_conn_id(guest),
                      "pod": step.as_dict() if step else None})
        where = f"a pod in {step.namespace}" if step else "FATE Flow's REST API"
        print(f"toy example planned: guest {guest.label} ↔ host {host.label}, submitted through {where}")
    return plans
