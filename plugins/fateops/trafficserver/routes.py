"""The Exchange's route table: party id → where that party is reached, rendered for traffic-server.

One model, two renderings, so the local Exchange and the Kubernetes one cannot drift apart:

* :meth:`RouteTable.header_rewrite` — the local Exchange. FATE Flow in multi-party mode sends every
  inter-party command as plain HTTP to its proxy with a ``dest-party-id`` header; traffic-server's
  ``header_rewrite.so`` remap plugin turns that header into the destination (one ``cond``/
  ``set-destination`` rule per party, ``[L]`` so the first match wins). A request for a party with no
  route gets a 404 whose reason names the missing Exchange route — never some other party's server.
* :meth:`RouteTable.sni` — the Kubernetes Exchange: ``sni.yaml`` tunnel routes ``<party>.<domain>``.

Parties are sorted by id, so the same federation always renders the same bytes (a rerun that changes
nothing reloads nothing).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fateops.exceptions import ConfigError

PARTY_HEADER = "dest-party-id"
NO_ROUTE_STATUS = 404
NO_ROUTE_REASON = "No Exchange route for this dest-party-id"
NO_ROUTE_MARK = "X-Fateops-Exchange-No-Route"
# The remap target when no route matches: the [L] catch-all answers first, so nothing is ever sent here;
# a discard port on loopback makes sure a mistake could not reach a real server.
_UNROUTED = ("127.0.0.1", 9)
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                       r"[A-Za-z0-9])?)*$")


def _check_host(host: str, where: str) -> str:
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if not isinstance(host, str) or not _HOSTNAME.match(host):
        raise ConfigError("is not an IP address or host name", field=where, value=host)
    return host


def _check_port(port: int, where: str) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError("must be a TCP port 1-65535", field=where, value=port)
    return port


@dataclass(frozen=True)
class Destination:
    """Where one party is reached: an address and a port (its FATE Flow, or its TLS tunnel end)."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class RouteTable:
    """Party id → destination; immutable, validated, always iterated in party-id order."""

    routes: tuple[tuple[int, Destination], ...] = field(default=())

    @classmethod
    def of(cls, routes: Mapping[int, Destination] | Iterable[tuple[int, Destination]]) -> RouteTable:
        """Build and validate (ids positive and unique, hosts and ports well-formed)."""
        pairs = list(routes.items()) if isinstance(routes, Mapping) else list(routes)
        seen: set[int] = set()
        for party_id, dest in pairs:
            if isinstance(party_id, bool) or not isinstance(party_id, int) or party_id <= 0:
                raise ConfigError("a party id must be a positive integer", field="routes", value=party_id)
            if party_id in seen:
                raise ConfigError("appears twice in the route table", field="routes", value=party_id,
                                  fix="each party needs its own id")
            seen.add(party_id)
            _check_host(dest.host, f"routes.{party_id}.host")
            _check_port(dest.port, f"routes.{party_id}.port")
        return cls(tuple(sorted(pairs, key=lambda pair: pair[0])))

    # -- lookups and edits ------------------------------------------------------------------------
    @property
    def party_ids(self) -> list[int]:
        return [party_id for party_id, _ in self.routes]

    def get(self, party_id: int) -> Destination | None:
        return dict(self.routes).get(int(party_id))

    def without(self, party_id: int) -> RouteTable:
        """The table minus one party (a network cut at the Exchange)."""
        return RouteTable(tuple(pair for pair in self.routes if pair[0] != int(party_id)))

    def as_dict(self) -> dict[str, str]:
        return {str(party_id): str(dest) for party_id, dest in self.routes}

    # -- renderings -------------------------------------------------------------------------------
    def header_rewrite(self) -> str:
        """``header_rewrite.so`` rules: route by ``dest-party-id``; an unknown party gets a 404 naming it."""
        lines = ["# fateops: the Exchange's route table (party id -> FATE Flow); generated, do not edit"]
        for party_id, dest in self.routes:
            lines += [f"cond %{{CLIENT-HEADER:{PARTY_HEADER}}} ={party_id} [L]",
                      f"    set-destination HOST {dest.host}",
                      f"    set-destination PORT {dest.port}"]
        # remap hook: answer 404 ourselves and mark the request; response hook: say why, on our 404 only
        lines += ["cond %{TRUE}",
                  f"    set-status {NO_ROUTE_STATUS}",
                  f"    set-header {NO_ROUTE_MARK} 1",
                  "cond %{SEND_RESPONSE_HDR_HOOK} [AND]",
                  f"cond %{{CLIENT-HEADER:{NO_ROUTE_MARK}}} =1",
                  f'    set-status-reason "{NO_ROUTE_REASON}"',
                  f'    set-header {NO_ROUTE_MARK} "{NO_ROUTE_REASON}"',
                  f'    set-body "{NO_ROUTE_REASON}: add the party to the federation config and re-run '
                  'fate_exchange_federate"']
        return "\n".join(lines) + "\n"

    def digest(self) -> str:
        """A short fingerprint of the routes (same table → same digest)."""
        return hashlib.sha256(self.header_rewrite().encode()).hexdigest()[:16]

    def remap_config(self, rules_file: Path) -> str:
        """``remap.config``: every request goes through the header rules (the map target is never used).

        It carries the rules' digest: traffic-server re-reads only the files whose contents changed, and
        the rules are loaded by the remap plugin — so a route change must change remap.config too.
        """
        host, port = _UNROUTED
        return (f"# fateops: every request is routed by {PARTY_HEADER} (see {rules_file.name}, "
                f"routes {self.digest()})\n"
                f"map / http://{host}:{port}/ @plugin=header_rewrite.so @pparam={rules_file}\n")

    def sni(self, domain: str) -> list[dict[str, Any]]:
        """``sni.yaml`` entries of the Kubernetes Exchange: ``<party>.<domain>`` tunnelled to the party."""
        _check_host(domain, "exchange.domain")
        return [{"fqdn": f"{party_id}.{domain}", "tunnelRoute": str(dest)} for party_id, dest in self.routes]
