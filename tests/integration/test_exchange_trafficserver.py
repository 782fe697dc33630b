"""The local Exchange: a REAL private traffic-server routing by ``dest-party-id`` and reloading in place.

The origins here are two tiny HTTP servers that echo their own port (the FATE Flow sites are exercised
in test_multisite.py); what is under test is traffic-server: our runroot, records overrides, the
header_rewrite rules, ``traffic_ctl config reload`` and the binary access log.
"""

from __future__ import annotations

import http.server
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from fateops.paths import state_dir
from fateops.trafficserver import Destination, RouteTable, TrafficServer
from fateops.trafficserver.routes import NO_ROUTE_MARK
from tests.harness.procs import free_port


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"origin {self.server.server_address[1]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def origins() -> Iterator[dict[int, int]]:
    servers = {party: http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Echo) for party in (9999, 10000)}
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {party: int(server.server_address[1]) for party, server in servers.items()}
    for server in servers.values():
        server.shutdown()


@pytest.fixture(scope="module")
def exchange() -> Iterator[TrafficServer]:
    # under the test state dir, not pytest's tmp (mode 700): traffic-server runs as its own user
    ts = TrafficServer(state_dir() / "exchange-unit", port=free_port())
    yield ts
    ts.stop()


def test_routes_by_party_reload_in_place_name_a_missing_route_and_log(exchange: TrafficServer,
                                                                   origins: dict[int, int]) -> None:
    table = RouteTable.of({party: Destination("127.0.0.1", port) for party, port in origins.items()})
    pid = exchange.start(table)
    for party, port in origins.items():
        assert exchange.route_request(party, "/v2/partner/job/create").text == f"origin {port}"

    cut = exchange.apply(table.without(10000))
    assert cut.reloaded and cut.pid == pid
    missing = exchange.route_request(10000)
    assert missing.status_code == 404 and NO_ROUTE_MARK in missing.headers
    assert "No Exchange route" in missing.text
    assert exchange.route_request(9999).text == f"origin {origins[9999]}"

    back = exchange.apply(table)
    assert back.reloaded and exchange.is_running_same(pid)
    assert exchange.route_request(10000).text == f"origin {origins[10000]}"
    assert not exchange.apply(table).changed  # same table: nothing written, no reload

    assert exchange.start(table) == pid  # idempotent: a second start finds it running

    marker = f"v2/partner/logged-{uuid.uuid4().hex}"  # the access log lists what was routed where
    exchange.route_request(10000, "/" + marker)
    deadline = time.monotonic() + 20
    while not any(marker in line for line in exchange.access_log()) and time.monotonic() < deadline:
        time.sleep(0.5)
    line = next(line for line in exchange.access_log() if marker in line)
    assert "dest-party-id=10000" in line and f"127.0.0.1:{origins[10000]}" in line

    assert exchange.stop() and exchange.pid() is None and not exchange.stop()
