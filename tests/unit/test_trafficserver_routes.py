"""The Exchange's route table and traffic-server config rendering (no daemon: see the integration test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fateops.exceptions import ConfigError
from fateops.trafficserver import Destination, RouteTable
from fateops.trafficserver.instance import apply_records, records_overrides

TABLE = RouteTable.of({10000: Destination("127.0.0.1", 9390), 9999: Destination("127.0.0.1", 9380)})


def test_routes_are_sorted_and_rendered_per_party_with_a_no_route_catch_all() -> None:
    rules = TABLE.header_rewrite()
    assert TABLE.party_ids == [9999, 10000]
    first, second = rules.index("=9999 [L]"), rules.index("=10000 [L]")
    assert first < second < rules.index("cond %{TRUE}")
    assert "set-destination PORT 9380" in rules and "set-destination PORT 9390" in rules
    assert "set-status 404" in rules and "No Exchange route" in rules


def test_same_routes_render_the_same_bytes_and_a_change_changes_the_remap_file() -> None:
    again = RouteTable.of([(9999, Destination("127.0.0.1", 9380)), (10000, Destination("127.0.0.1", 9390))])
    assert again.header_rewrite() == TABLE.header_rewrite()
    rules = Path("/x/rules.config")
    assert TABLE.remap_config(rules) == again.remap_config(rules)
    assert TABLE.without(10000).remap_config(rules) != TABLE.remap_config(rules)
    assert "@plugin=header_rewrite.so @pparam=/x/rules.config" in TABLE.remap_config(rules)


def test_without_removes_one_party_only() -> None:
    cut = TABLE.without(10000)
    assert cut.party_ids == [9999] and cut.get(10000) is None and cut.get(9999) == Destination("127.0.0.1", 9380)


def test_sni_rendering_for_the_kubernetes_exchange() -> None:
    assert TABLE.sni("fate.org") == [{"fqdn": "9999.fate.org", "tunnelRoute": "127.0.0.1:9380"},
                                     {"fqdn": "10000.fate.org", "tunnelRoute": "127.0.0.1:9390"}]


@pytest.mark.parametrize("routes, field", [
    ({0: Destination("127.0.0.1", 1)}, "routes"),
    ({1: Destination("bad host!", 1)}, "routes.1.host"),
    ({1: Destination("127.0.0.1", 70000)}, "routes.1.port"),
])
def test_bad_routes_are_refused_naming_the_field(routes: dict[int, Destination], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        RouteTable.of(routes)
    assert err.value.field == field


def test_duplicate_party_is_refused() -> None:
    with pytest.raises(ConfigError, match="twice"):
        RouteTable.of([(1, Destination("a", 1)), (1, Destination("b", 2))])


def test_records_overrides_replace_debian_values_once() -> None:
    debian = "CONFIG proxy.config.http.server_ports STRING 8080 8080:ipv6\nCONFIG proxy.config.http.cache.http INT 1\n"
    text = apply_records(debian, records_overrides(8882, "127.0.0.1", "trafficserver"))
    assert text.count("proxy.config.http.server_ports") == 1
    assert "CONFIG proxy.config.http.server_ports STRING 8882:ip-in=127.0.0.1" in text
    assert "CONFIG proxy.config.http.cache.http INT 0" in text
    assert apply_records(text, records_overrides(8882, "127.0.0.1", "trafficserver")).count("cache.http") == 1
