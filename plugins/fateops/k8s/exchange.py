"""Federating Kubernetes parties through the Exchange — the seed's step 4, converged instead of typed.

1. Read every party's load-balancer IPs (``nginx``, ``pulsar-public-tls``) from its own cluster,
   waiting up to the deadline; a party without an IP fails the step, naming its Service.
2. On the exchange's cluster: namespace (PSA labels), the federation CA and traffic-server's
   certificate, then the ``fate-exchange`` release whose two route tables are built from those IPs
   (:func:`fateops.k8s.chart_contract.exchange_values`, parties sorted: same federation → same values).
3. Wait for the exchange's Deployments and its own LB IPs, then converge every party's release on
   that exchange endpoint (a no-op once they point at it).
4. ``traffic_ctl config reload`` in every traffic-server pod — only if the SNI table changed since
   the last reload (:mod:`fateops.k8s.reload`).

A second run with nothing changed does no helm upgrade and no reload; the returned dict (XCom)
says what happened.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fateops.federation import Federation, Party
from fateops.k8s import chart_contract as cc
from fateops.k8s import desired
from fateops.k8s.access import AccessResolver, env_resolver
from fateops.k8s.clients import open_clients
from fateops.k8s.helm import Helm
from fateops.k8s.namespaces import ensure_namespace
from fateops.k8s.release import converge_release
from fateops.k8s.reload import reload_if_changed
from fateops.k8s.tls_secrets import ensure_ca, ensure_tls_secret
from fateops.k8s.waits import Deadline, wait_load_balancer_ips, wait_workloads_ready

DEFAULT_TIMEOUT_S = 600.0


def party_endpoints(party: Party, resolver: AccessResolver, deadline: Deadline,
                    poll_s: float = 1.0) -> cc.PartyEndpoints:
    """A party's two load-balancer IPs, waited for until ``deadline``."""
    where = desired.placement(party)
    with open_clients(resolver(where.connection)) as kube:
        ips = wait_load_balancer_ips(kube, where.namespace, deadline, poll_s=poll_s,
                                     names=(cc.SVC_NGINX, cc.SVC_PULSAR_PUBLIC))
    return desired.party_endpoints(party.party_id, ips)


def federate_exchange(federation: Federation, *, resolver: AccessResolver | None = None,
                      timeout_s: float = DEFAULT_TIMEOUT_S, helm_timeout_s: float = 600.0,
                      poll_s: float = 1.0, log: Any = print) -> dict[str, Any]:
    """Converge the exchange on the current parties; returns route table, LB IPs, reload, changed."""
    resolver = resolver or env_resolver
    deadline = Deadline(timeout_s)
    ex = desired.exchange_of(federation)
    ex_ns, ex_release = ex.kubernetes.namespace, desired.exchange_release(federation)
    parties = [p for p in federation.parties if p.backend == "kubernetes"]

    endpoints = [party_endpoints(p, resolver, deadline, poll_s) for p in parties]
    for e in endpoints:
        log(f"party {e.party_id}: nginx {e.nginx_ip}, pulsar-public-tls {e.pulsar_ip}")
    values = desired.exchange_values(federation, endpoints)

    ex_access = resolver(ex.kubernetes.connection)
    with open_clients(ex_access) as kube:
        ensure_namespace(kube, ex_ns, pod_security=ex.kubernetes.pod_security,
                         labels={cc.LABEL_ROLE: "exchange"})
        ca, _ = ensure_ca(kube, ex_ns, federation.name)
        common_name, sans = desired.exchange_cert_names(federation)
        cert = ensure_tls_secret(kube, ex_ns, cc.EXCHANGE_TLS_SECRET, ca, common_name=common_name, sans=sans,
                                 labels={cc.LABEL_ROLE: "exchange"})
        release = converge_release(Helm(ex_access, timeout_s=helm_timeout_s), ex_release, cc.EXCHANGE_CHART, ex_ns,
                                   values, timeout_s=helm_timeout_s)
        log(f"exchange release {ex_ns}/{ex_release}: revision {release.revision} "
            f"({'upgraded' if release.changed else 'unchanged'})")
        wait_workloads_ready(kube, ex_ns, desired.exchange_selector(federation), deadline, poll_s=poll_s)
        ex_ips = wait_load_balancer_ips(kube, ex_ns, deadline, poll_s=poll_s,
                                        names=(cc.SVC_NGINX, cc.SVC_TRAFFIC_SERVER))
    endpoint = desired.exchange_endpoint(federation, dict(ex_ips))
    assert endpoint is not None  # both IPs were waited for above

    party_releases: dict[str, Any] = {}
    for party in parties:
        where = desired.placement(party)
        access = resolver(where.connection)
        outcome = converge_release(Helm(access, timeout_s=helm_timeout_s), party.release_name, cc.PARTY_CHART,
                                   where.namespace, desired.party_values(federation, party, endpoint),
                                   timeout_s=helm_timeout_s)
        if outcome.changed:
            log(f"party {party.party_id}: release {where.namespace}/{party.release_name} now routes through "
                f"the exchange (revision {outcome.revision}); waiting for its rollout")
            with open_clients(access) as kube:
                wait_workloads_ready(kube, where.namespace, desired.party_selector(party), deadline, poll_s=poll_s)
        party_releases[str(party.party_id)] = outcome.as_dict()

    with open_clients(ex_access) as kube:
        reload = reload_if_changed(kube, ex_ns, ex_release)
    where = ", ".join(reload.pods)
    log(f"traffic-server reload: {'ran in ' + where if reload.reloaded else 'not needed (table unchanged)'}")

    return {
        "mode": "kubernetes",
        "exchange": {"namespace": ex_ns, "release": release.as_dict(), "load_balancers": dict(ex_ips),
                     "certificate": cert.action},
        "route_table": {"sni": cc.values_at(values, cc.EXCHANGE_SNI_PATH),
                        "nginx": cc.values_at(values, cc.EXCHANGE_NGINX_ROUTE_TABLE_PATH)},
        "parties": {str(e.party_id): {**dataclasses.asdict(e), "release": party_releases[str(e.party_id)]}
                    for e in endpoints},
        "reload": reload.as_dict(),
        "changed": release.changed or reload.reloaded or any(r["changed"] for r in party_releases.values()),
        "seconds": round(deadline.elapsed, 1),
    }
