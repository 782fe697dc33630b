"""The Kubernetes/Tanzu backend: a party's FATE is a ``fate-party`` Helm release in its own namespace.

What the seed's admins did per party by hand (steps 1–3 of *Deploying a KubeFATE Instance*) is
``preflight`` → ``provision`` → ``wait_ready`` here, against the cluster named by the party's
Airflow kubernetes connection:

* **preflight** — cluster reachable, storage/ingress class exist; the rendered release and the nodes
  compared with ``include/configs/sizing.yaml`` (warnings);
* **provision** — namespace with Pod Security Admission labels, the federation CA (kept in the
  exchange's namespace) and the party's Pulsar certificate as a Secret, then the release; if the
  exchange already has load-balancer IPs they go into the party's values, else
  ``fate_exchange_federate`` adds them later;
* **wait_ready** — every Deployment of the release ready and every LoadBalancer Service with an IP,
  each against one deadline.

Every step converges: a second run finds the namespace labelled, the certificates valid and the
release's digest unchanged, and does nothing (same helm revision).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from fateops.backends.base import PartyReport
from fateops.exceptions import ConfigError
from fateops.federation import Federation, Party
from fateops.k8s import chart_contract as cc
from fateops.k8s import desired
from fateops.k8s.access import AccessResolver, KubeAccess, env_resolver
from fateops.k8s.clients import KubeClients, open_clients
from fateops.k8s.helm import Helm
from fateops.k8s.namespaces import ensure_namespace
from fateops.k8s.preflight import capabilities, preflight_party
from fateops.k8s.release import converge_release
from fateops.k8s.tls_secrets import ensure_ca, ensure_tls_secret
from fateops.k8s.waits import Deadline, load_balancer_ips, wait_load_balancer_ips, wait_workloads_ready


class KubernetesBackend:
    """Runs parties as Helm releases on their own clusters; every method is idempotent."""

    name = "kubernetes"

    def __init__(self, federation: Federation | None = None, *, resolver: AccessResolver | None = None,
                 helm_timeout_s: float = 600.0, poll_s: float = 1.0) -> None:
        self.federation = federation
        self.resolver = resolver or env_resolver
        self.helm_timeout_s = helm_timeout_s
        self.poll_s = poll_s

    # -- helpers -----------------------------------------------------------------------------------
    def _federation(self) -> Federation:
        if self.federation is None:
            raise ConfigError("the Kubernetes backend needs the federation (exchange placement, domain)",
                              field="federation", fix="construct it as KubernetesBackend(federation, resolver=...)")
        return self.federation

    def access(self, conn_id: str) -> KubeAccess:
        return self.resolver(conn_id)

    @contextmanager
    def _clients(self, conn_id: str) -> Iterator[KubeClients]:
        with open_clients(self.access(conn_id)) as kube:
            yield kube

    def helm(self, conn_id: str) -> Helm:
        return Helm(self.access(conn_id), timeout_s=self.helm_timeout_s)

    def exchange_endpoint(self) -> cc.ExchangeEndpoint | None:
        """The exchange's LB IPs as parties must route to them (None until the exchange has both)."""
        federation = self._federation()
        ex = desired.exchange_of(federation)
        with self._clients(ex.kubernetes.connection) as kube:
            ips = load_balancer_ips(kube, ex.kubernetes.namespace, names=(cc.SVC_NGINX, cc.SVC_TRAFFIC_SERVER))
        return desired.exchange_endpoint(federation, ips)

    # -- Backend protocol --------------------------------------------------------------------------
    def preflight(self, party: Party) -> list[str]:
        where = desired.placement(party)
        values = desired.party_values(self.federation or _solo(party), party, None)
        with self._clients(where.connection) as kube:
            version = kube.server_version()  # reachable, or an error naming the connection
            manifests = self.helm(where.connection).template(
                party.release_name, cc.PARTY_CHART, where.namespace, values, kube_version=version,
                api_versions=capabilities(kube, version))
            return preflight_party(kube, where, manifests)

    def provision(self, party: Party) -> PartyReport:
        federation = self._federation()
        where = desired.placement(party)
        ex = desired.exchange_of(federation)
        with self._clients(ex.kubernetes.connection) as ex_kube:
            ensure_namespace(ex_kube, ex.kubernetes.namespace, pod_security=ex.kubernetes.pod_security,
                             labels={cc.LABEL_ROLE: "exchange"})
            ca, ca_action = ensure_ca(ex_kube, ex.kubernetes.namespace, federation.name)
            ex_ips = load_balancer_ips(ex_kube, ex.kubernetes.namespace, names=(cc.SVC_NGINX, cc.SVC_TRAFFIC_SERVER))
        endpoint = desired.exchange_endpoint(federation, ex_ips)
        common_name, sans = desired.pulsar_cert_names(federation, party)
        with self._clients(where.connection) as kube:
            ns_changed = ensure_namespace(kube, where.namespace, pod_security=where.pod_security,
                                          labels={cc.LABEL_PARTY_ID: str(party.party_id)})
            secret = ensure_tls_secret(kube, where.namespace, cc.PULSAR_TLS_SECRET, ca, common_name=common_name,
                                       sans=sans, labels={cc.LABEL_PARTY_ID: str(party.party_id)})
        values = desired.party_values(federation, party, endpoint)
        release = converge_release(self.helm(where.connection), party.release_name, cc.PARTY_CHART, where.namespace,
                                   values, timeout_s=self.helm_timeout_s)
        details: dict[str, object] = {
            "namespace": where.namespace, "namespace_changed": ns_changed, "ca": ca_action,
            "pulsar_cert": secret.action, "release": release.as_dict(),
            "exchange": dataclasses.asdict(endpoint) if endpoint else None,
        }
        warnings = () if endpoint else (
            "the exchange has no load-balancer IPs yet: run fate_exchange_federate to route this party",)
        return PartyReport(party.party_id, self.name, False, desired.fateflow_url(party), None, details, warnings)

    def wait_ready(self, party: Party, timeout_s: float) -> PartyReport:
        where = desired.placement(party)
        deadline = Deadline(timeout_s)
        selector = desired.party_selector(party)
        with self._clients(where.connection) as kube:
            states = wait_workloads_ready(kube, where.namespace, selector, deadline, poll_s=self.poll_s)
            ips = wait_load_balancer_ips(kube, where.namespace, deadline, selector=selector, poll_s=self.poll_s)
        last = self.helm(where.connection).last(party.release_name, where.namespace)
        details: dict[str, object] = {
            "namespace": where.namespace, "load_balancers": ips,
            "workloads": {s.name: f"{s.ready}/{s.desired}" for s in states},
            "components": sorted(s.name for s in states),
            "release": {"name": party.release_name, "revision": last.revision if last else None,
                        "chart": last.chart if last else None},
            "seconds": round(deadline.elapsed, 1),
        }
        return PartyReport(party.party_id, self.name, True, desired.fateflow_url(party),
                           last.app_version if last else None, details)


def _solo(party: Party) -> Federation:
    """A stand-in federation for rendering one party's values when none was given (preflight only)."""
    from fateops.federation import Federation

    return Federation.model_construct(name="preflight", parties=(party,), exchange=None)
