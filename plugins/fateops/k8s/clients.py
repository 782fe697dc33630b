"""The typed API groups fateops uses on one cluster, built from one :class:`~fateops.k8s.access.KubeAccess`.

One object per cluster per step, closed when the step ends, so connection pools never outlive the
task and two clusters never share a client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fateops.exceptions import KubernetesError
from fateops.k8s.access import REQUEST_TIMEOUT_S, KubeAccess

if TYPE_CHECKING:
    from kubernetes import client


@dataclass
class KubeClients:
    """Core, apps, storage, networking and coordination APIs of one cluster."""

    access: KubeAccess
    api: client.ApiClient

    @property
    def core(self) -> client.CoreV1Api:
        from kubernetes import client

        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        from kubernetes import client

        return client.AppsV1Api(self.api)

    @property
    def storage(self) -> client.StorageV1Api:
        from kubernetes import client

        return client.StorageV1Api(self.api)

    @property
    def networking(self) -> client.NetworkingV1Api:
        from kubernetes import client

        return client.NetworkingV1Api(self.api)

    def server_version(self) -> str:
        """``v1.20.2``-style version; raises :class:`KubernetesError` naming the connection if unreachable."""
        from kubernetes import client
        from urllib3.exceptions import HTTPError

        try:
            info = client.VersionApi(self.api).get_code(_request_timeout=REQUEST_TIMEOUT_S)
        except (HTTPError, OSError, client.ApiException) as err:
            raise KubernetesError(f"cluster of connection {self.access.where} is not reachable: {_short(err)}",
                                  fix="check the connection's kubeconfig (server address, token/certificate) "
                                      "and that the API server answers from the Airflow workers") from err
        return str(info.git_version)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.api.close()


@contextlib.contextmanager
def open_clients(access: KubeAccess) -> Iterator[KubeClients]:
    """Clients for one cluster, closed on exit."""
    clients = KubeClients(access=access, api=access.api_client())
    try:
        yield clients
    finally:
        clients.close()


def _short(err: BaseException) -> str:
    text = str(getattr(err, "reason", None) or err)
    return text.splitlines()[0][:300] if text else type(err).__name__
