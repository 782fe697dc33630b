"""Airflow glue for vCenter: an Airflow Connection → a :class:`~fateops.vsphere.session.VSphereSession`.

The connection holds host, port, login and password (extra ``verify_tls``, ``timeout``), so credentials
live in Airflow's secrets backend and never in a Param, a DAG file, a log line or XCom. Shared by the
chaos drills and the sizing audit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fateops.vsphere.session import VSphereSession

__all__ = ["vsphere_session"]


def vsphere_session(conn_id: str) -> VSphereSession:
    """A (not yet connected) vCenter session from Airflow connection ``conn_id``; unknown ids raise
    :class:`~fateops.exceptions.ConfigError` naming how to create the connection."""
    from fateops.airflow.kubernetes import airflow_connection
    from fateops.vsphere.session import VSphereSession, VSphereSettings

    conn = airflow_connection(conn_id)
    extra = conn.extra_dejson
    settings = VSphereSettings(host=conn.host or "", user=conn.login or "", password=conn.password or "",
                               port=int(conn.port or 443), verify_tls=bool(extra.get("verify_tls", True)),
                               timeout_s=float(extra.get("timeout", 30)))
    return VSphereSession(settings)
