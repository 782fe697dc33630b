"""What our two Helm charts promise to the code that installs and operates them.

``include/charts/fate-party`` (one party's FATE cluster) and ``include/charts/fate-exchange`` (the
federation's nginx + traffic-server) name their Services, labels, ConfigMaps, Secrets and values
keys in their templates. Code that waits for load balancers, rewrites route tables or execs into
traffic-server must use the same names, so they live here, once, and the chart tests assert that
the rendered manifests keep them. The value builders (:func:`party_values`,
:func:`exchange_values`) are the only place that spells values keys: the k8s domain code passes
plain inputs and never hand-writes a values dict.

No Airflow, no Kubernetes client: constants, frozen dataclasses and two pure functions.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from fateops.exceptions import ConfigError
from fateops.paths import CHARTS_DIR
from fateops.trafficserver.routes import Destination, RouteTable

# -- charts ------------------------------------------------------------------------------------------
PARTY_CHART_NAME: Final = "fate-party"
EXCHANGE_CHART_NAME: Final = "fate-exchange"
PARTY_CHART: Final[Path] = CHARTS_DIR / PARTY_CHART_NAME
EXCHANGE_CHART: Final[Path] = CHARTS_DIR / EXCHANGE_CHART_NAME
ChartName = Literal["fate-party", "fate-exchange"]
# What the images the charts deploy are (user, command, writable paths, runtimes), with sources.
IMAGE_FACTS: Final[Path] = CHARTS_DIR / "image-facts.yaml"

# -- components (Deployment name == app.kubernetes.io/component) --------------------------------------
# FATE Board is a second container of the `python` pod (it reads FATE Flow's logs), not a Deployment.
PartyComponent = Literal[
    "python", "client", "mysql", "nginx", "pulsar", "spark-master", "spark-worker", "namenode", "datanode"
]
PARTY_COMPONENTS: Final[tuple[PartyComponent, ...]] = (
    "python", "client", "mysql", "nginx", "pulsar", "spark-master", "spark-worker", "namenode", "datanode",
)
# One replica each, Recreate strategy, data on the PVC named by :func:`pvc_name`.
STATEFUL_COMPONENTS: Final[tuple[PartyComponent, ...]] = ("python", "mysql", "pulsar", "namenode", "datanode")
# Left out of a release when the matching external* switch is on.
EXTERNAL_SWITCHES: Final[Mapping[str, tuple[PartyComponent, ...]]] = {
    "externalSpark": ("spark-master", "spark-worker"),
    "externalHdfs": ("namenode", "datanode"),
    "externalPulsar": ("pulsar",),
}
ExchangeComponent = Literal["nginx", "traffic-server"]
EXCHANGE_COMPONENTS: Final[tuple[ExchangeComponent, ...]] = ("nginx", "traffic-server")

# -- Services and ports --------------------------------------------------------------------------------
SVC_NGINX: Final = "nginx"  # party and exchange: LoadBalancer 9300 http / 9310 grpc
SVC_PULSAR_PUBLIC: Final = "pulsar-public-tls"  # party: LoadBalancer 6651 (when pulsar.publicLB.enabled)
SVC_FATEFLOW: Final = "fateflow"  # party: ClusterIP 9380 http / 9360 grpc
SVC_FATEBOARD: Final = "fateboard"  # party: ClusterIP 8080
SVC_NOTEBOOK: Final = "notebook"  # party: ClusterIP 20000
SVC_TRAFFIC_SERVER: Final = "traffic-server"  # exchange: LoadBalancer 443
PARTY_LOAD_BALANCERS: Final = (SVC_NGINX, SVC_PULSAR_PUBLIC)
EXCHANGE_LOAD_BALANCERS: Final = (SVC_NGINX, SVC_TRAFFIC_SERVER)

FATEFLOW_HTTP_PORT: Final = 9380
FATEFLOW_GRPC_PORT: Final = 9360
NGINX_HTTP_PORT: Final = 9300
NGINX_GRPC_PORT: Final = 9310
PULSAR_PORT: Final = 6650
PULSAR_TLS_PORT: Final = 6651
TRAFFIC_SERVER_PORT: Final = 443
DEFAULT_DOMAIN: Final = "fate.org"

# -- labels and annotations ----------------------------------------------------------------------------
LABEL_NAME: Final = "app.kubernetes.io/name"  # the chart name
LABEL_INSTANCE: Final = "app.kubernetes.io/instance"  # the release name
LABEL_COMPONENT: Final = "app.kubernetes.io/component"
LABEL_PART_OF: Final = "app.kubernetes.io/part-of"  # always "fate"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
LABEL_CHART: Final = "helm.sh/chart"
LABEL_PARTY_ID: Final = "fate.fedai.org/party-id"  # every object of a fate-party release
LABEL_ROLE: Final = "fate.fedai.org/role"  # "exchange" on every object of a fate-exchange release
# sha256 of the ConfigMaps a pod mounts: pods whose value differs from their Deployment's template
# are from before the last config change (pick a current one to exec into).
CHECKSUM_ANNOTATION: Final = "checksum/config"

# -- traffic-server -------------------------------------------------------------------------------------
TRAFFIC_SERVER_CONTAINER: Final = "traffic-server"
# The seed's reload, run in one traffic-server pod after the route table changed. A tuple so it
# cannot be mutated by a caller; pass ``list(TRAFFIC_SERVER_RELOAD_COMMAND)`` to an exec API.
TRAFFIC_SERVER_RELOAD_COMMAND: Final[tuple[str, ...]] = ("/opt/trafficserver/bin/traffic_ctl", "config", "reload")

# -- ConfigMaps (name, key) ------------------------------------------------------------------------------
EXCHANGE_SNI_CONFIGMAP: Final = ("traffic-server-route-table", "sni.yaml")  # ATS sni.yaml (tunnel_route)
EXCHANGE_NGINX_CONFIGMAP: Final = ("nginx-route-table", "route_table.yaml")
PARTY_NGINX_CONFIGMAP: Final = ("nginx-route-table", "route_table.yaml")
PARTY_PULSAR_ROUTE_CONFIGMAP: Final = ("fateflow-config", "pulsar_route_table.yaml")
PARTY_SERVICE_CONF_CONFIGMAP: Final = ("fateflow-config", "service_conf.yaml")


# -- TLS Secrets (created by fateops before the release; the charts only mount them) -------------------
@dataclass(frozen=True)
class TlsSecretLayout:
    """Name and keys of a TLS Secret a chart mounts."""

    name: str
    cert: str
    key: str
    ca: str

    @property
    def keys(self) -> tuple[str, str, str]:
        return (self.cert, self.key, self.ca)


EXCHANGE_TLS_SECRET: Final = TlsSecretLayout("traffic-server-cert", "proxy.cert.pem", "proxy.key.pem", "ca.cert.pem")
# Pulsar reads its private key as PKCS#8 PEM.
PULSAR_TLS_SECRET: Final = TlsSecretLayout("pulsar-cert", "broker.cert.pem", "broker.key-pk8.pem", "ca.cert.pem")
# Generated by the party chart (kept across upgrades) unless mysql.existingSecret names another.
MYSQL_SECRET: Final = "mysql-auth"  # keys mysql-password, mysql-root-password
FATEBOARD_SECRET: Final = "fateboard-auth"  # key password

# -- values paths (for reading back a release's values) -------------------------------------------------
PARTY_ID_PATH: Final = ("partyId",)
PULSAR_ROUTE_TABLE_PATH: Final = ("pulsar", "route_table")
PULSAR_EXCHANGE_PATH: Final = ("pulsar", "exchange")  # {ip, port, domain}
NGINX_EXCHANGE_PATH: Final = ("nginx", "exchange")  # {ip, httpPort, grpcPort}
PARTY_NGINX_ROUTE_TABLE_PATH: Final = ("nginx", "route_table")
EXCHANGE_SNI_PATH: Final = ("trafficServer", "route_table", "sni")  # [{fqdn, tunnelRoute}]
EXCHANGE_NGINX_ROUTE_TABLE_PATH: Final = ("nginx", "route_table")  # {<party>: {fateflow: [...], proxy: [...]}}


def pvc_name(component: PartyComponent) -> str:
    """The PVC the party chart creates for a stateful component (``<component>-data``)."""
    if component not in STATEFUL_COMPONENTS:
        raise ConfigError("has no persistent volume", field="component", value=component,
                          fix=f"use one of {', '.join(STATEFUL_COMPONENTS)}")
    return f"{component}-data"


def selector_labels(chart: ChartName, component: str, release: str | None = None) -> dict[str, str]:
    """The labels that select a component's pods (the Deployment's matchLabels, minus the release
    when ``release`` is None — one release per namespace makes it optional)."""
    labels = {LABEL_NAME: chart, LABEL_COMPONENT: component}
    if release:
        labels[LABEL_INSTANCE] = release
    return labels


def label_selector(chart: ChartName, component: str, release: str | None = None) -> str:
    """:func:`selector_labels` as a Kubernetes label-selector string (``k=v,k=v``)."""
    return ",".join(f"{k}={v}" for k, v in sorted(selector_labels(chart, component, release).items()))


# -- value builders ------------------------------------------------------------------------------------
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-]*[A-Za-z0-9])?$|^[0-9a-fA-F:]+$")


def _host(value: str, field_name: str) -> str:
    if not isinstance(value, str) or not _HOST.match(value):
        raise ConfigError("is not an IP address or host name", field=field_name, value=value,
                          fix="pass the load balancer's IP as shown by `kubectl get svc` (EXTERNAL-IP)")
    return value


def _port(value: int, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ConfigError("is not a TCP port (1-65535)", field=field_name, value=value)
    return value


def _party_id(value: int, field_name: str = "party_id") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError("must be a positive integer", field=field_name, value=value)
    return value


@dataclass(frozen=True)
class ExchangeEndpoint:
    """Where a party reaches the exchange: its two load balancers and the SNI domain."""

    nginx_ip: str
    traffic_server_ip: str
    http_port: int = NGINX_HTTP_PORT
    grpc_port: int = NGINX_GRPC_PORT
    tls_port: int = TRAFFIC_SERVER_PORT
    domain: str = DEFAULT_DOMAIN


@dataclass(frozen=True)
class NginxHop:
    """One upstream in an nginx route table."""

    host: str
    http_port: int = NGINX_HTTP_PORT
    grpc_port: int = NGINX_GRPC_PORT

    def as_values(self, field_name: str) -> dict[str, Any]:
        return {"host": _host(self.host, f"{field_name}.host"),
                "http_port": _port(self.http_port, f"{field_name}.http_port"),
                "grpc_port": _port(self.grpc_port, f"{field_name}.grpc_port")}


@dataclass(frozen=True)
class NginxRoute:
    """A party's entry in an nginx route table (``fateflow`` and/or ``proxy`` upstreams)."""

    fateflow: tuple[NginxHop, ...] = ()
    proxy: tuple[NginxHop, ...] = ()

    def as_values(self, field_name: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind, hops in (("fateflow", self.fateflow), ("proxy", self.proxy)):
            if hops:
                out[kind] = [h.as_values(f"{field_name}.{kind}[{i}]") for i, h in enumerate(hops)]
        if not out:
            raise ConfigError("has neither fateflow nor proxy upstreams", field=field_name)
        return out


@dataclass(frozen=True)
class PulsarRoute:
    """A party's entry in FATE's pulsar route table."""

    host: str
    port: int = PULSAR_PORT
    ssl_port: int = PULSAR_TLS_PORT
    proxy: str = ""  # "<ip>:<port>" of an SNI proxy in front of that party, or ""

    def as_values(self, field_name: str) -> dict[str, Any]:
        return {"host": _host(self.host, f"{field_name}.host"), "port": _port(self.port, f"{field_name}.port"),
                "sslPort": _port(self.ssl_port, f"{field_name}.ssl_port"), "proxy": self.proxy}


@dataclass(frozen=True)
class ExternalPulsar:
    """An existing (HA) Pulsar cluster the party uses instead of the in-chart standalone broker."""

    host: str
    port: int = PULSAR_PORT
    ssl_port: int = PULSAR_TLS_PORT
    admin_port: int = 8080


@dataclass(frozen=True)
class PartyEndpoints:
    """A deployed party as the exchange sees it: the IPs of its two load balancers."""

    party_id: int
    nginx_ip: str
    pulsar_ip: str
    http_port: int = NGINX_HTTP_PORT
    grpc_port: int = NGINX_GRPC_PORT
    pulsar_tls_port: int = PULSAR_TLS_PORT


@dataclass(frozen=True)
class Externals:
    """The seed's "leverage an external Spark/HDFS/Pulsar" switches (None = deploy in-chart)."""

    spark_master: str | None = None  # spark://host:7077
    hdfs_namenode: str | None = None  # hdfs://host:9000
    pulsar: ExternalPulsar | None = None


def merge_values(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base`` (maps merge, everything else replaces) —
    the same rule helm applies to ``-f`` files."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def party_values(
    party_id: int,
    *,
    storage_class: str | None = None,
    exchange: ExchangeEndpoint | None = None,
    pulsar_routes: Mapping[int, PulsarRoute] | None = None,
    nginx_routes: Mapping[int, NginxRoute] | None = None,
    psp: bool = False,
    nginx_service_type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = "LoadBalancer",
    pulsar_public_lb: bool = True,
    externals: Externals | None = None,
    ingress_class: str | None = None,
    ingress_domain: str | None = None,
    registry: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Values for a ``fate-party`` release (only what differs from the chart's defaults).

    ``exchange`` becomes the default route of both route tables, so every other party is reached
    through the exchange (``<party>.<domain>`` via traffic-server for Pulsar, the exchange's nginx
    for FATE Flow); ``pulsar_routes``/``nginx_routes`` add explicit routes on top. ``overrides`` (a
    federation's ``kubernetes.values``) is deep-merged last.
    """
    _party_id(party_id)
    values: dict[str, Any] = {
        "partyId": party_id,
        "podSecurityPolicy": {"enabled": bool(psp)},
        "nginx": {"service": {"type": nginx_service_type}},
        "pulsar": {"publicLB": {"enabled": bool(pulsar_public_lb)}},
    }
    if storage_class:
        values["persistence"] = {"enabled": True, "storageClass": storage_class}
    if registry:
        values["image"] = {"registry": registry}
    if exchange is not None:
        values["nginx"]["exchange"] = {
            "ip": _host(exchange.nginx_ip, "exchange.nginx_ip"),
            "httpPort": _port(exchange.http_port, "exchange.http_port"),
            "grpcPort": _port(exchange.grpc_port, "exchange.grpc_port"),
        }
        values["pulsar"]["exchange"] = {
            "ip": _host(exchange.traffic_server_ip, "exchange.traffic_server_ip"),
            "port": _port(exchange.tls_port, "exchange.tls_port"),
            "domain": _host(exchange.domain, "exchange.domain"),
        }
    others = sorted(pid for pid in (pulsar_routes or {}) if pid != party_id)
    if others:
        raise ConfigError(
            "is a Pulsar route to another party, which FATE 2.x never uses (its lookup is int(party_id) "
            "against string keys, fate/arch/federation/backends/pulsar/_federation.py)",
            field=f"pulsar_routes[{others[0]}]", value=others[0],
            fix="remove it: every other party is reached through the exchange (`exchange`, <party>.<domain>)")
    if pulsar_routes:
        values["pulsar"]["route_table"] = {
            str(_party_id(pid, "pulsar_routes")): route.as_values(f"pulsar_routes[{pid}]")
            for pid, route in pulsar_routes.items()
        }
    if nginx_routes:
        values["nginx"]["route_table"] = {
            str(_party_id(pid, "nginx_routes")): route.as_values(f"nginx_routes[{pid}]")
            for pid, route in nginx_routes.items()
        }
    if externals is not None:
        values.update(_external_values(externals))
    if ingress_class:
        values["ingress"] = {"enabled": True, "className": ingress_class}
        if ingress_domain:
            values["ingress"]["domain"] = ingress_domain
    return merge_values(values, overrides or {})


def _external_values(ext: Externals) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ext.spark_master is not None:
        if not ext.spark_master.startswith("spark://"):
            raise ConfigError("must be a spark:// URL", field="externals.spark_master", value=ext.spark_master)
        out["externalSpark"] = {"enabled": True, "master": ext.spark_master}
    if ext.hdfs_namenode is not None:
        if not ext.hdfs_namenode.startswith(("hdfs://", "viewfs://")):
            raise ConfigError("must be an hdfs:// URL", field="externals.hdfs_namenode", value=ext.hdfs_namenode)
        out["externalHdfs"] = {"enabled": True, "namenode": ext.hdfs_namenode}
    if ext.pulsar is not None:
        out["externalPulsar"] = {
            "enabled": True,
            "host": _host(ext.pulsar.host, "externals.pulsar.host"),
            "port": _port(ext.pulsar.port, "externals.pulsar.port"),
            "sslPort": _port(ext.pulsar.ssl_port, "externals.pulsar.ssl_port"),
            "adminPort": _port(ext.pulsar.admin_port, "externals.pulsar.admin_port"),
        }
    return out


def exchange_values(
    parties: Iterable[PartyEndpoints],
    *,
    domain: str = DEFAULT_DOMAIN,
    replicas: int = 2,
    tls_secret: str = EXCHANGE_TLS_SECRET.name,
    psp: bool = False,
    roll_on_route_change: bool = True,
    registry: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Values for the ``fate-exchange`` release with both route tables built from the parties' LB IPs.

    traffic-server tunnels ``<party>.<domain>`` to that party's ``pulsar-public-tls`` IP; the
    exchange's nginx sends a party's FATE Flow and proxy traffic to that party's ``nginx`` IP.
    Parties are sorted by id so the same federation always renders the same values (and the same
    checksum: a rerun changes nothing).
    """
    listed = list(parties)
    dup = [pid for pid, n in Counter(p.party_id for p in listed).items() if n > 1]
    if dup:
        raise ConfigError("appears twice in the exchange's parties", field="party_id", value=dup[0],
                          fix="each party needs its own id")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise ConfigError("must be an integer >= 1", field="exchange.replicas", value=replicas)
    _host(domain, "exchange.domain")
    tunnels: dict[int, Destination] = {}
    nginx_table: dict[str, Any] = {}
    for p in sorted(listed, key=lambda p: p.party_id):
        where = f"parties[{p.party_id}]"
        _party_id(p.party_id, f"{where}.party_id")
        tunnels[p.party_id] = Destination(_host(p.pulsar_ip, f"{where}.pulsar_ip"),
                                          _port(p.pulsar_tls_port, f"{where}.pulsar_tls_port"))
        hop = NginxHop(p.nginx_ip, p.http_port, p.grpc_port).as_values(f"{where}.nginx")
        nginx_table[str(p.party_id)] = {"fateflow": [hop], "proxy": [dict(hop)]}
    # the same route-table model (and SNI rendering) as the local Exchange's traffic-server
    sni = RouteTable.of(tunnels).sni(domain)
    values: dict[str, Any] = {
        "podSecurityPolicy": {"enabled": bool(psp)},
        "nginx": {"replicas": replicas, "route_table": nginx_table},
        "trafficServer": {
            "replicas": replicas,
            "tls": {"secretName": tls_secret},
            "route_table": {"sni": sni},
            "rollOnRouteChange": bool(roll_on_route_change),
        },
    }
    if registry:
        values["image"] = {"registry": registry}
    return merge_values(values, overrides or {})


def values_at(values: Mapping[str, Any], path: Iterable[str]) -> Any:
    """The value at a values path (e.g. :data:`EXCHANGE_SNI_PATH`), or None when absent."""
    node: Any = values
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node
