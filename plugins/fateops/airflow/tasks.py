"""TaskFlow building blocks several DAGs share (so no DAG file copies another)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fateops.federation import Federation, Party


def federation_from(config: str) -> Federation:
    """Load and validate the federation named by a DAG Param."""
    from fateops.federation import load_federation

    return load_federation(config)


def fateflow_conn_id(party: Party) -> str:
    """The Airflow connection that reaches ``party``'s FATE Flow."""
    from fateops.airflow.hooks import FateFlowHook

    return party.connection or FateFlowHook.default_conn_name


def party_conn_ids(config: str) -> dict[str, str]:
    """Party id → its FATE Flow connection, when parties have their own (multi-site, Kubernetes); else {}.

    In FATE's multi-party mode each FATE Flow lists only its own party's rows, so a job watch must ask
    every party's own server; parties sharing one connection share one engine, which lists them all.
    """
    federation = federation_from(config)
    conns = {str(p.party_id): fateflow_conn_id(p) for p in federation.parties}
    return conns if len(set(conns.values())) > 1 else {}


def sensor_kwargs(submitted: dict[str, Any]) -> dict[str, Any]:
    """Map a submit operator's XCom onto the job sensor's kwargs (used with ``.map`` + ``expand_kwargs``)."""
    return {"job_id": submitted["job_id"], "fateflow_conn_id": submitted["fateflow_conn_id"]}


def check_fateflow(config: str, party_id: int | str) -> dict[str, Any]:
    """The party's FATE Flow answers through its connection and lists the ``fate`` components."""
    from fateops.airflow.hooks import FateFlowHook
    from fateops.exceptions import FateFlowError

    party = federation_from(config).party(party_id)
    conn_id = fateflow_conn_id(party)
    with FateFlowHook(conn_id).get_conn() as client:
        server = client.health()
        provider = client.provider_components("fate")
    if not provider.components:
        raise FateFlowError(f"party {party.label}: the 'fate' provider lists no components",
                            fix="reinstall the engine (`fateops engine install`) or check the party's FATE Flow")
    print(f"party {party.label} reachable via {conn_id}: FATE Flow {server.version}, "
          f"{len(provider.components)} components")
    return {"party_id": party.party_id, "connection": conn_id, "version": server.version,
            "components": sorted(provider.components)}
