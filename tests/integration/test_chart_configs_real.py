"""The configs our charts render, loaded by the real programs that read them.

- nginx route tables (party with and without an exchange, exchange): FATE's own ``route_table.lua`` +
  ``yaml_parser.lua`` (tests/fixtures/fate_proxy_lua, FATE v2.0.0 = v2.2.0) under Debian's ``lua5.1``
  pick the upstream for each party — listed, own, and one no table lists;
- ``nginx -t`` (Debian nginx + lua/stream modules) on FATE's nginx.conf with the vhost our charts add;
- the party's ``service_conf.yaml`` (filled by the chart's own render-conf.sh) and
  ``pulsar_route_table.yaml`` loaded by the real FATE Flow 2.2 of the engine venv, started by
  :class:`fateops.engine.LocalEngine` with its own home: it starts, lists FATE's components and
  registers the configured computing engine; FATE Flow's own pydantic spec parses the route table.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from fateops.k8s import chart_contract as cc
from tests.harness.helm import ensure_helm

LUA_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "fate_proxy_lua"
EXCHANGE_AT = cc.ExchangeEndpoint(nginx_ip="10.159.229.69", traffic_server_ip="10.159.229.68")
PARTIES = (cc.PartyEndpoints(30000, "10.159.229.72", "10.159.229.73"),
           cc.PartyEndpoints(40000, "10.159.229.82", "10.159.229.83"))
NGINX_MODULES = ("ndk_http_module.so", "ngx_http_lua_module.so", "ngx_stream_module.so")
FLOW_PORT, FLOW_GRPC_PORT = 9790, 9791  # this checkout's spare range (9781-9799)


def helm_template(chart: Path, values: Mapping[str, Any], tmp: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """{(kind, name): document} of a real `helm template`."""
    path = tmp / f"values-{chart.name}.yaml"
    path.write_text(yaml.safe_dump(dict(values)))
    out = subprocess.run([str(ensure_helm()), "template", "rel", str(chart), "-f", str(path)], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


def config(docs: Mapping[tuple[str, str], dict[str, Any]], name: str, key: str) -> str:
    return docs[("ConfigMap", name)]["data"][key]


def lua_routes(table: str, queries: list[str], tmp: Path) -> dict[str, str]:
    """What FATE's Lua answers for each "<party> <service> <http version>" against ``table``."""
    prefix = tmp / "nginx-prefix"
    (prefix / "conf").mkdir(parents=True, exist_ok=True)
    (prefix / "conf" / "route_table.yaml").write_text(table)
    proc = subprocess.run(["lua5.1", str(LUA_DIR / "route_lookup.lua"), str(LUA_DIR), f"{prefix}/", *queries],
                          capture_output=True, text=True, timeout=30, check=True)
    return dict(line.split(" -> ", 1) for line in proc.stdout.splitlines())


# -- nginx route tables through FATE's Lua ---------------------------------------------------------------
def test_party_route_tables_route_every_party_with_fates_lua(tmp_path: Path) -> None:
    routed = helm_template(cc.PARTY_CHART, cc.party_values(30000, exchange=EXCHANGE_AT), tmp_path)
    got = lua_routes(config(routed, *cc.PARTY_NGINX_CONFIGMAP),
                     ["30000 fateflow 1.1", "30000 fateflow 2", "40000 fateflow 1.1", "40000 fateflow 2",
                      "77777 fateflow 1.1"], tmp_path)
    assert got == {"30000 fateflow 1.1": "fateflow:9380", "30000 fateflow 2": "fateflow:9360",
                   "40000 fateflow 1.1": "10.159.229.69:9300", "40000 fateflow 2": "10.159.229.69:9310",
                   "77777 fateflow 1.1": "10.159.229.69:9300"}

    alone = helm_template(cc.PARTY_CHART, cc.party_values(30000), tmp_path)  # before federation
    got = lua_routes(config(alone, *cc.PARTY_NGINX_CONFIGMAP), ["40000 fateflow 1.1", "40000 fateflow 2"], tmp_path)
    assert got == {"40000 fateflow 1.1": "127.0.0.1:9398", "40000 fateflow 2": "127.0.0.1:9399"}


