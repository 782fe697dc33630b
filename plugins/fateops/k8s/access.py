"""How fateops reaches one Kubernetes cluster: an explicit kubeconfig, never an ambient one.

A party's cluster is named in the federation config by an Airflow connection id; the Airflow layer
turns that connection into a :class:`KubeAccess` (``fateops.airflow.kubernetes``), and so does
:func:`env_resolver` for the CLI inside a pod — without importing Airflow. Everything downstream
(the Python client, the helm binary) gets that one description, so no code path silently falls back
to ``~/.kube/config`` or ``$KUBECONFIG`` and deploys a party into the wrong cluster.

Each :meth:`KubeAccess.api_client` builds its own ``Configuration``: two clusters in one process
(party-a and party-b, or a party and the exchange) never share the client library's global default.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from fateops.exceptions import ConfigError, KubernetesError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class KubeAccess:
    """One cluster's credentials: exactly one of a kubeconfig file, inline kubeconfig, or in-cluster."""

    conn_id: str
    kubeconfig: Path | None = None
    inline: str | None = field(default=None, repr=False)  # kubeconfig YAML/JSON text (may hold a token)
    in_cluster: bool = False
    context: str | None = None

    def __post_init__(self) -> None:
        chosen = sum(1 for x in (self.kubeconfig, self.inline, self.in_cluster) if x)
        if chosen != 1:
            raise ConfigError(
                f"connection {self.conn_id!r} must name exactly one of kube_config_path, kube_config, in_cluster "
                f"(got {chosen})", field=f"connection {self.conn_id}.extra",
                fix="edit the kubernetes connection in Admin → Connections (fateops never uses ~/.kube/config)")
        if self.kubeconfig is not None and not Path(self.kubeconfig).is_file():
            raise ConfigError("kubeconfig file not found", field=f"connection {self.conn_id}.kube_config_path",
                              value=str(self.kubeconfig),
                              fix="point kube_config_path at a readable kubeconfig on the Airflow workers")

    @property
    def where(self) -> str:
        """A short, secret-free description for messages and logs."""
        if self.in_cluster:
            return f"{self.conn_id} (in-cluster)"
        source = str(self.kubeconfig) if self.kubeconfig else "inline kube_config"
        return f"{self.conn_id} ({source}{', context ' + self.context if self.context else ''})"

    @contextlib.contextmanager
    def kubeconfig_file(self) -> Iterator[Path]:
        """A kubeconfig path for tools that need a file (helm): the given file, or a 0600 temp copy."""
        if self.kubeconfig is not None:
            yield Path(self.kubeconfig)
            return
        text = self.inline if self.inline is not None else _in_cluster_kubeconfig()
        fd, name = tempfile.mkstemp(prefix="fateops-kubeconfig-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(text)
            yield Path(name)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(name)

    def api_client(self) -> ApiClient:
        """A new ``kubernetes.client.ApiClient`` with its own Configuration (close it when done)."""
        from kubernetes import client, config

        try:
            if self.in_cluster:
                cfg = client.Configuration()
                config.load_incluster_config(client_configuration=cfg)
                return client.ApiClient(configuration=cfg)
            if self.kubeconfig is not None:
                return config.new_client_from_config(config_file=str(self.kubeconfig), context=self.context)
            assert self.inline is not None
            data = yaml.safe_load(self.inline)
            return config.new_client_from_config_dict(data, context=self.context)
        except (config.ConfigException, yaml.YAMLError, OSError, ValueError) as err:
            raise KubernetesError(f"cannot load the kubeconfig of {self.where}: {err}",
                                  fix="fix the connection's kubeconfig (server, credentials, context)") from err


AccessResolver = Callable[[str], KubeAccess]
"""conn id → :class:`KubeAccess`; the Airflow layer passes one built on ``KubernetesHook``."""


def access_from_extra(conn_id: str, extra: dict[str, Any]) -> KubeAccess:
    """A :class:`KubeAccess` from an Airflow kubernetes connection's ``extra`` (same field names,
    with or without the legacy ``extra__kubernetes__`` prefix)."""

    def get(name: str) -> Any:
        return extra.get(name) or extra.get(f"extra__kubernetes__{name}") or None

    inline = get("kube_config")
    if isinstance(inline, dict):
        inline = json.dumps(inline)
    path = get("kube_config_path")
    return KubeAccess(conn_id=conn_id, kubeconfig=Path(path).expanduser() if path else None, inline=inline,
                      in_cluster=str(get("in_cluster")).lower() in ("true", "1"), context=get("cluster_context"))


def env_resolver(conn_id: str) -> KubeAccess:
    """Resolve a connection id without Airflow (CLI, pod steps): ``AIRFLOW_CONN_<ID>`` in Airflow's JSON
    form, else ``FATEOPS_KUBECONFIG_<ID>`` (a path), else — inside a pod — the pod's service account."""
    key = conn_id.upper().replace("-", "_")
    raw = os.environ.get(f"AIRFLOW_CONN_{key}")
    if raw:
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError:
            raise ConfigError("is not JSON", field=f"AIRFLOW_CONN_{key}",
                              fix='use the JSON form: {"conn_type": "kubernetes", "extra": {"kube_config_path": "..."}}'
                              ) from None
        extra = doc.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra)
        return access_from_extra(conn_id, extra)
    path = os.environ.get(f"FATEOPS_KUBECONFIG_{key}")
    if path:
        return KubeAccess(conn_id=conn_id, kubeconfig=Path(path).expanduser())
    if (SERVICE_ACCOUNT_DIR / "token").is_file() and os.environ.get("KUBERNETES_SERVICE_HOST"):
        return KubeAccess(conn_id=conn_id, in_cluster=True)
    raise ConfigError("unknown kubernetes connection", field="connection", value=conn_id,
                      fix=f"create the Airflow connection {conn_id!r} (conn_type kubernetes, extra "
                          "kube_config_path) or set FATEOPS_KUBECONFIG_" + key)


def _in_cluster_kubeconfig() -> str:
    """A kubeconfig for the pod's own service account, so helm is given an explicit file there too."""
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host or not (SERVICE_ACCOUNT_DIR / "token").is_file():
        raise KubernetesError("in_cluster is set but this process does not run in a Kubernetes pod",
                              fix="use kube_config_path or kube_config in the connection instead")
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": "in-cluster",
        "clusters": [{"name": "in-cluster", "cluster": {"server": server,
                                                        "certificate-authority": str(SERVICE_ACCOUNT_DIR / "ca.crt")}}],
        "users": [{"name": "sa", "user": {"tokenFile": str(SERVICE_ACCOUNT_DIR / "token")}}],
        "contexts": [{"name": "in-cluster", "context": {"cluster": "in-cluster", "user": "sa"}}],
    }
    return yaml.safe_dump(doc)
