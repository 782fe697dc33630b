"""docker-compose's sites, proven in the real programs (no Docker here): the configs `fateops compose render`
produces load in Debian's traffic-server and rabbitmq-server and in FATE Flow 2.2.

Only what a container changes is changed here: listen addresses and ports (127.0.0.1 and spare ports
instead of the compose network's fixed ones) and the Exchange's folder path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from fateops.compose import ComposeSites
from fateops.engine.broker import BrokerPorts, RabbitNode
from fateops.engine.home import EngineConfig, Federated
from fateops.federation import Federation, load_federation
from fateops.paths import state_dir
from fateops.trafficserver import TrafficServer
from fateops.trafficserver.routes import NO_ROUTE_MARK
from tests.harness.procs import free_port

ROOT = Path(__file__).resolve().parents[2]
FEDERATION = load_federation(ROOT / "include" / "configs" / "federation.local.yaml")
LOCAL_ONLY = ("PROXY_CONFIG_HTTP_SERVER_PORTS", "PROXY_CONFIG_ADMIN_USER_ID")  # the instance's port and user


class ComposeExchange(TrafficServer):
    """A private traffic-server started with the compose Exchange's environment overrides."""

    overrides: dict[str, str] = {}

    def _env(self) -> dict[str, str]:
        return {**super()._env(), **self.overrides}


def _with_party(federation: Federation, party_id: int) -> Federation:
    data = federation.model_dump(mode="json")
    data["parties"].append({**data["parties"][-1], "party_id": party_id, "name": f"bank-{party_id}",
                            "connection": f"fateflow_{party_id}"})
    return Federation.model_validate(data)


@pytest.fixture
def exchange() -> Iterator[ComposeExchange]:
    ts = ComposeExchange(state_dir() / "compose-exchange", port=free_port())
    yield ts
    ts.stop()


def test_traffic_server_loads_the_compose_exchange_and_reloads_a_new_party(exchange: ComposeExchange) -> None:
    conf = exchange.root / "compose"
    conf.mkdir(parents=True, exist_ok=True)

    def write(federation: Federation) -> None:
        for name, text in ComposeSites(federation).exchange_files(str(conf)).items():
            (conf / name).write_text(text)

    sites = ComposeSites(FEDERATION)
    committed = (ROOT / "include" / "compose" / "exchange" / "fateops_routes.config").read_text()
    assert sites.exchange_files(str(conf))["fateops_routes.config"] == committed  # the very rules compose mounts
    write(FEDERATION)
    exchange.overrides = {k: v for k, v in sites.exchange_env(str(conf)).items() if k not in LOCAL_ONLY}
    pid = exchange.start()  # healthy = our catch-all answered: remap.config from the env override, rules parsed
    for party in (9999, 10000):  # routed to the compose service name, which does not resolve here
        answer = exchange.route_request(party, "/v2/partner/job/create")
        assert (answer.status_code, answer.reason_phrase) == (500, "Cannot find server.")  # DNS of fate-<id>
        assert NO_ROUTE_MARK not in answer.headers
    assert exchange.route_request(30000).headers.get(NO_ROUTE_MARK)  # no route yet: our 404
    write(_with_party(FEDERATION, 30000))  # the README's "add a party": re-render, reload
    exchange.reload()
    for _ in range(50):  # a reload takes effect within a moment, in the same process
        if not exchange.route_request(30000).headers.get(NO_ROUTE_MARK):
            break
        time.sleep(0.2)
    assert exchange.route_request(30000).reason_phrase == "Cannot find server." and exchange.pid() == pid


def test_rabbitmq_server_starts_on_the_compose_broker_config() -> None:
    ports = BrokerPorts(free_port(), free_port(), free_port())
    rendered = ComposeSites(FEDERATION).files()["rabbitmq/rabbitmq.conf"]
    conf = rendered.replace("0.0.0.0:5672", f"127.0.0.1:{ports.amqp}").replace(
        "port = 15672", f"port = {ports.management}").replace("ip = 0.0.0.0", "ip = 127.0.0.1")
    assert "loopback_users.guest = true" in conf

    class ComposeBroker(RabbitNode):
        def layout(self) -> None:
            super().layout()
            (self.root / "rabbitmq.conf").write_text(conf)

    node = ComposeBroker(state_dir() / "compose-broker", name=f"fateops_compose_{ports.amqp}", ports=ports)
    try:
        node.start(timeout_s=120)
        assert node.probe() == ""  # the management API answers as our node (guest over loopback)
    finally:
        node.stop()


@pytest.mark.engine
def test_fate_flow_starts_on_a_compose_sites_service_conf(tmp_path: Path) -> None:
    from fateops.engine import LocalEngine

    env = ComposeSites(FEDERATION).site_env(FEDERATION.parties[1]) | {"FATEOPS_SITE_BROKER_PASSWORD": "from-env"}
    site = Federated.from_env(env)
    assert site is not None and site.party_id == 10000
    config = EngineConfig(port=free_port(), grpc_port=free_port(), home=tmp_path / "home", federated=site)
    engine = LocalEngine(config)
    try:
        status = engine.start(timeout_s=180)
        assert status.healthy and "homo_lr" in status.components
    finally:
        engine.stop()
    conf = yaml.safe_load((tmp_path / "home" / "conf" / "service_conf.yaml").read_text())
    assert conf["party_id"] == "10000" and conf["default_engines"]["federation"] == "rabbitmq"
    assert conf["federation"]["nginx"]["host"] == "exchange"
    assert conf["federation"]["rabbitmq"]["host"] == "rabbitmq-10000"
    routes = yaml.safe_load((tmp_path / "home" / "conf" / "rabbitmq_route_table.yaml").read_text())
    assert routes == {"9999": {"host": "rabbitmq-9999", "port": 5672},
                      "10000": {"host": "rabbitmq-10000", "port": 5672}}
