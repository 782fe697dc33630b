"""What the federation config asks of each release: Helm values, certificate names, selectors.

One function per release kind, fed only by the federation and by what the clusters report (LB
IPs). Bootstrap and federate both call them, so both compute the same values for the same state —
which is what lets :func:`fateops.k8s.release.converge_release` recognise "nothing to do".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fateops.exceptions import ConfigError
from fateops.federation import Exchange, Federation, KubernetesPlacement, Party
from fateops.k8s import chart_contract as cc

EXCHANGE_RELEASE = "fate-exchange"


def placement(party: Party) -> KubernetesPlacement:
    if party.kubernetes is None:
        raise ConfigError("is not a kubernetes party", field=f"parties[{party.party_id}].backend", value=party.backend,
                          fix="give it backend: kubernetes and a kubernetes: block")
    return party.kubernetes


def exchange_of(federation: Federation) -> Exchange:
    if federation.exchange is None:
        raise ConfigError("kubernetes parties need an exchange", field="exchange",
                          fix="add an exchange: block (kubernetes connection + namespace)")
    return federation.exchange


def exchange_release(federation: Federation) -> str:
    return exchange_of(federation).kubernetes.release or EXCHANGE_RELEASE


def party_values(federation: Federation, party: Party, exchange: cc.ExchangeEndpoint | None) -> dict[str, Any]:
    """Values of ``party``'s ``fate-party`` release (the exchange endpoint once the exchange has IPs)."""
    where = placement(party)
    return cc.party_values(
        party.party_id, storage_class=where.storage_class, exchange=exchange, psp=where.pod_security_policy,
        ingress_class=where.ingress_class, ingress_domain=where.ingress_domain, overrides=where.values)


def exchange_endpoint(federation: Federation, ips: dict[str, str | None]) -> cc.ExchangeEndpoint | None:
    """The endpoint parties route through, from the exchange's LB IPs (None until both exist)."""
    nginx, ats = ips.get(cc.SVC_NGINX), ips.get(cc.SVC_TRAFFIC_SERVER)
    if not nginx or not ats:
        return None
    return cc.ExchangeEndpoint(nginx_ip=nginx, traffic_server_ip=ats, domain=exchange_of(federation).domain)


def exchange_values(federation: Federation, parties: Iterable[cc.PartyEndpoints]) -> dict[str, Any]:
    """Values of the ``fate-exchange`` release with both route tables built from the parties' LB IPs.

    ``rollOnRouteChange`` is off: traffic-server keeps running and is told to reload its SNI table
    (the seed's step 4), which :mod:`fateops.k8s.reload` does exactly once per table change.
    """
    ex = exchange_of(federation)
    return cc.exchange_values(parties, domain=ex.domain, replicas=ex.replicas,
                              psp=ex.kubernetes.pod_security_policy, roll_on_route_change=False,
                              overrides=ex.kubernetes.values)


def party_endpoints(party_id: int, ips: dict[str, str]) -> cc.PartyEndpoints:
    return cc.PartyEndpoints(party_id=party_id, nginx_ip=ips[cc.SVC_NGINX], pulsar_ip=ips[cc.SVC_PULSAR_PUBLIC])


def party_selector(party: Party) -> str:
    """Every object of the party's release (workloads and Services)."""
    return f"{cc.LABEL_INSTANCE}={party.release_name},{cc.LABEL_NAME}={cc.PARTY_CHART_NAME}"


def exchange_selector(federation: Federation) -> str:
    return f"{cc.LABEL_INSTANCE}={exchange_release(federation)},{cc.LABEL_NAME}={cc.EXCHANGE_CHART_NAME}"


def service_dns(name: str, namespace: str) -> list[str]:
    return [name, f"{name}.{namespace}", f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local"]


def pulsar_cert_names(federation: Federation, party: Party) -> tuple[str, list[str]]:
    """(common name, SANs) of a party's broker certificate: the SNI name the exchange tunnels to
    (``<party>.<domain>``) plus the in-cluster Service names."""
    ns = placement(party).namespace
    domain = federation.exchange.domain if federation.exchange else cc.DEFAULT_DOMAIN
    fqdn = f"{party.party_id}.{domain}"
    return fqdn, [fqdn, *service_dns("pulsar", ns), *service_dns(cc.SVC_PULSAR_PUBLIC, ns)]


def exchange_cert_names(federation: Federation) -> tuple[str, list[str]]:
    ex = exchange_of(federation)
    fqdn = f"exchange.{ex.domain}"
    return fqdn, [fqdn, *service_dns(cc.SVC_TRAFFIC_SERVER, ex.kubernetes.namespace)]


def fateflow_url(party: Party) -> str:
    """FATE Flow as seen from inside the party's cluster (pods, e.g. the toy-example step)."""
    return f"http://{cc.SVC_FATEFLOW}.{placement(party).namespace}.svc:{cc.FATEFLOW_HTTP_PORT}"


def wants_public_pulsar(values: dict[str, Any]) -> bool:
    return bool(cc.values_at(values, ("pulsar", "publicLB", "enabled")))
