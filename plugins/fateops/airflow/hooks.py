"""FateFlowHook: an Airflow ``fateflow`` Connection → a FATE Flow client (sync or async).

Connection fields: host, port, schema (http/https; default http); login/password are the optional
client-auth app id / app token; extras ``user_name`` and ``timeout``. Example for the local engine::

    AIRFLOW_CONN_FATEFLOW_DEFAULT='fateflow://127.0.0.1:9380'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from fateops.fate.aclient import AsyncFateFlowClient
    from fateops.fate.client import FateFlowClient


def client_kwargs(conn: Connection) -> dict[str, Any]:
    """What a FATE Flow client needs from a Connection (shared by the sync and async paths)."""
    from fateops.exceptions import ConfigError
    from fateops.fate.auth import FateFlowAuth

    if not conn.host:
        raise ConfigError("the fateflow connection has no host", field=f"connection {conn.conn_id}.host",
                          fix="set host/port in Admin → Connections or AIRFLOW_CONN_<ID>='fateflow://host:port'")
    extra = conn.extra_dejson
    scheme = conn.schema or "http"
    kwargs: dict[str, Any] = {"base_url": f"{scheme}://{conn.host}:{conn.port or 9380}"}
    if extra.get("timeout"):
        kwargs["read_timeout"] = float(extra["timeout"])
    if conn.login:
        kwargs["auth"] = FateFlowAuth(app_id=conn.login, app_token=conn.password or "",
                                      user_name=extra.get("user_name") or conn.login)
    return kwargs


class FateFlowHook(BaseHook):
    """Builds FATE Flow clients from a ``fateflow`` connection; no I/O until a client is asked for."""

    conn_name_attr = "fateflow_conn_id"
    default_conn_name = "fateflow_default"
    conn_type = "fateflow"
    hook_name = "FATE Flow"

    def __init__(self, fateflow_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.fateflow_conn_id = fateflow_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        from fateops.airflow.provider_info import get_provider_info

        return get_provider_info()["connection-types"][0]["ui-field-behaviour"]

    def get_conn(self) -> FateFlowClient:
        from fateops.fate.client import FateFlowClient

        return FateFlowClient(**client_kwargs(self.get_connection(self.fateflow_conn_id)))

    async def get_async_conn(self) -> AsyncFateFlowClient:
        from fateops.fate.aclient import AsyncFateFlowClient

        conn = await self.aget_connection(self.fateflow_conn_id)
        return AsyncFateFlowClient(**client_kwargs(conn))
