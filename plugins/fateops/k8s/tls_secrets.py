"""The federation's CA and TLS certificates as Kubernetes Secrets, created once and then kept.

* The CA (cert + key) lives in the exchange's namespace on the exchange's cluster
  (:data:`CA_SECRET`): the exchange is the one place every party already depends on, and a Secret
  survives Airflow workers coming and going. Parties only ever receive ``ca.cert.pem``.
* Each party gets the Pulsar broker Secret its chart mounts (:data:`~fateops.k8s.chart_contract.PULSAR_TLS_SECRET`),
  the exchange gets traffic-server's (:data:`~fateops.k8s.chart_contract.EXCHANGE_TLS_SECRET`).

A rerun reads what is there and keeps it unless :func:`fateops.k8s.certs.problems` finds a reason
(expiring, other CA, missing name, key mismatch). Creation races between parallel tasks end in a
409; the loser reads the winner's Secret. Nothing here logs key material.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fateops.exceptions import KubernetesError
from fateops.k8s import certs
from fateops.k8s.access import REQUEST_TIMEOUT_S
from fateops.k8s.chart_contract import TlsSecretLayout
from fateops.k8s.clients import KubeClients

CA_SECRET = "fateops-federation-ca"
CA_CERT_KEY, CA_KEY_KEY = "ca.cert.pem", "ca.key.pem"
_LABELS = {"app.kubernetes.io/managed-by": "fateops", "app.kubernetes.io/part-of": "fate"}


@dataclass(frozen=True)
class SecretOutcome:
    """What :func:`ensure_tls_secret` did: ``kept``, ``created`` or ``replaced`` (and why)."""

    name: str
    namespace: str
    action: str
    reasons: tuple[str, ...] = ()


def _decode(data: Mapping[str, str] | None, key: str) -> bytes | None:
    value = (data or {}).get(key)
    return base64.b64decode(value) if value else None


def _read(kube: KubeClients, namespace: str, name: str) -> dict[str, str] | None:
    from kubernetes import client

    try:
        secret = kube.core.read_namespaced_secret(name, namespace, _request_timeout=REQUEST_TIMEOUT_S)
    except client.ApiException as err:
        if err.status == 404:
            return None
        raise _api_error(kube, namespace, name, err) from err
    return dict(secret.data or {})


def _write(kube: KubeClients, namespace: str, name: str, data: Mapping[str, bytes], *, replace: bool,
           labels: Mapping[str, str]) -> bool:
    """Create (replace=False) or replace the Secret; False when a parallel creator won the race."""
    from kubernetes import client

    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name=name, namespace=namespace, labels={**_LABELS, **labels}),
        type="Opaque", data={k: base64.b64encode(v).decode() for k, v in data.items()})
    try:
        if replace:
            kube.core.replace_namespaced_secret(name, namespace, body, _request_timeout=REQUEST_TIMEOUT_S)
        else:
            kube.core.create_namespaced_secret(namespace, body, _request_timeout=REQUEST_TIMEOUT_S)
    except client.ApiException as err:
        if err.status == 409 and not replace:
            return False
        raise _api_error(kube, namespace, name, err) from err
    return True


def ensure_ca(kube: KubeClients, namespace: str, federation: str) -> tuple[certs.CertKey, str]:
    """The federation CA from ``namespace`` (creating it the first time); returns (CA, action)."""
    for _ in range(2):
        data = _read(kube, namespace, CA_SECRET)
        if data is not None:
            cert, key = _decode(data, CA_CERT_KEY), _decode(data, CA_KEY_KEY)
            if not cert or not key:
                raise KubernetesError(f"secret {namespace}/{CA_SECRET} on {kube.access.where} lacks "
                                      f"{CA_CERT_KEY}/{CA_KEY_KEY}",
                                      fix=f"delete it (`kubectl -n {namespace} delete secret {CA_SECRET}`) to have "
                                          "fateops create a new CA; every party's certificate is then reissued")
            ca = certs.CertKey(cert, key)
            bad = certs.problems(ca)
            if not bad and certs.is_ca(ca):
                return ca, "kept"
            why = "; ".join(bad) or "not a CA"
            raise KubernetesError(f"the federation CA in {namespace}/{CA_SECRET} is unusable: {why}",
                                  fix=f"delete the secret {namespace}/{CA_SECRET} and rerun the bootstrap and "
                                      "exchange DAGs: a new CA is created and every certificate reissued")
        ca = certs.make_ca(f"fateops {federation} federation CA")
        if _write(kube, namespace, CA_SECRET, {CA_CERT_KEY: ca.cert_pem, CA_KEY_KEY: ca.key_pem}, replace=False,
                  labels={"fate.fedai.org/role": "ca"}):
            return ca, "created"
    raise KubernetesError(f"could not create or read {namespace}/{CA_SECRET} on {kube.access.where}",
                          fix="check the connection's permissions on secrets in that namespace")


def ensure_tls_secret(kube: KubeClients, namespace: str, layout: TlsSecretLayout, ca: certs.CertKey, *,
                      common_name: str, sans: Iterable[str], labels: Mapping[str, str] | None = None
                      ) -> SecretOutcome:
    """A Secret with ``layout``'s cert/key/CA keys for ``sans``, signed by ``ca``; kept when still good."""
    wanted = list(sans)
    for _ in range(2):
        data = _read(kube, namespace, layout.name)
        reasons: list[str] = []
        if data is not None:
            cert, key, ca_pem = (_decode(data, k) for k in layout.keys)
            if not cert or not key or not ca_pem:
                reasons.append(f"missing one of {', '.join(layout.keys)}")
            else:
                reasons = certs.problems(certs.CertKey(cert, key), ca=ca, sans=wanted)
                if ca_pem.strip() != ca.cert_pem.strip():
                    reasons.append(f"{layout.ca} is not the federation CA")
            if not reasons:
                return SecretOutcome(layout.name, namespace, "kept")
        leaf = certs.issue(ca, common_name, wanted)
        payload = {layout.cert: leaf.cert_pem, layout.key: leaf.key_pem, layout.ca: ca.cert_pem}
        if _write(kube, namespace, layout.name, payload, replace=data is not None, labels=labels or {}):
            return SecretOutcome(layout.name, namespace, "replaced" if data is not None else "created", tuple(reasons))
    raise KubernetesError(f"could not create or read {namespace}/{layout.name} on {kube.access.where}",
                          fix="check the connection's permissions on secrets in that namespace")


def _api_error(kube: KubeClients, namespace: str, name: str, err: Exception) -> KubernetesError:
    return KubernetesError(
        f"secret {namespace}/{name} on {kube.access.where}: API error {getattr(err, 'status', '')} "
        f"{getattr(err, 'reason', '')}",
        fix="the connection's user needs get/create/update on secrets in that namespace")