def test_exchange_route_table_routes_listed_and_unknown_parties_with_fates_lua(tmp_path: Path) -> None:
    docs = helm_template(cc.EXCHANGE_CHART, cc.exchange_values(PARTIES), tmp_path)
    table = config(docs, *cc.EXCHANGE_NGINX_CONFIGMAP)
    got = lua_routes(table, ["30000 fateflow 1.1", "40000 fateflow 2", "55555 fateflow 1.1"], tmp_path)
    assert got == {"30000 fateflow 1.1": "10.159.229.72:9300", "40000 fateflow 2": "10.159.229.82:9310",
                   "55555 fateflow 1.1": "127.0.0.1:9398"}  # the local "not in this route table" server
    # the same table without `default` is what broke (defect 11): FATE's Lua fails on an unlisted party
    without = {k: v for k, v in yaml.safe_load(table).items() if k != "default"}
    broken = lua_routes(yaml.safe_dump(without), ["55555 fateflow 1.1"], tmp_path)
    assert broken["55555 fateflow 1.1"].startswith("ERROR") and "nil value" in broken["55555 fateflow 1.1"]


# -- nginx -t --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("chart", [cc.PARTY_CHART, cc.EXCHANGE_CHART], ids=lambda p: p.name)
def test_nginx_accepts_fates_config_with_the_vhost_the_chart_adds(chart: Path, tmp_path: Path) -> None:
    modules = Path("/usr/lib/nginx/modules")
    if not shutil.which("nginx") or not all((modules / m).exists() for m in NGINX_MODULES):
        pytest.fail("nginx with libnginx-mod-http-lua and libnginx-mod-stream is required (make sysdeps)")
    docs = helm_template(chart, {}, tmp_path)
    prefix = tmp_path / "prefix"
    shutil.copytree(LUA_DIR / "conf", prefix / "conf")
    shutil.copy("/etc/nginx/mime.types", prefix / "conf" / "mime.types")
    (prefix / "logs").mkdir()
    vhost = config(docs, "nginx-config", "fateops-unknown-party.conf")
    (prefix / "conf" / "vhost" / "fateops-unknown-party.conf").write_text(vhost)
    load = " ".join(f"load_module {modules / m};" for m in NGINX_MODULES)
    proc = subprocess.run(["nginx", "-t", "-p", f"{prefix}/", "-c", "conf/nginx.conf", "-g",
                           f"{load} pid {prefix}/logs/nginx.pid; error_log {prefix}/logs/error.log;"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "test is successful" in proc.stderr


# -- FATE Flow 2.2 loads the party's service_conf.yaml -----------------------------------------------------
@pytest.mark.engine
def test_fate_flow_starts_on_the_rendered_service_conf_and_registers_its_engines(tmp_path: Path) -> None:
    from fateops.engine import LocalEngine
    from fateops.engine.home import EngineConfig
    from fateops.engine.install import EngineInstall, install_engine

    # The chart's own knob (python.serviceConf) swaps MySQL for SQLite: no MySQL server runs here. The
    # standalone `cores` key is what fateops' local engine sets on every start; FATE ignores it otherwise.
    values = cc.party_values(30000, exchange=EXCHANGE_AT, overrides={"python": {"serviceConf": {
        "database": {"engine": "sqlite", "sqlite": {"path": ""}}, "computing": {"standalone": {"cores": 4}}}}})
    docs = helm_template(cc.PARTY_CHART, values, tmp_path)
    source = tmp_path / "fateflow-config"
    source.mkdir()
    for key, text in docs[("ConfigMap", "fateflow-config")]["data"].items():
        (source / key).write_text(text)
    rendered = tmp_path / "rendered"
    rendered.mkdir()
    script = (source / "render-conf.sh").read_text().replace("/etc/fateops/fateflow", str(source)).replace(
        "/etc/fateops/rendered", str(rendered)).replace("/etc/fateops/fateboard", str(tmp_path / "none"))
    subprocess.run(["sh", "-c", script], env={"POD_IP": "127.0.0.1", "MYSQL_PASSWORD": "pw.1", "PATH": "/usr/bin:/bin"},
                   check=True, timeout=30)
    conf = yaml.safe_load((rendered / "service_conf.yaml").read_text())
    assert conf["fateflow"]["host"] == "127.0.0.1" and conf["database"]["mysql"]["passwd"] == "pw.1"

    install = install_engine(EngineInstall.default())
    home = tmp_path / "home"
    shutil.copytree(install.site_packages / "fate_flow" / "conf", home / "conf")
    shutil.copy(rendered / "service_conf.yaml", home / "conf" / "service_conf.yaml")
    shutil.copy(source / "pulsar_route_table.yaml", home / "conf" / "pulsar_route_table.yaml")
    engine = LocalEngine(EngineConfig(port=FLOW_PORT, grpc_port=FLOW_GRPC_PORT, home=home), install)
    try:
        status = engine.start(timeout_s=180)
        assert status.healthy and "homo_lr" in status.components
        loaded = yaml.safe_load((home / "conf" / "service_conf.yaml").read_text())
        assert loaded["default_engines"] == {"computing": "spark", "federation": "pulsar", "storage": "hdfs"}
        with sqlite3.connect(home / "fate_flow_sqlite.db") as db:
            engines = db.execute("select f_engine_type, f_engine_name, f_cores from t_engine_registry").fetchall()
        assert ("computing", "spark", conf["computing"]["spark"]["cores"]) in engines, engines
    finally:
        engine.stop()

    # FATE Flow's own parser (controller/parser.py) turns the route table into its pydantic spec
    probe = (
        "import json,sys; from fate_flow.utils.file_utils import load_yaml_conf;"
        "from fate_flow.entity.spec.dag import PulsarFederationSpec as P;"
        "t=load_yaml_conf(sys.argv[1]); R=P.MetadataSpec.RouteTable;"
        "r=R(route={k: R.Route(**v) for k, v in t.items() if k != 'default'}, default=R.Default(**t['default']));"
        "print(json.dumps(r.dict()))"
    )
    out = subprocess.run([str(install.python), "-c", probe, str(home / "conf" / "pulsar_route_table.yaml")],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    spec = json.loads(out.strip().splitlines()[-1])
    assert spec["default"] == {"domain": "fate.org", "brokerPort": 6650, "brokerSslPort": 6651,
                               "proxy": "10.159.229.68:443"}
    assert spec["route"] == {"30000": {"host": "pulsar", "port": 6650, "sslPort": 6651, "proxy": ""}}


# -- the exchange's traffic-server config in Debian's trafficserver, then a route change reloaded ---------
ATS_HTTP_PORT, ATS_TLS_PORT, BACKEND_PORTS = 9792, 9793, (9794, 9795)


class _Backend:
    """A TCP listener that records the first bytes of each connection (a tunnelled TLS ClientHello)."""

    def __init__(self, port: int) -> None:
        import socket
        import threading

        self.port, self.hellos = port, 0
        self.sock = socket.create_server(("127.0.0.1", port))
        self.sock.settimeout(0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    if conn.recv(5)[:1] == b"\x16":  # a TLS handshake record
                        self.hellos += 1
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def _tls_hello(sni: str) -> None:
    """Open TLS to traffic-server with ``sni``; the backend is no TLS server, so the handshake fails."""
    import socket
    import ssl

    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", ATS_TLS_PORT), timeout=5) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname=sni):
                pass
        except (ssl.SSLError, OSError):
            pass


def _wait_for(predicate: Any, timeout_s: float = 20.0) -> bool:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_traffic_server_loads_the_exchange_config_and_reloads_a_route_change(tmp_path: Path) -> None:
    from fateops.k8s.certs import issue, make_ca
    from fateops.paths import state_dir
    from fateops.trafficserver import TrafficServer

    root = state_dir() / "ats-chart"  # not tmp_path: as root traffic-server drops to its own user
    shutil.rmtree(root, ignore_errors=True)
    files = root / "fateops"  # stands in for the container's /etc/fateops

    def render(tls_port: int) -> dict[str, str]:
        values = cc.exchange_values([cc.PartyEndpoints(30000, "10.0.0.1", "127.0.0.1", pulsar_tls_port=tls_port)],
                                    replicas=1, roll_on_route_change=False,
                                    overrides={"trafficServer": {"tunnelPorts": "6651 9794-9795"}})
        docs = helm_template(cc.EXCHANGE_CHART, values, tmp_path)
        for cm, folder in (("traffic-server-config", "trafficserver"), ("traffic-server-route-table",
                                                                         "trafficserver-routes")):
            (files / folder).mkdir(parents=True, exist_ok=True)
            for key, text in docs[("ConfigMap", cm)]["data"].items():
                (files / folder / key).write_text(text)
        (container,) = docs[("Deployment", "traffic-server")]["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["/opt/trafficserver/bin/traffic_manager"]
        return {e["name"]: e["value"].replace("/etc/fateops", str(files)) for e in container["env"]}

    env = render(BACKEND_PORTS[0])
    assert env["PROXY_CONFIG_ADMIN_USER_ID"] == "#-1"  # the non-root container keeps its uid
    ca = make_ca("fateops test CA")
    leaf = issue(ca, "proxy.fate.org", ["proxy.fate.org"])
    (files / "trafficserver-tls").mkdir(parents=True)
    for name, pem in (("proxy.cert.pem", leaf.cert_pem), ("proxy.key.pem", leaf.key_pem), ("ca.cert.pem", ca.cert_pem)):
        (files / "trafficserver-tls" / name).write_bytes(pem)

    class ChartTrafficServer(TrafficServer):
        """The private instance, started with the container's records overrides (as ATS env overrides)."""

        def _env(self) -> dict[str, str]:
            out = super()._env() | env
            # here only: bind to loopback, keep the instance's HTTP health port, and — started as root —
            # let it drop to its own user as the instance module does (the chart's "#-1" is for uid 1000)
            out["PROXY_CONFIG_HTTP_SERVER_PORTS"] = (f"{ATS_HTTP_PORT}:ip-in=127.0.0.1 "
                                                     f"{ATS_TLS_PORT}:ssl:ip-in=127.0.0.1")
            out["PROXY_CONFIG_ADMIN_USER_ID"] = self.server_user()
            return out

    backends = [_Backend(port) for port in BACKEND_PORTS]
    ats = ChartTrafficServer(root / "ats", port=ATS_HTTP_PORT)
    ats.layout()
    from fateops.supervise import chown_tree

    chown_tree([files], ats.server_user())
    try:
        pid = ats.start(timeout_s=60)
        _tls_hello("30000.fate.org")
        assert _wait_for(lambda: backends[0].hellos == 1), "sni.yaml's tunnel_route was not used"

        render(BACKEND_PORTS[1])  # party 30000's pulsar-public-tls moved: new sni.yaml, same files
        chown_tree([files], ats.server_user())
        ats.reload()

        def moved() -> bool:
            _tls_hello("30000.fate.org")
            return backends[1].hellos > 0

        assert _wait_for(moved), "traffic_ctl config reload did not switch the tunnel route"
        assert ats.is_running_same(pid), "the reload restarted traffic_manager"
    finally:
        ats.stop()
        for b in backends:
            b.close()
